"""prod: regional over three zones, STABLE channel, private nodes, protected from deletion."""

from kubesandbox import GKE_GVISOR, GkeCluster, NodePool, Regional, ReleaseChannel
from stacks.samples import code_runner, nginx
from stacks.spec import GkeStandard, StackSpec

STACK = StackSpec(
    platform=GkeStandard(
        cluster=GkeCluster(
            name="sandbox-prod",
            topology=Regional(zones=("a", "b", "c")),
            release_channel=ReleaseChannel.STABLE,
            kubernetes_version="1.33",
            private_nodes=True,
            master_ipv4_cidr_block="172.16.0.0/28",
            authorized_networks={"corp-vpn": "203.0.113.0/24"},
            deletion_protection=True,
            node_pools=[
                NodePool(name="system", machine_type="e2-standard-4", min_nodes=1, max_nodes=3),
                NodePool(
                    name="gvisor",
                    sandboxed=True,
                    machine_type="n2-standard-8",
                    min_nodes=1,
                    max_nodes=10,
                    disk_size_gb=200,
                ),
            ],
        )
    ),
    workloads=[
        nginx(runtime=GKE_GVISOR, replicas=3),
        code_runner(runtime=GKE_GVISOR, replicas=3),
    ],
)
