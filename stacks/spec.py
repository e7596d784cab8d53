"""What a stack declares: the platform it runs on and the sandboxed workloads it deploys."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from kubesandbox import gke_spec, kata, names, node_installer, runtime_classes, workload_spec
from kubesandbox.errors import Problem
from kubesandbox.gke_spec import AutopilotCluster, GkeCluster
from kubesandbox.kata import KataDeploy
from kubesandbox.node_installer import GvisorNodes
from kubesandbox.runtime import GKE_GVISOR, Runtime
from kubesandbox.runtime_classes import RuntimeClassSpec
from kubesandbox.workload_spec import Workload

_KUBERNETES_VERSION = re.compile(r"^1\.[0-9]{2}$")


@dataclass(frozen=True)
class GkeStandard:
    """GKE Standard: the program creates the cluster, its GKE Sandbox node pools and, optionally,
    Kata on nested-virtualization pools."""

    cluster: GkeCluster
    """The cluster to create."""
    kata: KataDeploy | None = None
    """Kata Containers on the cluster's pools with kata=True; None for gVisor only."""

    @property
    def runtimes(self) -> tuple[Runtime, ...]:
        kata_runtimes = [c.runtime for c in self.kata.runtime_classes] if self.kata else []
        return (GKE_GVISOR, *kata_runtimes)

    @property
    def kubernetes_version(self) -> str:
        return self.cluster.kubernetes_version


@dataclass(frozen=True)
class GkeAutopilot:
    """GKE Autopilot: the program creates the cluster; GKE gives pods that ask for gVisor a
    sandbox node, so there are no node pools and no other runtime."""

    cluster: AutopilotCluster
    """The cluster to create."""

    @property
    def runtimes(self) -> tuple[Runtime, ...]:
        return (GKE_GVISOR,)

    @property
    def kubernetes_version(self) -> str:
        return self.cluster.kubernetes_version


@dataclass(frozen=True)
class ExistingCluster:
    """A cluster the program does not create (kind, minikube, kubeadm, k3s...), reached through
    the kubeconfig context in config `kubesandbox:kubeContext`; runtimes are installed on the
    nodes that opt in."""

    kubernetes_version: str
    """The cluster's Kubernetes minor, e.g. "1.34"; manifests are validated against it."""
    gvisor: GvisorNodes | None = None
    """gVisor installed by this program's node installer; None for none."""
    kata: KataDeploy | None = None
    """Kata Containers installed by kata-deploy; None for none."""

    @property
    def runtime_classes(self) -> list[RuntimeClassSpec]:
        found = [self.gvisor.runtime_class] if self.gvisor else []
        return found + (self.kata.runtime_classes if self.kata else [])

    @property
    def runtimes(self) -> tuple[Runtime, ...]:
        return tuple(c.runtime for c in self.runtime_classes)


Platform = GkeStandard | GkeAutopilot | ExistingCluster
"""Where a stack's workloads run."""


@dataclass(frozen=True)
class StackSpec:
    """Everything one stack deploys."""

    platform: Platform
    """Where the workloads run."""
    workloads: Sequence[Workload]
    """Sandboxed workloads to deploy."""
    smoke_tests: bool = True
    """After deploy, run a Job in each workload's namespace that fails the update unless it runs
    in the expected sandbox; its result is the `smoke_tests` stack output."""


def problems(stack: StackSpec) -> list[Problem]:
    """Every rule the stack breaks, with field paths as they read in the stack file."""
    platform = stack.platform
    found = [p.within("platform") for p in _platform_problems(platform)]
    found += names.duplicates("workloads[].name", (w.name for w in stack.workloads))
    found += names.duplicates("workloads[].namespace", (w.namespace_name for w in stack.workloads))
    system_namespaces = _system_namespaces(platform)
    available = {r.class_name: r for r in platform.runtimes}
    for workload in stack.workloads:
        where = f'workloads["{workload.name}"]'
        found += [p.within(where) for p in workload_spec.problems(workload)]
        if workload.namespace_name in system_namespaces:
            found.append(
                Problem(
                    f"{where}.namespace",
                    workload.namespace_name,
                    "is the privileged namespace of a node installer; pick another",
                )
            )
        # A platform that offers nothing is reported once, not once per workload.
        if available and available.get(workload.runtime.class_name) != workload.runtime:
            offered = ", ".join(sorted(available))
            found.append(
                Problem(
                    f"{where}.runtime",
                    workload.runtime.class_name,
                    f"{type(platform).__name__} offers {offered}; pick one of those",
                )
            )
    return found


