"""Validators and policies of the kubesandbox policy pack.

``__main__.py`` beside this file only builds the ``PolicyPack``; everything it needs is here so
tests can import this module without starting the policy server.

Workload rules are stack validations: whether a pod template is sandboxed depends on its
namespace, and only a stack validation sees the Namespace resources next to the workloads.
GKE rules look at one resource at a time, so they are resource validations that also run
before each resource is created when ``pulumi up`` skips the preview.

The engine hands over props in Kubernetes/engine (camelCase) form, wrapped in read-only
``Mapping``/``Sequence`` proxies; the helpers below never assume ``dict`` or ``list``.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from pulumi_policy import (
    EnforcementLevel,
    Policy,
    PolicyConfigSchema,
    PolicyResource,
    ReportViolation,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    StackValidationArgs,
    StackValidationPolicy,
)

__all__ = [
    "ALL_POLICIES",
    "gke_prod_cluster",
    "gke_sandbox_node_pool",
    "sandboxed_drop_all_capabilities",
    "sandboxed_no_host_namespaces",
    "sandboxed_no_host_path",
    "sandboxed_no_privileged",
    "sandboxed_read_only_root_filesystem",
    "sandboxed_resources",
    "sandboxed_run_as_non_root",
    "sandboxed_runtime_class",
    "validate_drop_all_capabilities",
    "validate_gke_prod_cluster",
    "validate_gke_sandbox_node_pool",
    "validate_no_host_namespaces",
    "validate_no_host_path",
    "validate_no_privileged",
    "validate_read_only_root_filesystem",
    "validate_resources",
    "validate_run_as_non_root",
    "validate_runtime_class",
]

# The pack runs from its own directory with its own virtualenv, where the kubesandbox package
# is not installed, so the keys from kubesandbox/labels.py are repeated here. A test keeps the
# two in step.
SANDBOXED_LABEL = "kubesandbox.io/sandboxed"
ALLOWED_RUNTIME_CLASSES_ANNOTATION = "kubesandbox.io/allowed-runtime-classes"

NAMESPACE_TYPE = "kubernetes:core/v1:Namespace"
NODE_POOL_TYPE = "gcp:container/nodePool:NodePool"
CLUSTER_TYPE = "gcp:container/cluster:Cluster"

# Where each workload kind keeps its PodSpec.
POD_SPEC_PATHS: Mapping[str, tuple[str, ...]] = {
    "kubernetes:core/v1:Pod": ("spec",),
    "kubernetes:apps/v1:Deployment": ("spec", "template", "spec"),
    "kubernetes:apps/v1:StatefulSet": ("spec", "template", "spec"),
    "kubernetes:apps/v1:DaemonSet": ("spec", "template", "spec"),
    "kubernetes:apps/v1:ReplicaSet": ("spec", "template", "spec"),
    "kubernetes:batch/v1:Job": ("spec", "template", "spec"),
    "kubernetes:batch/v1:CronJob": ("spec", "jobTemplate", "spec", "template", "spec"),
}

DEFAULT_PROD_STACKS = ("prod",)
PROD_STACKS_CONFIG = "prodStacks"


# ------------------------------------------------------------------------------------------
# Reading engine props


def _get(value: Any, *keys: str) -> Any:
    """Walk nested mappings; None as soon as a key is missing or a level is not a mapping."""
    for key in keys:
        if not isinstance(value, Mapping) or key not in value:
            return None
        value = value[key]
    return value


def _items(value: Any) -> list[Any]:
    """The elements of a list prop, or [] when it is unset (a str is a Sequence, so not that)."""
    if isinstance(value, Sequence) and not isinstance(value, str):
        return list(value)
    return []


def _render(value: Any) -> str:
    """A prop value as a deployer would write it in a manifest: ``"runc"``, ``false``, ``[...]``."""
    if value is None:
        return "not set"
    if isinstance(value, Mapping):
        return json.dumps({k: value[k] for k in value})
    if isinstance(value, Sequence) and not isinstance(value, str):
        return json.dumps(list(value))
    return json.dumps(value)


def _label(resource_type: str, name: str) -> str:
    """``Deployment "web"``: the kind from the type token plus the Pulumi resource name."""
    return f'{resource_type.rsplit(":", 1)[-1]} "{name}"'


def _stack_of(urn: str) -> str:
    """The stack name in ``urn:pulumi:<stack>::<project>::<type>::<name>``."""
    return urn.split("::", 1)[0].removeprefix("urn:pulumi:")


# ------------------------------------------------------------------------------------------
# Which pod templates are sandboxed


@dataclass(frozen=True)
class _PodTemplate:
    """A PodSpec of a workload in a sandboxed namespace, with what messages need to name it."""

    resource: PolicyResource
    label: str
    path: str
    spec: Mapping[str, Any]
    namespace: str
    allowed: tuple[str, ...]


@dataclass(frozen=True)
class _Container:
    """One container or init container of a sandboxed pod template."""

    template: _PodTemplate
    path: str
    name: str
    spec: Mapping[str, Any]

    @property
    def label(self) -> str:
        return f'{self.template.label} container "{self.name}"'


def _parse_allowed(annotation: Any) -> tuple[str, ...]:
    if not isinstance(annotation, str):
        return ()
    return tuple(part.strip() for part in annotation.split(",") if part.strip())


def _sandboxed_namespaces(resources: Sequence[PolicyResource]) -> dict[str, tuple[str, ...]]:
    """Kubernetes name -> allowed RuntimeClasses, for each sandboxed Namespace in the stack."""
    found: dict[str, tuple[str, ...]] = {}
    for resource in resources:
        if resource.resource_type != NAMESPACE_TYPE:
            continue
        metadata = _get(resource.props, "metadata")
        name = _get(metadata, "name")
        if _get(metadata, "labels", SANDBOXED_LABEL) != "true" or not isinstance(name, str):
            continue
        annotation = _get(metadata, "annotations", ALLOWED_RUNTIME_CLASSES_ANNOTATION)
        found[name] = _parse_allowed(annotation)
    return found


def _namespace_of(resource: PolicyResource) -> str:
    """The namespace a workload lands in: its own, else its provider's default, else default."""
    namespace = _get(resource.props, "metadata", "namespace")
    if isinstance(namespace, str) and namespace:
        return namespace
    if resource.provider is not None:
        provider_namespace = _get(resource.provider.props, "namespace")
        if isinstance(provider_namespace, str) and provider_namespace:
            return provider_namespace
    return "default"


