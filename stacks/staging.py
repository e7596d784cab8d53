"""staging: regional like prod, with public nodes and fewer of them."""

from kubesandbox import GKE_GVISOR, GkeCluster, NodePool, Regional, ReleaseChannel
from stacks.samples import code_runner, nginx
from stacks.spec import GkeStandard, StackSpec

STACK = StackSpec(
    platform=GkeStandard(
        cluster=GkeCluster(
            name="sandbox-staging",
            topology=Regional(zones=("a", "b")),
            release_channel=ReleaseChannel.REGULAR,
            kubernetes_version="1.34",
            deletion_protection=False,
            node_pools=[
                NodePool(name="system", machine_type="e2-standard-2", min_nodes=1, max_nodes=2),
                NodePool(name="gvisor", sandboxed=True, min_nodes=1, max_nodes=4),
            ],
        )
    ),
    workloads=[
        nginx(runtime=GKE_GVISOR, replicas=2),
        code_runner(runtime=GKE_GVISOR, replicas=2),
    ],
)
