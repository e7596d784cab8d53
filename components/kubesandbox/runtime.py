"""Typed references to RuntimeClasses, so a workload never spells a runtime as a bare string."""

from __future__ import annotations

import enum
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field


class Isolation(enum.Enum):
    """What stands between a sandboxed pod and the node's kernel."""

    GVISOR = "gvisor"
    """gVisor's user-space kernel (runsc)."""
    KATA = "kata"
    """A lightweight virtual machine with its own guest kernel (Kata Containers)."""


@dataclass(frozen=True)
class Toleration:
    """A pod toleration, in Kubernetes' own terms."""

    key: str
    """Taint key tolerated."""
    value: str
    """Taint value tolerated (operator Equal)."""
    effect: str = "NoSchedule"
    """Taint effect tolerated: NoSchedule, PreferNoSchedule or NoExecute."""

    def manifest(self) -> dict[str, str]:
        """The toleration as a pod spec spells it."""
        return {"key": self.key, "operator": "Equal", "value": self.value, "effect": self.effect}


@dataclass(frozen=True)
class NodeLabel:
    """One node label, as a node selector matches it and as `kubectl label` spells it."""

    key: str
    """Label key, e.g. kubesandbox.io/gvisor-ready."""
    value: str = "true"
    """Label value."""

    def selector(self) -> dict[str, str]:
        return {self.key: self.value}

    def __str__(self) -> str:
        return f"{self.key}={self.value}"


@dataclass(frozen=True)
class Runtime:
    """A RuntimeClass that pods select with `runtimeClassName`.

    The scheduling hints are repeated on the pods that use the class. RuntimeClass scheduling
    merges them in at admission anyway; stating them on the pod keeps it off ordinary nodes even
    where a class was created without scheduling, and conflicts are impossible because the values
    are identical.
    """

    class_name: str
    """metadata.name of the RuntimeClass, the value of a pod's runtimeClassName."""
    handler: str
    """CRI handler the class maps to: the containerd runtime table name on the node."""
    isolation: Isolation
    """Kind of sandbox the handler provides."""
    managed_by_gke: bool = False
    """True when GKE creates and owns the RuntimeClass, so this program must never declare it."""
    node_selector: Mapping[str, str] = field(default_factory=dict)
    """Node labels that mark nodes able to run the handler."""
    tolerations: Sequence[Toleration] = ()
    """Taints of the dedicated nodes that pods of this class tolerate."""


# The label and taint GKE puts on every GKE Sandbox node.
GKE_SANDBOX_KEY = "sandbox.gke.io/runtime"

GKE_GVISOR = Runtime(
    # GKE creates RuntimeClass `gvisor` (handler `gvisor`) as soon as a sandbox node pool exists.
    # Declaring one of that name would fail with AlreadyExists on pulumi-kubernetes 4.29 and later,
    # and older versions silently adopted GKE's object and could delete it on replacement.
    class_name="gvisor",
    handler="gvisor",
    isolation=Isolation.GVISOR,
    managed_by_gke=True,
    node_selector={GKE_SANDBOX_KEY: "gvisor"},
    tolerations=(Toleration(key=GKE_SANDBOX_KEY, value="gvisor"),),
)
"""gVisor on GKE Sandbox node pools (GKE Standard) or per pod (GKE Autopilot)."""
