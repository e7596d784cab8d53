"""Kata Containers through kata-deploy's Helm chart, with RuntimeClasses this program declares.

kata-deploy installs Kata on each node it runs on, registers one containerd handler per shim
(`kata-<shim>`) and labels the node `katacontainers.io/kata-runtime=true`. Its chart can create
RuntimeClasses too, but without tolerations; this program switches that off and declares its own,
so that pods of a class reach tainted, dedicated Kata nodes.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_kubernetes as k8s

from kubesandbox import names
from kubesandbox.errors import Problem, raise_if_any
from kubesandbox.labels import MANAGED_BY
from kubesandbox.runtime import Isolation, NodeLabel, Runtime, Toleration
from kubesandbox.runtime_classes import (
    Overhead,
    RuntimeClasses,
    RuntimeClassesArgs,
    RuntimeClassSpec,
)

__all__ = [
    "K8S_DISTRIBUTIONS",
    "KATA_DEPLOY_CHART",
    "KATA_OPT_IN_LABEL",
    "KATA_READY_LABEL",
    "MINIMUM_CHART_VERSION",
    "KataContainers",
    "KataContainersArgs",
    "KataDeploy",
    "KataShim",
    "chart_values",
    "problems",
]

KATA_DEPLOY_CHART = "oci://ghcr.io/kata-containers/kata-deploy-charts/kata-deploy"
"""kata-deploy's Helm chart, published with every Kata release."""

KATA_OPT_IN_LABEL = NodeLabel("kubesandbox.io/kata")
"""Default label of the nodes kata-deploy may install on."""

KATA_READY_LABEL = NodeLabel("katacontainers.io/kata-runtime")
"""The label kata-deploy puts on a node once Kata is installed there."""

MINIMUM_CHART_VERSION = (3, 23, 0)
"""First chart with the values used here: structured `shims` and `runtimeClasses.enabled`."""

K8S_DISTRIBUTIONS = ("k8s", "k3s", "rke2", "k0s", "microk8s")
"""Values of the chart's k8sDistribution: where each keeps its containerd config."""

_CHART_VERSION = re.compile(r"^([0-9]+)\.([0-9]+)\.([0-9]+)$")


class KataShim(enum.Enum):
    """Kata shims (hypervisors) this program declares RuntimeClasses for."""

    QEMU = "qemu"
    """QEMU: the broadest device support; the most memory per pod."""
    CLH = "clh"
    """Cloud Hypervisor: smaller and faster to boot than QEMU."""
    FC = "fc"
    """Firecracker: smallest; needs a devmapper snapshotter on the node."""

    @property
    def class_name(self) -> str:
        """RuntimeClass name and containerd handler kata-deploy registers for the shim."""
        return f"kata-{self.value}"

    @property
    def overhead(self) -> Overhead:
        """kata-deploy's own per-pod overhead for the shim (chart 4.1.0)."""
        return _OVERHEADS[self]


# QEMU's was raised from 160Mi once the VMM, accounted in the pod cgroup, was OOM-killed.
_OVERHEADS = {
    KataShim.QEMU: Overhead(cpu="250m", memory="320Mi"),
    KataShim.CLH: Overhead(cpu="250m", memory="130Mi"),
    KataShim.FC: Overhead(cpu="250m", memory="130Mi"),
}


@dataclass(frozen=True)
class KataDeploy:
    """Kata Containers installed by kata-deploy on nodes that opt in."""

    chart_version: str
    """kata-deploy chart version, pinned per stack, e.g. "4.1.0"; at least 3.23.0."""
    shims: Sequence[KataShim] = (KataShim.QEMU,)
    """Shims to install, each with a RuntimeClass kata-<shim>."""
    opt_in_label: NodeLabel = KATA_OPT_IN_LABEL
    """Label of the nodes kata-deploy may install on; it restarts containerd there."""
    tolerations: Sequence[Toleration] = ()
    """Taints of the dedicated Kata nodes, tolerated by kata-deploy and by Kata pods."""
    k8s_distribution: str = "k8s"
    """Where the nodes' containerd config lives: k8s, k3s, rke2, k0s or microk8s."""
    namespace: str = "kata-deploy"
    """Namespace of the Helm release; privileged, and never sandboxed itself."""

    def runtime_class(self, shim: KataShim) -> RuntimeClassSpec:
        return RuntimeClassSpec(
            name=shim.class_name,
            handler=shim.class_name,
            isolation=Isolation.KATA,
            overhead=shim.overhead,
            node_selector=KATA_READY_LABEL.selector(),
            tolerations=tuple(self.tolerations),
        )

    def runtime(self, shim: KataShim) -> Runtime:
        """The typed reference a workload uses to run under `shim`."""
        return self.runtime_class(shim).runtime

    @property
    def runtime_classes(self) -> list[RuntimeClassSpec]:
        return [self.runtime_class(shim) for shim in self.shims]


