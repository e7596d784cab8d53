"""local: an existing kind or minikube cluster; gVisor and Kata installed on opted-in nodes."""

from kubesandbox.kata import KataDeploy, KataShim
from kubesandbox.node_installer import GvisorNodes, GvisorRelease
from stacks.samples import code_runner, nginx
from stacks.spec import ExistingCluster, StackSpec

# Limit: the release date and both sha512 values are placeholders, not a verified release; copy
# them from runsc.sha512 and containerd-shim-runsc-v1.sha512 of the release you choose. Until
# then the installer refuses the download (sha512 mismatch) and no node is labelled ready.
GVISOR = GvisorNodes(
    release=GvisorRelease(
        date="20251103",
        runsc_sha512="0" * 128,
        shim_sha512="0" * 128,
        arch="x86_64",
    ),
)

KATA = KataDeploy(chart_version="4.1.0", shims=(KataShim.QEMU,))

STACK = StackSpec(
    platform=ExistingCluster(kubernetes_version="1.34", gvisor=GVISOR, kata=KATA),
    workloads=[
        nginx(runtime=GVISOR.runtime, replicas=1),
        code_runner(runtime=KATA.runtime(KataShim.QEMU), replicas=1),
    ],
)
