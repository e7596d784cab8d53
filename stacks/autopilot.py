"""autopilot: GKE Autopilot; GKE runs the nodes and gives each gVisor pod a sandbox node."""

from kubesandbox import GKE_GVISOR, ReleaseChannel
from kubesandbox.gke_spec import AutopilotCluster
from stacks.samples import code_runner, nginx
from stacks.spec import GkeAutopilot, StackSpec

STACK = StackSpec(
    platform=GkeAutopilot(
        cluster=AutopilotCluster(
            name="sandbox-autopilot",
            release_channel=ReleaseChannel.REGULAR,
            kubernetes_version="1.34",
            deletion_protection=False,
        )
    ),
    workloads=[
        nginx(runtime=GKE_GVISOR, replicas=1),
        code_runner(runtime=GKE_GVISOR, replicas=1),
    ],
)