def problems(kata: KataDeploy) -> list[Problem]:
    """Every way the Kata spec would fail in the chart or in the API."""
    found: list[Problem] = []
    match = _CHART_VERSION.match(kata.chart_version)
    if match is None:
        found.append(
            Problem("chart_version", kata.chart_version, 'must be a release such as "4.1.0"')
        )
    elif tuple(int(part) for part in match.groups()) < MINIMUM_CHART_VERSION:
        found.append(
            Problem(
                "chart_version",
                kata.chart_version,
                "is older than 3.23.0, whose values (shims, runtimeClasses) this program sets; "
                "pin 3.23.0 or later",
            )
        )
    if not kata.shims:
        found.append(Problem("shims", [], "name at least one shim, e.g. KataShim.QEMU"))
    found += names.duplicates("shims", (shim.value for shim in kata.shims))
    if kata.k8s_distribution not in K8S_DISTRIBUTIONS:
        found.append(
            Problem(
                "k8s_distribution",
                kata.k8s_distribution,
                f"must be one of {', '.join(K8S_DISTRIBUTIONS)}",
            )
        )
    if kata.opt_in_label.key == KATA_READY_LABEL.key:
        found.append(
            Problem(
                "opt_in_label",
                str(kata.opt_in_label),
                "kata-deploy sets that label itself; pick a label of your own",
            )
        )
    found += names.dns_label("namespace", kata.namespace)
    return found


def chart_values(kata: KataDeploy) -> dict[str, Any]:
    """Values for the kata-deploy chart: only the chosen shims, only on opted-in nodes."""
    first = kata.shims[0].value
    return {
        "k8sDistribution": kata.k8s_distribution,
        "nodeSelector": kata.opt_in_label.selector(),
        "tolerations": [t.manifest() for t in kata.tolerations],
        "shims": {"disableAll": True, **{shim.value: {"enabled": True} for shim in kata.shims}},
        # The chart's default shim must be one it installs, even with no default class.
        "defaultShim": {"amd64": first, "arm64": first},
        # The chart's classes carry no tolerations; this program declares its own instead.
        "runtimeClasses": {"enabled": False, "createDefault": False},
    }


@dataclass(frozen=True)
class KataContainersArgs:
    """Inputs of a KataContainers component."""

    kata: KataDeploy
    """What to install and where."""
    gke_managed: bool = False
    """True on GKE, where GKE owns the `gvisor` RuntimeClass name."""
    wait_for: Sequence[pulumi.Resource] = ()
    """Resources kata-deploy needs first, such as the Kata node pools."""


class KataContainers(pulumi.ComponentResource):
    """Namespace, kata-deploy Helm release and one RuntimeClass per shim. Pass the Kubernetes
    provider in `opts.providers`."""

    namespace: k8s.core.v1.Namespace
    release: k8s.helm.v3.Release
    runtime_classes: RuntimeClasses
    runtimes: dict[str, Runtime]

    def __init__(
        self,
        name: str,
        args: KataContainersArgs,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        kata = args.kata
        raise_if_any(f'Kata "{name}"', problems(kata))
        super().__init__("kubesandbox:index:KataContainers", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)

        # kata-deploy's pods write to the node and restart containerd: privileged, not sandboxed.
        self.namespace = k8s.core.v1.Namespace(
            f"{name}-namespace",
            metadata={
                "name": kata.namespace,
                "labels": {
                    "pod-security.kubernetes.io/enforce": "privileged",
                    "pod-security.kubernetes.io/warn": "privileged",
                    **MANAGED_BY,
                },
            },
            opts=child,
        )

        self.release = k8s.helm.v3.Release(
            f"{name}-kata-deploy",
            name="kata-deploy",
            chart=KATA_DEPLOY_CHART,
            version=kata.chart_version,
            namespace=self.namespace.metadata.apply(lambda m: str(m["name"])),
            create_namespace=False,
            values=chart_values(kata),
            # Installing Kata pulls a large image and restarts containerd on every chosen node.
            timeout=900,
            opts=pulumi.ResourceOptions(parent=self, depends_on=list(args.wait_for)),
        )

        self.runtime_classes = RuntimeClasses(
            f"{name}-classes",
            RuntimeClassesArgs(
                classes=kata.runtime_classes,
                gke_managed=args.gke_managed,
                wait_for=[self.release],
            ),
            opts=child,
        )
        self.runtimes = self.runtime_classes.runtimes

        self.register_outputs(
            {
                "release": self.release.name,
                "runtime_classes": sorted(self.runtimes),
            }
        )