def _platform_problems(platform: Platform) -> list[Problem]:
    if isinstance(platform, GkeAutopilot):
        return [p.within("cluster") for p in gke_spec.autopilot_problems(platform.cluster)]
    if isinstance(platform, GkeStandard):
        found = [p.within("cluster") for p in gke_spec.problems(platform.cluster)]
        found += _gke_kata_problems(platform)
        return found
    found = []
    if not _KUBERNETES_VERSION.match(platform.kubernetes_version):
        found.append(
            Problem(
                "kubernetes_version", platform.kubernetes_version, 'must be a minor like "1.34"'
            )
        )
    if platform.gvisor is None and platform.kata is None:
        found.append(
            Problem("gvisor", None, "an existing cluster needs gvisor, kata or both; set one")
        )
    if platform.gvisor is not None:
        found += [p.within("gvisor") for p in node_installer.problems(platform.gvisor)]
    if platform.kata is not None:
        found += [p.within("kata") for p in kata.problems(platform.kata)]
    found += [
        p.within("runtime_classes")
        for p in runtime_classes.problems(platform.runtime_classes, gke_managed=False)
    ]
    if (
        platform.gvisor is not None
        and platform.kata is not None
        and platform.gvisor.namespace == platform.kata.namespace
    ):
        found.append(
            Problem(
                "kata.namespace",
                platform.kata.namespace,
                "is also gvisor.namespace; give each installer its own",
            )
        )
    return found


def _gke_kata_problems(platform: GkeStandard) -> list[Problem]:
    """Kata on GKE Standard: kata-deploy and Kata pods must reach exactly the Kata pools."""
    pools = platform.cluster.kata_pools
    spec = platform.kata
    if spec is None:
        return [
            Problem(
                f'cluster.node_pools["{pool.name}"].kata',
                True,
                "nothing installs Kata on this pool; set platform kata=KataDeploy(...)",
            )
            for pool in pools
        ]
    found = [p.within("kata") for p in kata.problems(spec)]
    found += [
        p.within("kata.runtime_classes")
        for p in runtime_classes.problems(spec.runtime_classes, gke_managed=True)
    ]
    if not pools:
        found.append(
            Problem(
                "kata",
                spec.chart_version,
                "no node pool has kata=True, so Kata would run nowhere; add one",
            )
        )
    tolerated = set(spec.tolerations)
    for pool in pools:
        where = f'cluster.node_pools["{pool.name}"]'
        key, value = spec.opt_in_label.key, spec.opt_in_label.value
        if pool.labels.get(key) != value:
            found.append(
                Problem(
                    f"{where}.labels",
                    dict(pool.labels),
                    f"a Kata pool needs the label {spec.opt_in_label} so kata-deploy installs "
                    "on it; add it",
                )
            )
        for taint in pool.taints:
            if taint.toleration() not in tolerated:
                found.append(
                    Problem(
                        f'{where}.taints["{taint.key}"]',
                        taint.value,
                        "kata-deploy and Kata pods would not tolerate it; add "
                        f'Toleration("{taint.key}", "{taint.value}", '
                        f'"{taint.toleration().effect}") to kata.tolerations',
                    )
                )
    return found


def _system_namespaces(platform: Platform) -> set[str]:
    spec_kata = platform.kata if isinstance(platform, GkeStandard | ExistingCluster) else None
    found = {spec_kata.namespace} if spec_kata else set()
    if isinstance(platform, ExistingCluster) and platform.gvisor is not None:
        found.add(platform.gvisor.namespace)
    return found
