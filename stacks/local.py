"""local: an existing kind or minikube cluster; gVisor and Kata installed on opted-in nodes."""

from kubesandbox.kata import KataDeploy, KataShim
from kubesandbox.node_installer import GvisorNodes, GvisorRelease
from stacks.samples import code_runner, nginx
from stacks.spec import ExistingCluster, StackSpec

# Limit: this release folder was not fetched from here (no network to gVisor's bucket); check it
# exists, and pin runsc_sha512 and shim_sha512 from its .sha512 files once you have read them.
GVISOR = GvisorNodes(release=GvisorRelease(date="20251103", arch="x86_64"))

KATA = KataDeploy(chart_version="4.1.0", shims=(KataShim.QEMU,))

STACK = StackSpec(
    platform=ExistingCluster(kubernetes_version="1.34", gvisor=GVISOR, kata=KATA),
    workloads=[
        nginx(runtime=GVISOR.runtime, replicas=1),
        code_runner(runtime=KATA.runtime(KataShim.QEMU), replicas=1),
    ],
)
