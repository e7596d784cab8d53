"""What a sandboxed workload is: the typed object a stack declares, and the rules it must meet."""

from __future__ import annotations

import enum
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from kubesandbox import names, quantity
from kubesandbox.errors import Problem
from kubesandbox.runtime import Isolation, Runtime

# Capabilities that Pod Security `restricted` lets a container add back after dropping ALL.
RESTRICTED_ADDABLE_CAPABILITIES = frozenset({"NET_BIND_SERVICE"})

_TAG = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$")
_DIGEST = re.compile(r"^sha256:[0-9a-f]{64}$")


class Egress(enum.Enum):
    """Where a workload's pods may open connections. The metadata server is never reachable."""

    NONE = "none"
    """No egress at all, not even DNS: the right default for code nobody has reviewed."""
    DNS = "dns"
    """Cluster DNS only."""
    INTERNET = "internet"
    """Cluster DNS and public addresses; private ranges and 169.254.169.254 stay blocked."""


@dataclass(frozen=True)
class Resources:
    """CPU and memory for each container. Equal requests and limits make pods Guaranteed."""

    cpu: str = "250m"
    """CPU request, as a Kubernetes quantity."""
    memory: str = "256Mi"
    """Memory request, as a Kubernetes quantity."""
    cpu_limit: str | None = None
    """CPU limit; None means the same as the request."""
    memory_limit: str | None = None
    """Memory limit; None means the same as the request."""

    @property
    def limits(self) -> dict[str, str]:
        """Limits as the container spec spells them."""
        return {"cpu": self.cpu_limit or self.cpu, "memory": self.memory_limit or self.memory}

    @property
    def requests(self) -> dict[str, str]:
        """Requests as the container spec spells them."""
        return {"cpu": self.cpu, "memory": self.memory}


@dataclass(frozen=True)
class Workload:
    """A Deployment of untrusted code in its own Pod Security `restricted` namespace."""

    name: str
    """Name of the Deployment, Service, ServiceAccount and (by default) the namespace."""
    image: str
    """Container image with a tag or digest; `latest` and untagged images are refused."""
    runtime: Runtime
    """RuntimeClass the pods run under."""
    namespace: str | None = None
    """Namespace to create for the workload; defaults to its name. One workload per namespace."""
    replicas: int = 2
    """Number of pods."""
    port: int | None = 8080
    """Container port served through a ClusterIP Service; None for workloads that serve nothing."""
    command: Sequence[str] = ()
    """Overrides the image's entrypoint."""
    args: Sequence[str] = ()
    """Overrides the image's arguments."""
    env: Mapping[str, str] = field(default_factory=dict)
    """Plain environment variables; never secrets."""
    resources: Resources = Resources()
    """Requests and limits of the container."""
    run_as_user: int = 65532
    """Non-root UID the container runs as."""
    writable_paths: Sequence[str] = ("/tmp",)
    """Paths backed by an emptyDir, since the root filesystem is read-only."""
    scratch_size: str = "256Mi"
    """Size limit of each writable path."""
    egress: Egress = Egress.NONE
    """Where the pods may connect to."""
    ingress_from_namespaces: Sequence[str] = ()
    """Other namespaces allowed to reach the port; the workload's own namespace always is."""
    progress_deadline_seconds: int = 300
    """How long a rollout may make no progress before Kubernetes, and so `pulumi up`, fails it."""
    host_paths: Mapping[str, str] = field(default_factory=dict)
    """Mount path to node path. Refused: sandboxes do not share the node's filesystem."""
    privileged: bool = False
    """Refused when true: a privileged container defeats the sandbox."""
    host_network: bool = False
    """Refused when true: host namespaces are the node's, not the sandbox's."""
    host_pid: bool = False
    """Refused when true, as host_network."""
    host_ipc: bool = False
    """Refused when true, as host_network."""
    add_capabilities: Sequence[str] = ()
    """Linux capabilities added after dropping ALL; only NET_BIND_SERVICE is allowed."""
    sysctls: Mapping[str, str] = field(default_factory=dict)
    """Pod sysctls. Refused: GKE Sandbox does not support them."""

    @property
    def namespace_name(self) -> str:
        """The namespace the workload runs in: `namespace`, or else its name."""
        return self.namespace or self.name


