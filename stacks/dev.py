"""dev: one zone, a Spot gVisor pool that scales to zero, nothing protected."""

from kubesandbox import GKE_GVISOR, GkeCluster, NodePool, ReleaseChannel, Zonal
from stacks.samples import code_runner, nginx
from stacks.spec import GkeStandard, StackSpec

STACK = StackSpec(
    platform=GkeStandard(
        cluster=GkeCluster(
            name="sandbox-dev",
            topology=Zonal(zone="a"),
            release_channel=ReleaseChannel.REGULAR,
            kubernetes_version="1.34",
            deletion_protection=False,
            node_pools=[
                NodePool(name="system", machine_type="e2-standard-2", min_nodes=1, max_nodes=2),
                NodePool(
                    name="gvisor",
                    sandboxed=True,
                    machine_type="e2-standard-4",
                    min_nodes=0,
                    max_nodes=3,
                    spot=True,
                ),
            ],
        )
    ),
    workloads=[
        nginx(runtime=GKE_GVISOR, replicas=1),
        code_runner(runtime=GKE_GVISOR, replicas=1),
    ],
)
