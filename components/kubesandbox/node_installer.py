"""gVisor on self-managed containerd nodes: a privileged DaemonSet that installs a pinned gVisor
release on the nodes that opt in, registers its containerd handler and labels each node ready.

The installer itself is installer/install-gvisor.sh, shipped in a ConfigMap; this module only
decides where it runs and what it is given.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from dataclasses import dataclass
from importlib import resources
from typing import Any

import pulumi
import pulumi_kubernetes as k8s

from kubesandbox import names
from kubesandbox.errors import Problem, raise_if_any
from kubesandbox.labels import MANAGED_BY
from kubesandbox.runtime import Isolation, NodeLabel, Runtime, Toleration
from kubesandbox.runtime_classes import Overhead, RuntimeClassSpec
from kubesandbox.workload_spec import image_problems

__all__ = [
    "CONTAINERD_FLAVOURS",
    "GVISOR_OPT_IN_LABEL",
    "GVISOR_READY_LABEL",
    "GVISOR_RELEASES",
    "SCRIPT_DIGEST_ANNOTATION",
    "GvisorNodeInstaller",
    "GvisorNodeInstallerArgs",
    "GvisorNodes",
    "GvisorRelease",
    "installer_script",
    "problems",
]

GVISOR_RELEASES = "https://storage.googleapis.com/gvisor/releases/release"
"""Where gVisor publishes dated releases, one folder per date and architecture."""

GVISOR_OPT_IN_LABEL = NodeLabel("kubesandbox.io/gvisor")
"""Default label a node operator sets on a node to have gVisor installed on it."""

GVISOR_READY_LABEL = NodeLabel("kubesandbox.io/gvisor-ready")
"""Default label the installer sets once gVisor works on the node (the script's default too)."""

CONTAINERD_FLAVOURS = ("auto", "v2", "v3", "dropin", "k3s")
"""containerd config layouts the installer script knows (its CONTAINERD_FLAVOUR)."""

# gVisor names architectures as `uname -m` does; Kubernetes labels them as Go does.
_KUBERNETES_ARCH = {"x86_64": "amd64", "aarch64": "arm64"}
_BINARIES = ("runsc", "containerd-shim-runsc-v1")
_RELEASE_DATE = re.compile(r"^20[0-9]{6}(\.[0-9]+)?$")
_SHA512 = re.compile(r"^[0-9a-f]{128}$")
_HOST_ROOT = "/host"
_SOURCE_DIR = "/gvisor"
_SCRIPT_DIR = "/opt/kubesandbox"
_SCRIPT = "install-gvisor.sh"


SCRIPT_DIGEST_ANNOTATION = "kubesandbox.io/installer-sha256"
"""Pod template annotation holding the script's sha256."""


def installer_script() -> str:
    """The installer script, read from the package so that the cluster runs the tested file."""
    return (resources.files("kubesandbox") / "installer" / _SCRIPT).read_text()


def script_digest() -> str:
    return hashlib.sha256(installer_script().encode()).hexdigest()


@dataclass(frozen=True)
class GvisorRelease:
    """One dated gVisor release for one architecture, optionally pinned by both binaries' sha512.

    Unpinned, the installer checks each binary against the `.sha512` file gVisor publishes beside
    it, which is gVisor's own install procedure: it catches a corrupt download, not a tampered
    release. Pinning both digests also guards against the latter.
    """

    date: str
    """Release folder name: the release date, e.g. "20250512", or "20250512.1" for a patch."""
    runsc_sha512: str | None = None
    """sha512 of runsc, lowercase hex, from the release's runsc.sha512; None to use that file."""
    shim_sha512: str | None = None
    """sha512 of containerd-shim-runsc-v1; None to use its published .sha512 file."""
    arch: str = "x86_64"
    """Architecture as gVisor names it: x86_64 or aarch64."""

    def url(self, binary: str) -> str:
        return f"{GVISOR_RELEASES}/{self.date}/{self.arch}/{binary}"


@dataclass(frozen=True)
class GvisorNodes:
    """gVisor installed by this program on nodes that opt in, and the RuntimeClass for it."""

    release: GvisorRelease
    """The pinned gVisor release to install."""
    class_name: str = "gvisor"
    """RuntimeClass name pods select; refused as "gvisor" on GKE, which owns that name."""
    handler: str = "runsc"
    """containerd runtime name the installer registers, and the RuntimeClass handler."""
    opt_in_label: NodeLabel = GVISOR_OPT_IN_LABEL
    """Label a node operator sets on the nodes that should get gVisor; no other node is touched."""
    ready_label: NodeLabel = GVISOR_READY_LABEL
    """Label the installer sets once the handler works; the RuntimeClass selects it."""
    tolerations: Sequence[Toleration] = ()
    """Taints of the dedicated gVisor nodes, tolerated by the installer and by sandboxed pods."""
    overhead: Overhead | None = None
    """Per-pod overhead of the gVisor sandbox, if the stack measures and declares one."""
    namespace: str = "kubesandbox-gvisor"
    """Namespace of the installer; privileged, and never sandboxed itself."""
    image: str = "alpine/k8s:1.34.1"
    """Installer image: needs sh, curl, chroot, sha512sum, awk and kubectl."""
    containerd_flavour: str = "auto"
    """containerd config layout on the nodes: auto, v2, v3, dropin or k3s."""

    @property
    def runtime_class(self) -> RuntimeClassSpec:
        return RuntimeClassSpec(
            name=self.class_name,
            handler=self.handler,
            isolation=Isolation.GVISOR,
            overhead=self.overhead,
            # Only nodes where the installer succeeded: a class that selected the opt-in label
            # would send pods to nodes still failing with "no runtime for runsc is configured".
            node_selector=self.ready_label.selector(),
            tolerations=tuple(self.tolerations),
        )

    @property
    def runtime(self) -> Runtime:
        return self.runtime_class.runtime


def problems(nodes: GvisorNodes) -> list[Problem]:
    """Every way the gVisor node spec would fail in the installer or in the API."""
    release = nodes.release
    found: list[Problem] = []
    if not _RELEASE_DATE.match(release.date):
        found.append(
            Problem(
                "release.date",
                release.date,
                'must be a gVisor release folder such as "20250512"; "latest" is not a pin',
            )
        )
    if release.arch not in _KUBERNETES_ARCH:
        found.append(
            Problem("release.arch", release.arch, f"must be one of {', '.join(_KUBERNETES_ARCH)}")
        )
    pins = (release.runsc_sha512, release.shim_sha512)
    if (pins[0] is None) != (pins[1] is None):
        found.append(
            Problem(
                "release",
                {"runsc_sha512": pins[0], "shim_sha512": pins[1]},
                "pin both sha512 values or neither; one alone leaves the other binary unpinned",
            )
        )
    for field_name in ("runsc_sha512", "shim_sha512"):
        value = getattr(release, field_name)
        if value is not None and not _SHA512.match(value):
            found.append(
                Problem(
                    f"release.{field_name}",
                    value,
                    "must be the release's sha512: 128 lowercase hex digits",
                )
            )
    found += names.dns_label("handler", nodes.handler)
    if nodes.handler == "runc":
        found.append(Problem("handler", "runc", "names containerd's unsandboxed default runtime"))
    found += names.dns_label("namespace", nodes.namespace)
    for label_field in ("opt_in_label", "ready_label"):
        label: NodeLabel = getattr(nodes, label_field)
        if not label.key or not label.value or "=" in label.key:
            found.append(
                Problem(label_field, str(label), "needs a key and a value, without '=' in the key")
            )
    if nodes.opt_in_label.key == nodes.ready_label.key:
        found.append(
            Problem(
                "ready_label",
                str(nodes.ready_label),
                "must differ from opt_in_label, or pods would land on nodes not yet installed",
            )
        )
    found += image_problems(nodes.image)
    if nodes.containerd_flavour not in CONTAINERD_FLAVOURS:
        found.append(
            Problem(
                "containerd_flavour",
                nodes.containerd_flavour,
                f"must be one of {', '.join(CONTAINERD_FLAVOURS)}",
            )
        )
    return found


@dataclass(frozen=True)
class GvisorNodeInstallerArgs:
    """Inputs of a GvisorNodeInstaller."""

    nodes: GvisorNodes
    """What to install, where, and how the nodes are labelled."""


class GvisorNodeInstaller(pulumi.ComponentResource):
    """Namespace, RBAC, script ConfigMap and the privileged DaemonSet that installs gVisor.
    Pass the Kubernetes provider in `opts.providers`."""

    namespace: k8s.core.v1.Namespace
    daemon_set: k8s.apps.v1.DaemonSet
    ready_label: NodeLabel
    """The label the installer puts on a node once gVisor works there."""

    def __init__(
        self,
        name: str,
        args: GvisorNodeInstallerArgs,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        nodes = args.nodes
        raise_if_any(f'gVisor installer "{name}"', problems(nodes))
        super().__init__("kubesandbox:index:GvisorNodeInstaller", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        labels = {"app.kubernetes.io/name": "gvisor-installer", **MANAGED_BY}
        self.ready_label = nodes.ready_label

        # The installer writes to the node's root filesystem, so its namespace must allow
        # privileged pods. It carries no sandboxed label: it is the one thing that must not run
        # in a sandbox.
        self.namespace = k8s.core.v1.Namespace(
            f"{name}-namespace",
            metadata={
                "name": nodes.namespace,
                "labels": {
                    "pod-security.kubernetes.io/enforce": "privileged",
                    "pod-security.kubernetes.io/warn": "privileged",
                    **MANAGED_BY,
                },
            },
            opts=child,
        )
        namespace = self.namespace.metadata.apply(lambda m: str(m["name"]))

        account = k8s.core.v1.ServiceAccount(
            f"{name}-service-account",
            metadata={"name": "gvisor-installer", "namespace": namespace, "labels": labels},
            opts=child,
        )
        # `kubectl label node` reads the node, then patches its labels; nothing else is allowed.
        role = k8s.rbac.v1.ClusterRole(
            f"{name}-node-labeller",
            metadata={"name": f"{nodes.namespace}-node-labeller", "labels": labels},
            rules=[{"apiGroups": [""], "resources": ["nodes"], "verbs": ["get", "patch"]}],
            opts=child,
        )
        k8s.rbac.v1.ClusterRoleBinding(
            f"{name}-node-labeller-binding",
            metadata={"name": f"{nodes.namespace}-node-labeller", "labels": labels},
            role_ref={
                "apiGroup": "rbac.authorization.k8s.io",
                "kind": "ClusterRole",
                "name": role.metadata.apply(lambda m: str(m["name"])),
            },
            subjects=[
                {
                    "kind": "ServiceAccount",
                    "name": account.metadata.apply(lambda m: str(m["name"])),
                    "namespace": namespace,
                }
            ],
            opts=child,
        )

        script = k8s.core.v1.ConfigMap(
            f"{name}-script",
            metadata={"name": "gvisor-installer", "namespace": namespace, "labels": labels},
            data={_SCRIPT: installer_script()},
            opts=child,
        )

        self.daemon_set = k8s.apps.v1.DaemonSet(
            f"{name}-daemon-set",
            metadata={
                "name": "gvisor-installer",
                "namespace": namespace,
                "labels": labels,
                "annotations": scanner_exceptions(),
            },
            spec={
                "selector": {"matchLabels": {"app.kubernetes.io/name": "gvisor-installer"}},
                "updateStrategy": {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 1}},
                "template": {
                    "metadata": {
                        "labels": labels,
                        # The script lives in a ConfigMap of a fixed name; its digest here makes
                        # a new script roll the pods, so every node is installed again.
                        "annotations": {SCRIPT_DIGEST_ANNOTATION: script_digest()},
                    },
                    "spec": pod_spec(
                        nodes,
                        service_account=account.metadata.apply(lambda m: str(m["name"])),
                        config_map=script.metadata.apply(lambda m: str(m["name"])),
                    ),
                },
            },
            opts=child,
        )

        self.register_outputs(
            {
                "namespace": namespace,
                "daemon_set": self.daemon_set.metadata.apply(lambda m: m["name"]),
                "ready_label": str(nodes.ready_label),
            }
        )


def pod_spec(
    nodes: GvisorNodes,
    *,
    service_account: pulumi.Input[str],
    config_map: pulumi.Input[str],
) -> dict[str, Any]:
    """The installer pod's spec: a fetch step, then the privileged installer itself."""
    release = nodes.release
    # The published .sha512 files come along: they are the checksums when none is pinned.
    fetch = " && ".join(
        f'curl -fsSL --retry 5 -o "{_SOURCE_DIR}/{name}" "{release.url(name)}"'
        for binary in _BINARIES
        for name in (binary, f"{binary}.sha512")
    )
    pinned = [
        {"name": variable, "value": value}
        for variable, value in (
            ("RUNSC_SHA512", release.runsc_sha512),
            ("SHIM_SHA512", release.shim_sha512),
        )
        if value is not None
    ]
    return {
        "serviceAccountName": service_account,
        "securityContext": {"seccompProfile": {"type": "RuntimeDefault"}},
        # Only nodes the operator opted in, and only of the architecture the pins are for.
        "nodeSelector": {
            **nodes.opt_in_label.selector(),
            "kubernetes.io/arch": _KUBERNETES_ARCH[release.arch],
        },
        "tolerations": [t.manifest() for t in nodes.tolerations],
        "initContainers": [
            {
                "name": "fetch",
                "image": nodes.image,
                "imagePullPolicy": "Always",
                "command": ["/bin/sh", "-ec", fetch],
                # The download needs no privilege; the checksums are verified by the installer.
                "securityContext": {
                    "allowPrivilegeEscalation": False,
                    "capabilities": {"drop": ["ALL"]},
                },
                "resources": _RESOURCES,
                "volumeMounts": [{"name": "gvisor", "mountPath": _SOURCE_DIR}],
            }
        ],
        "containers": [
            {
                "name": "install",
                "image": nodes.image,
                "imagePullPolicy": "Always",
                # A pinned digest in the environment wins; otherwise the published one is used.
                "command": [
                    "/bin/sh",
                    "-ec",
                    f'RUNSC_SHA512="${{RUNSC_SHA512:-$(cut -d" " -f1 {_SOURCE_DIR}/runsc.sha512)}}"'
                    f' SHIM_SHA512="${{SHIM_SHA512:-$(cut -d" " -f1 '
                    f'{_SOURCE_DIR}/containerd-shim-runsc-v1.sha512)}}"'
                    f" exec /bin/sh {_SCRIPT_DIR}/{_SCRIPT}",
                ],
                "env": [
                    {"name": "HOST_ROOT", "value": _HOST_ROOT},
                    {"name": "HANDLER", "value": nodes.handler},
                    *pinned,
                    {"name": "SOURCE_DIR", "value": _SOURCE_DIR},
                    {"name": "CONTAINERD_FLAVOUR", "value": nodes.containerd_flavour},
                    {"name": "READY_LABEL", "value": str(nodes.ready_label)},
                    {
                        "name": "NODE_NAME",
                        "valueFrom": {"fieldRef": {"fieldPath": "spec.nodeName"}},
                    },
                ],
                # Writing the host's containerd config and binaries, and restarting containerd
                # through chroot, needs the node's full privilege; this container alone has it.
                "securityContext": {"privileged": True},
                "resources": _RESOURCES,
                "volumeMounts": [
                    {"name": "host", "mountPath": _HOST_ROOT},
                    {"name": "gvisor", "mountPath": _SOURCE_DIR, "readOnly": True},
                    {"name": "script", "mountPath": _SCRIPT_DIR, "readOnly": True},
                ],
            }
        ],
        "volumes": [
            {"name": "host", "hostPath": {"path": "/", "type": "Directory"}},
            {"name": "gvisor", "emptyDir": {"sizeLimit": "256Mi"}},
            {"name": "script", "configMap": {"name": config_map, "defaultMode": 0o555}},
        ],
    }


# What a node installer cannot avoid, stated on the object itself so that scanners (checkov reads
# these annotations) skip exactly these checks for exactly this DaemonSet and nothing else.
INSTALLER_EXCEPTIONS = {
    "CKV_K8S_16": "writing the node's containerd config and restarting containerd needs privilege",
    "CKV_K8S_20": "a privileged container can always escalate; the fetch step cannot",
    "CKV_K8S_22": "the installer writes the host filesystem mounted at /host",
    "CKV_K8S_23": "chroot into the host and restarting containerd need root",
    "CKV_K8S_28": "privileged implies every capability; the fetch step drops ALL",
    "CKV_K8S_37": "privileged implies every capability; the fetch step drops ALL",
    "CKV_K8S_38": "the token labels this node ready; its role may only get and patch nodes",
    "CKV_K8S_8": "the script either finishes and idles or exits; a restart re-runs it",
    "CKV_K8S_9": "nothing connects to the installer; the node's ready label is its readiness",
}


def scanner_exceptions() -> dict[str, str]:
    """checkov's per-object skip annotations for the installer's unavoidable findings."""
    return {
        f"checkov.io/skip{i}": f"{check}={reason}"
        for i, (check, reason) in enumerate(sorted(INSTALLER_EXCEPTIONS.items()), start=1)
    }


_RESOURCES = {
    "requests": {"cpu": "50m", "memory": "64Mi"},
    "limits": {"cpu": "500m", "memory": "256Mi"},
}