def _sandboxed_pod_templates(args: StackValidationArgs) -> Iterator[_PodTemplate]:
    # Namespaces are matched by name only, not by provider: in a stack with several clusters a
    # same-named namespace elsewhere is checked too, which errs on the strict side.
    namespaces = _sandboxed_namespaces(args.resources)
    for resource in args.resources:
        spec_path = POD_SPEC_PATHS.get(resource.resource_type)
        if spec_path is None:
            continue
        namespace = _namespace_of(resource)
        if namespace not in namespaces:
            continue
        spec = _get(resource.props, *spec_path)
        yield _PodTemplate(
            resource=resource,
            label=_label(resource.resource_type, resource.name),
            path=".".join(spec_path),
            spec=spec if isinstance(spec, Mapping) else {},
            namespace=namespace,
            allowed=namespaces[namespace],
        )


def _containers(template: _PodTemplate) -> Iterator[_Container]:
    for field in ("initContainers", "containers"):
        for index, container in enumerate(_items(template.spec.get(field))):
            if not isinstance(container, Mapping):
                continue
            name = container.get("name")
            yield _Container(
                template=template,
                path=f"{template.path}.{field}[{index}]",
                name=name if isinstance(name, str) else str(index),
                spec=container,
            )


def _sandboxed_containers(args: StackValidationArgs) -> Iterator[_Container]:
    for template in _sandboxed_pod_templates(args):
        yield from _containers(template)


# ------------------------------------------------------------------------------------------
# Pod template rules (stack validations)


