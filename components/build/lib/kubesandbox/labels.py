"""Label and annotation keys that mark a namespace as sandboxed.

The policy pack, the in-cluster admission policy and the components that create namespaces all
read these keys, so they live in one place.
"""

__all__ = ["ALLOWED_RUNTIME_CLASSES_ANNOTATION", "MANAGED_BY", "SANDBOXED_LABEL"]

SANDBOXED_LABEL = "kubesandbox.io/sandboxed"
"""Namespace label; the value ``"true"`` puts the namespace's workloads under the guardrails."""

ALLOWED_RUNTIME_CLASSES_ANNOTATION = "kubesandbox.io/allowed-runtime-classes"
"""Namespace annotation: comma-separated RuntimeClass names its pods may use, e.g. ``"gvisor"``."""

MANAGED_BY = {"app.kubernetes.io/managed-by": "pulumi"}
"""Recommended Kubernetes label on every object this project creates."""
