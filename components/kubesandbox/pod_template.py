"""What every sandboxed pod this project creates has in common: it runs under its RuntimeClass on
the nodes that offer it, and it meets Pod Security `restricted`.

Deployments and smoke-test Jobs build their pod specs from these pieces, so a hardening change
reaches both.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from kubesandbox.runtime import Runtime

__all__ = ["container_security_context", "pod_security_context", "runtime_placement"]


def runtime_placement(runtime: Runtime) -> dict[str, Any]:
    """The pod spec fields that put a pod on the runtime's nodes; empty when it has none."""
    placement: dict[str, Any] = {}
    if runtime.node_selector:
        placement["nodeSelector"] = dict(runtime.node_selector)
    if runtime.tolerations:
        placement["tolerations"] = [t.manifest() for t in runtime.tolerations]
    return placement


def pod_security_context(run_as_user: int) -> dict[str, Any]:
    """Pod-level securityContext for Pod Security `restricted`: non-root, RuntimeDefault seccomp."""
    return {
        "runAsNonRoot": True,
        "runAsUser": run_as_user,
        "runAsGroup": run_as_user,
        "seccompProfile": {"type": "RuntimeDefault"},
    }


def container_security_context(
    run_as_user: int, add_capabilities: Sequence[str] = ()
) -> dict[str, Any]:
    """Container securityContext for `restricted`: no escalation, read-only root, ALL dropped."""
    return {
        "allowPrivilegeEscalation": False,
        "readOnlyRootFilesystem": True,
        "runAsNonRoot": True,
        "runAsUser": run_as_user,
        "runAsGroup": run_as_user,
        "capabilities": {
            "drop": ["ALL"],
            **({"add": list(add_capabilities)} if add_capabilities else {}),
        },
    }