def validate_runtime_class(args: StackValidationArgs, report_violation: ReportViolation) -> None:
    """Every sandboxed pod template names a RuntimeClass its namespace allows."""
    for template in _sandboxed_pod_templates(args):
        field = f"{template.path}.runtimeClassName"
        actual = template.spec.get("runtimeClassName")
        if not template.allowed:
            report_violation(
                f'{template.label}: namespace "{template.namespace}" allows no RuntimeClass; '
                f"add annotation {ALLOWED_RUNTIME_CLASSES_ANNOTATION} (e.g. gvisor) to it "
                f"and set {field} to a class it lists.",
                template.resource.urn,
            )
        elif actual is None:
            report_violation(
                f"{template.label}: {field} is not set; set it to one of "
                f'{", ".join(template.allowed)} (allowed by namespace "{template.namespace}").',
                template.resource.urn,
            )
        elif actual not in template.allowed:
            report_violation(
                f"{template.label}: {field} is {_render(actual)}, which namespace "
                f'"{template.namespace}" does not allow; set it to one of '
                f"{', '.join(template.allowed)}.",
                template.resource.urn,
            )


def validate_no_host_path(args: StackValidationArgs, report_violation: ReportViolation) -> None:
    """Sandboxed pods mount nothing from the node's filesystem."""
    for template in _sandboxed_pod_templates(args):
        for index, volume in enumerate(_items(template.spec.get("volumes"))):
            if _get(volume, "hostPath") is None:
                continue
            report_violation(
                f'{template.label}: {template.path}.volumes[{index}] ("{_get(volume, "name")}") '
                "is a hostPath volume; use emptyDir, configMap, secret or a "
                "persistentVolumeClaim instead.",
                template.resource.urn,
            )


def validate_no_privileged(args: StackValidationArgs, report_violation: ReportViolation) -> None:
    """No sandboxed container is privileged."""
    for container in _sandboxed_containers(args):
        privileged = _get(container.spec, "securityContext", "privileged")
        if privileged is True:
            report_violation(
                f"{container.label}: {container.path}.securityContext.privileged is true; "
                "remove it or set it to false.",
                container.template.resource.urn,
            )


def validate_no_host_namespaces(
    args: StackValidationArgs, report_violation: ReportViolation
) -> None:
    """Sandboxed pods share no namespace with the node."""
    for template in _sandboxed_pod_templates(args):
        for field in ("hostNetwork", "hostPID", "hostIPC"):
            if template.spec.get(field) is True:
                report_violation(
                    f"{template.label}: {template.path}.{field} is true; "
                    "remove it or set it to false.",
                    template.resource.urn,
                )


def validate_run_as_non_root(args: StackValidationArgs, report_violation: ReportViolation) -> None:
    """Every sandboxed container runs as non-root, by its own setting or the pod's."""
    for container in _sandboxed_containers(args):
        own = _get(container.spec, "securityContext", "runAsNonRoot")
        pod_field = f"{container.template.path}.securityContext.runAsNonRoot"
        inherited = container.template.spec.get("securityContext")
        if own is True or (own is None and _get(inherited, "runAsNonRoot") is True):
            continue
        # A container's own false overrides the pod, so that is the field to fix.
        if own is not None:
            message = (
                f"{container.path}.securityContext.runAsNonRoot is {_render(own)}; set it to true."
            )
        else:
            message = (
                f"{container.path}.securityContext.runAsNonRoot is not set and "
                f"{pod_field} is {_render(_get(inherited, 'runAsNonRoot'))}; "
                f"set {pod_field} to true."
            )
        report_violation(f"{container.label}: {message}", container.template.resource.urn)


def validate_read_only_root_filesystem(
    args: StackValidationArgs, report_violation: ReportViolation
) -> None:
    """Every sandboxed container mounts its root filesystem read-only."""
    for container in _sandboxed_containers(args):
        value = _get(container.spec, "securityContext", "readOnlyRootFilesystem")
        if value is not True:
            report_violation(
                f"{container.label}: {container.path}.securityContext.readOnlyRootFilesystem "
                f"is {_render(value)}; set it to true.",
                container.template.resource.urn,
            )


