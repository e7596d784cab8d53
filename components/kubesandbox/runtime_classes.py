"""RuntimeClasses this program owns: for self-managed gVisor and for Kata Containers.

GKE's own `gvisor` class is never declared here; it is referenced as `runtime.GKE_GVISOR`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pulumi
import pulumi_kubernetes as k8s

from kubesandbox import names, quantity
from kubesandbox.errors import Problem, raise_if_any
from kubesandbox.labels import MANAGED_BY
from kubesandbox.runtime import GKE_GVISOR, Isolation, Runtime, Toleration

__all__ = ["Overhead", "RuntimeClassSpec", "RuntimeClasses", "RuntimeClassesArgs", "problems"]

_TOLERATION_EFFECTS = ("NoSchedule", "PreferNoSchedule", "NoExecute")


@dataclass(frozen=True)
class Overhead:
    """Resources a sandbox costs per pod beyond its containers (RuntimeClass overhead.podFixed)."""

    cpu: str
    """CPU the sandbox itself uses, as a Kubernetes quantity."""
    memory: str
    """Memory the sandbox itself uses (guest kernel, VMM or Sentry), as a Kubernetes quantity."""

    def manifest(self) -> dict[str, str]:
        return {"cpu": self.cpu, "memory": self.memory}


@dataclass(frozen=True)
class RuntimeClassSpec:
    """A RuntimeClass to create: which handler it maps to and which nodes can run it."""

    name: str
    """metadata.name, the value pods put in runtimeClassName; a DNS subdomain."""
    handler: str
    """containerd runtime name on the nodes; a DNS label, immutable once created."""
    isolation: Isolation
    """Kind of sandbox the handler provides."""
    overhead: Overhead | None = None
    """Per-pod overhead the scheduler and the pod cgroup account for; None for none."""
    node_selector: Mapping[str, str] = field(default_factory=dict)
    """Labels of the nodes where the handler is installed and working."""
    tolerations: Sequence[Toleration] = ()
    """Taints of the dedicated nodes that pods of this class tolerate."""

    @property
    def runtime(self) -> Runtime:
        """The typed reference workloads use, the same type as GKE_GVISOR."""
        return Runtime(
            class_name=self.name,
            handler=self.handler,
            isolation=self.isolation,
            node_selector=dict(self.node_selector),
            tolerations=tuple(self.tolerations),
        )

    def manifest(self) -> dict[str, Any]:
        """The object's body below metadata, as the node.k8s.io/v1 API spells it."""
        body: dict[str, Any] = {"handler": self.handler}
        if self.overhead is not None:
            body["overhead"] = {"podFixed": self.overhead.manifest()}
        scheduling: dict[str, Any] = {}
        if self.node_selector:
            scheduling["nodeSelector"] = dict(self.node_selector)
        if self.tolerations:
            scheduling["tolerations"] = [t.manifest() for t in self.tolerations]
        if scheduling:
            body["scheduling"] = scheduling
        return body


def problems(classes: Sequence[RuntimeClassSpec], *, gke_managed: bool) -> list[Problem]:
    """Every way the classes break the RuntimeClass API, or collide with GKE's own class."""
    found = names.duplicates("[].name", (c.name for c in classes))
    for spec in classes:
        where = f'["{spec.name}"]'
        own: list[Problem] = []
        own += names.dns_subdomain("name", spec.name)
        own += names.dns_label("handler", spec.handler)
        if gke_managed and spec.name == GKE_GVISOR.class_name:
            own.append(
                Problem(
                    "name",
                    spec.name,
                    "GKE creates and owns RuntimeClass gvisor on this platform; use GKE_GVISOR "
                    "or give this class another name",
                )
            )
        if spec.handler == "runc":
            own.append(Problem("handler", spec.handler, "runc is containerd's unsandboxed default"))
        if spec.overhead is not None:
            for kind in ("cpu", "memory"):
                value = getattr(spec.overhead, kind)
                parsed = quantity.parse(value)
                if parsed is None or parsed <= 0:
                    own.append(
                        Problem(
                            f"overhead.{kind}",
                            value,
                            "must be a Kubernetes quantity above zero, such as 250m or 160Mi",
                        )
                    )
        for key, value in spec.node_selector.items():
            if not value:
                own.append(Problem(f'node_selector["{key}"]', value, "must not be empty"))
        for toleration in spec.tolerations:
            if toleration.effect not in _TOLERATION_EFFECTS:
                own.append(
                    Problem(
                        f'tolerations["{toleration.key}"].effect',
                        toleration.effect,
                        f"must be one of {', '.join(_TOLERATION_EFFECTS)}",
                    )
                )
        found += [p.within(where) for p in own]
    return found


@dataclass(frozen=True)
class RuntimeClassesArgs:
    """Inputs of a RuntimeClasses component."""

    classes: Sequence[RuntimeClassSpec]
    """The classes to create."""
    gke_managed: bool = False
    """True on GKE, where GKE owns the `gvisor` class and this program must not declare it."""
    wait_for: Sequence[pulumi.Resource] = ()
    """Resources that make the handlers exist, such as the node installer."""


class RuntimeClasses(pulumi.ComponentResource):
    """node.k8s.io/v1 RuntimeClasses, one per spec. Pass the Kubernetes provider in
    `opts.providers`."""

    runtime_classes: dict[str, k8s.node.v1.RuntimeClass]
    runtimes: dict[str, Runtime]
    """Typed references by class name, for workloads."""

    def __init__(
        self,
        name: str,
        args: RuntimeClassesArgs,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        raise_if_any(
            f'runtime classes "{name}"', problems(args.classes, gke_managed=args.gke_managed)
        )
        super().__init__("kubesandbox:index:RuntimeClasses", name, None, opts)

        self.runtime_classes = {}
        for spec in args.classes:
            body = spec.manifest()
            self.runtime_classes[spec.name] = k8s.node.v1.RuntimeClass(
                f"{name}-{spec.name}",
                metadata={"name": spec.name, "labels": dict(MANAGED_BY)},
                handler=body["handler"],
                overhead=body.get("overhead"),
                scheduling=body.get("scheduling"),
                opts=pulumi.ResourceOptions(
                    parent=self,
                    depends_on=list(args.wait_for),
                    # The API refuses to change a handler in place; the fixed name means the old
                    # class has to go before the new one can be created.
                    replace_on_changes=["handler"],
                    delete_before_replace=True,
                ),
            )
        self.runtimes = {spec.name: spec.runtime for spec in args.classes}

        self.register_outputs({"runtime_classes": sorted(self.runtimes)})
