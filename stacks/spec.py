"""What a stack declares: the platform it runs on and the sandboxed workloads it deploys."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from kubesandbox import gke_spec, names, workload_spec
from kubesandbox.errors import Problem
from kubesandbox.gke_spec import GkeCluster
from kubesandbox.runtime import GKE_GVISOR, Runtime
from kubesandbox.workload_spec import Workload


@dataclass(frozen=True)
class GkeStandard:
    """GKE Standard: the program creates the cluster and its GKE Sandbox node pools."""

    cluster: GkeCluster
    """The cluster to create."""

    @property
    def runtimes(self) -> tuple[Runtime, ...]:
        return (GKE_GVISOR,)

    @property
    def kubernetes_version(self) -> str:
        return self.cluster.kubernetes_version


@dataclass(frozen=True)
class StackSpec:
    """Everything one stack deploys."""

    platform: GkeStandard
    """Where the workloads run."""
    workloads: Sequence[Workload]
    """Sandboxed workloads to deploy."""


def problems(stack: StackSpec) -> list[Problem]:
    """Every rule the stack breaks, with field paths as they read in the stack file."""
    platform = stack.platform
    found = [p.within("platform.cluster") for p in gke_spec.problems(platform.cluster)]
    found += names.duplicates("workloads[].name", (w.name for w in stack.workloads))
    found += names.duplicates("workloads[].namespace", (w.namespace_name for w in stack.workloads))
    available = {r.class_name: r for r in platform.runtimes}
    for workload in stack.workloads:
        where = f'workloads["{workload.name}"]'
        found += [p.within(where) for p in workload_spec.problems(workload)]
        if available.get(workload.runtime.class_name) != workload.runtime:
            found.append(
                Problem(
                    f"{where}.runtime",
                    workload.runtime.class_name,
                    f"{type(platform).__name__} offers {', '.join(sorted(available))}; "
                    "pick one of those",
                )
            )
    return found