def validate_drop_all_capabilities(
    args: StackValidationArgs, report_violation: ReportViolation
) -> None:
    """Every sandboxed container drops ALL Linux capabilities (adding back only what it needs)."""
    for container in _sandboxed_containers(args):
        drop = _get(container.spec, "securityContext", "capabilities", "drop")
        if "ALL" not in _items(drop):
            report_violation(
                f"{container.label}: {container.path}.securityContext.capabilities.drop "
                f'is {_render(drop)}; set it to ["ALL"].',
                container.template.resource.urn,
            )


_REQUIRED_RESOURCES = (
    ("requests", "cpu"),
    ("requests", "memory"),
    ("limits", "cpu"),
    ("limits", "memory"),
)


def validate_resources(args: StackValidationArgs, report_violation: ReportViolation) -> None:
    """Every sandboxed container sets cpu and memory requests and limits."""
    for container in _sandboxed_containers(args):
        resources = container.spec.get("resources")
        missing = [
            f"{kind}.{name}"
            for kind, name in _REQUIRED_RESOURCES
            if _get(resources, kind, name) is None
        ]
        if missing:
            report_violation(
                f"{container.label}: {container.path}.resources lacks {', '.join(missing)}; "
                "set cpu and memory under both requests and limits.",
                container.template.resource.urn,
            )


# ------------------------------------------------------------------------------------------
# GKE rules (resource validations)


def _is_gvisor_pool(node_config: Any) -> bool:
    sandbox = _get(node_config, "sandboxConfig")
    # sandboxType is the field older pulumi-gcp releases had before "type".
    kinds = (_get(sandbox, "type"), _get(sandbox, "sandboxType"))
    return any(isinstance(kind, str) and kind.upper() == "GVISOR" for kind in kinds)


def validate_gke_sandbox_node_pool(
    args: ResourceValidationArgs, report_violation: ReportViolation
) -> None:
    """A GKE Sandbox node pool runs COS with containerd and hides the node's metadata server."""
    if args.resource_type != NODE_POOL_TYPE:
        return
    node_config = _get(args.props, "nodeConfig")
    if not _is_gvisor_pool(node_config):
        return
    label = _label(args.resource_type, args.name)
    image_type = _get(node_config, "imageType")
    # GKE compares image types case-insensitively, so "cos_containerd" is accepted too.
    if not (isinstance(image_type, str) and image_type.upper() == "COS_CONTAINERD"):
        report_violation(
            f"{label}: nodeConfig.imageType is {_render(image_type)}; GKE Sandbox needs it "
            'set to "COS_CONTAINERD".',
            args.urn,
        )
    mode = _get(node_config, "workloadMetadataConfig", "mode")
    if mode != "GKE_METADATA":
        report_violation(
            f"{label}: nodeConfig.workloadMetadataConfig.mode is {_render(mode)}; set it to "
            '"GKE_METADATA" so sandboxed pods cannot read the node\'s credentials.',
            args.urn,
        )


def _prod_stacks(config: Mapping[str, Any]) -> tuple[str, ...]:
    configured = config.get(PROD_STACKS_CONFIG)
    if configured is None:
        return DEFAULT_PROD_STACKS
    return tuple(str(stack) for stack in _items(configured))


