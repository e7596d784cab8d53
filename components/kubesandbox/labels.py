"""Label and annotation keys this project puts on Kubernetes objects, and the policies read."""

SANDBOXED_LABEL = "kubesandbox.io/sandboxed"
"""Namespace label (value "true") marking a namespace whose pods must run in a sandbox."""

ALLOWED_RUNTIME_CLASSES_ANNOTATION = "kubesandbox.io/allowed-runtime-classes"
"""Namespace annotation: comma-separated RuntimeClass names that pods there may use."""

MANAGED_BY = {"app.kubernetes.io/managed-by": "pulumi"}
"""Recommended Kubernetes label on every object this project creates."""