def problems(workload: Workload) -> list[Problem]:
    """Every way the workload breaks a Kubernetes rule, GKE Sandbox's rules or Pod Security."""
    found: list[Problem] = []
    found += names.dns_1035_label("name", workload.name)
    found += names.dns_label("namespace", workload.namespace_name)
    found += image_problems(workload.image)
    if workload.replicas < 1:
        found.append(Problem("replicas", workload.replicas, "must be at least 1"))
    if workload.port is not None and not 1 <= workload.port <= 65535:
        found.append(Problem("port", workload.port, "must be between 1 and 65535, or None"))
    if workload.run_as_user == 0:
        found.append(Problem("run_as_user", 0, "Pod Security restricted forbids root; use a UID"))
    if workload.progress_deadline_seconds < 30:
        found.append(
            Problem(
                "progress_deadline_seconds",
                workload.progress_deadline_seconds,
                "must be at least 30 so that a slow image pull is not reported as a failure",
            )
        )
    found += resource_problems(workload.resources)
    for path in workload.writable_paths:
        if not path.startswith("/"):
            found.append(Problem("writable_paths", path, "must be an absolute path"))
    if quantity.parse(workload.scratch_size) is None:
        found.append(Problem("scratch_size", workload.scratch_size, _QUANTITY_FIX))
    for namespace in workload.ingress_from_namespaces:
        found += names.dns_label("ingress_from_namespaces", namespace)
    found += _sandbox_problems(workload)
    return found


_QUANTITY_FIX = "must be a Kubernetes quantity such as 500m, 1, 256Mi or 2Gi"


def image_problems(image: str) -> list[Problem]:
    """An image reference that is malformed, unpinned or `latest`, as a problem of `image`."""
    reference, _, digest = image.partition("@")
    name, _, tag = reference.rsplit("/", 1)[-1].partition(":")
    well_formed = (
        bool(name)
        and not any(c.isspace() for c in image)
        and (not tag or _TAG.match(tag) is not None)
        and (not digest or _DIGEST.match(digest) is not None)
    )
    if not well_formed or not (tag or digest):
        return [Problem("image", image, "must name a tag or digest, e.g. repo/app:1.2.3")]
    if tag == "latest" and not digest:
        return [Problem("image", image, "`latest` moves under you; pin a version tag or digest")]
    return []


def resource_problems(resources: Resources) -> list[Problem]:
    """Requests that are not positive quantities and limits below their requests."""
    found: list[Problem] = []
    for kind in ("cpu", "memory"):
        request = resources.requests[kind]
        limit = resources.limits[kind]
        request_value = quantity.parse(request)
        limit_value = quantity.parse(limit)
        if request_value is None or request_value <= 0:
            found.append(Problem(f"resources.{kind}", request, _QUANTITY_FIX + ", above zero"))
        if limit_value is None:
            # A limit left to default is the request, already reported above.
            if getattr(resources, f"{kind}_limit") is not None:
                found.append(Problem(f"resources.{kind}_limit", limit, _QUANTITY_FIX))
        elif request_value is not None and limit_value < request_value:
            found.append(
                Problem(
                    f"resources.{kind}_limit",
                    limit,
                    f"is below the request {request}; raise the limit or lower the request",
                )
            )
    return found


def _sandbox_problems(workload: Workload) -> list[Problem]:
    """Pod features a sandbox cannot provide; each would fail at admission or at pod start."""
    gvisor = workload.runtime.isolation is Isolation.GVISOR
    sandbox = "GKE Sandbox" if workload.runtime.managed_by_gke else "the sandbox"
    found: list[Problem] = []
    if workload.host_paths:
        found.append(
            Problem(
                "host_paths",
                dict(workload.host_paths),
                f"{sandbox} rejects hostPath volumes; use writable_paths (emptyDir) "
                "or a PersistentVolumeClaim",
            )
        )
    if workload.privileged:
        found.append(
            Problem("privileged", True, "a privileged container defeats the sandbox; remove it")
        )
    for host_field in ("host_network", "host_pid", "host_ipc"):
        if getattr(workload, host_field):
            found.append(
                Problem(
                    host_field,
                    True,
                    "host namespaces bypass the sandbox and Pod Security restricted; remove it",
                )
            )
    extra = sorted(set(workload.add_capabilities) - RESTRICTED_ADDABLE_CAPABILITIES)
    if extra:
        found.append(
            Problem(
                "add_capabilities",
                extra,
                "Pod Security restricted allows adding only NET_BIND_SERVICE; drop the others",
            )
        )
    if workload.sysctls and gvisor:
        found.append(
            Problem("sysctls", dict(workload.sysctls), f"{sandbox} does not support sysctls")
        )
    return found