def validate_gke_prod_cluster(
    args: ResourceValidationArgs, report_violation: ReportViolation
) -> None:
    """A production GKE cluster cannot be deleted by accident and keeps its nodes private."""
    if args.resource_type != CLUSTER_TYPE:
        return
    stack = _stack_of(args.urn)
    environment = _get(args.props, "resourceLabels", "environment")
    if stack in _prod_stacks(args.get_config()):
        why = f'stack "{stack}"'
    elif environment == "prod":
        why = 'resourceLabels.environment "prod"'
    else:
        return
    label = _label(args.resource_type, args.name)
    # deletionProtection defaults to true in the provider, but prod must say so, not inherit it.
    protection = _get(args.props, "deletionProtection")
    if protection is not True:
        report_violation(
            f"{label}: deletionProtection is {_render(protection)} in a production cluster "
            f"({why}); set it to true.",
            args.urn,
        )
    private_nodes = _get(args.props, "privateClusterConfig", "enablePrivateNodes")
    if private_nodes is not True:
        report_violation(
            f"{label}: privateClusterConfig.enablePrivateNodes is {_render(private_nodes)} in a "
            f"production cluster ({why}); set it to true.",
            args.urn,
        )


# ------------------------------------------------------------------------------------------
# Policies

_StackValidate = Callable[[StackValidationArgs, ReportViolation], None]


def _stack_policy(name: str, description: str, validate: _StackValidate) -> StackValidationPolicy:
    return StackValidationPolicy(
        name=name,
        description=description,
        validate=validate,
        enforcement_level=EnforcementLevel.MANDATORY,
    )


sandboxed_runtime_class = _stack_policy(
    "sandboxed-runtime-class",
    "Pod templates in a sandboxed namespace name a RuntimeClass the namespace allows.",
    validate_runtime_class,
)
sandboxed_no_host_path = _stack_policy(
    "sandboxed-no-host-path",
    "Pod templates in a sandboxed namespace have no hostPath volumes.",
    validate_no_host_path,
)
sandboxed_no_privileged = _stack_policy(
    "sandboxed-no-privileged",
    "Containers in a sandboxed namespace are not privileged.",
    validate_no_privileged,
)
sandboxed_no_host_namespaces = _stack_policy(
    "sandboxed-no-host-namespaces",
    "Pod templates in a sandboxed namespace use no hostNetwork, hostPID or hostIPC.",
    validate_no_host_namespaces,
)
sandboxed_run_as_non_root = _stack_policy(
    "sandboxed-run-as-non-root",
    "Containers in a sandboxed namespace run with runAsNonRoot.",
    validate_run_as_non_root,
)
sandboxed_read_only_root_filesystem = _stack_policy(
    "sandboxed-read-only-root-filesystem",
    "Containers in a sandboxed namespace have a read-only root filesystem.",
    validate_read_only_root_filesystem,
)
sandboxed_drop_all_capabilities = _stack_policy(
    "sandboxed-drop-all-capabilities",
    "Containers in a sandboxed namespace drop ALL capabilities.",
    validate_drop_all_capabilities,
)
sandboxed_resources = _stack_policy(
    "sandboxed-resource-requests-limits",
    "Containers in a sandboxed namespace set cpu and memory requests and limits.",
    validate_resources,
)

gke_sandbox_node_pool = ResourceValidationPolicy(
    name="gke-sandbox-node-pool",
    description="GKE Sandbox node pools use COS_CONTAINERD and the GKE metadata server.",
    validate=validate_gke_sandbox_node_pool,
    enforcement_level=EnforcementLevel.MANDATORY,
)
gke_prod_cluster = ResourceValidationPolicy(
    name="gke-prod-cluster",
    description="Production GKE clusters have deletion protection and private nodes.",
    validate=validate_gke_prod_cluster,
    enforcement_level=EnforcementLevel.MANDATORY,
    config_schema=PolicyConfigSchema(
        properties={
            PROD_STACKS_CONFIG: {
                "type": "array",
                "items": {"type": "string"},
                "default": list(DEFAULT_PROD_STACKS),
                "description": "Stack names treated as production.",
            }
        }
    ),
)

ALL_POLICIES: list[Policy] = [
    sandboxed_runtime_class,
    sandboxed_no_host_path,
    sandboxed_no_privileged,
    sandboxed_no_host_namespaces,
    sandboxed_run_as_non_root,
    sandboxed_read_only_root_filesystem,
    sandboxed_drop_all_capabilities,
    sandboxed_resources,
    gke_sandbox_node_pool,
    gke_prod_cluster,
]
