"""Each policy of the pack, with props shaped as the engine sends them.

Props go through pulumi-policy's unknown-checking proxy, as in a real preview, so the rules are
tested against ``Mapping``/``Sequence`` proxies and not plain dicts. policy/__main__.py is never
imported: building its PolicyPack would start a server that does not return.
"""

from __future__ import annotations

from typing import Any

import pytest
from pulumi_policy import (
    EnforcementLevel,
    PolicyCustomTimeouts,
    PolicyProviderResource,
    PolicyResource,
    PolicyResourceOptions,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    StackValidationArgs,
    StackValidationPolicy,
)
from pulumi_policy.proxy import unknown_checking_proxy

from kubesandbox import labels
from policy import rules

PROJECT = "kubesandbox"
DEPLOYMENT = "kubernetes:apps/v1:Deployment"


def _opts() -> PolicyResourceOptions:
    return PolicyResourceOptions(
        protect=False,
        ignore_changes=[],
        delete_before_replace=False,
        aliases=[],
        custom_timeouts=PolicyCustomTimeouts(0, 0, 0),
        additional_secret_outputs=[],
    )


def _urn(resource_type: str, name: str, stack: str = "dev") -> str:
    return f"urn:pulumi:{stack}::{PROJECT}::{resource_type}::{name}"


def _resource(
    resource_type: str,
    name: str,
    props: dict[str, Any],
    provider: PolicyProviderResource | None = None,
) -> PolicyResource:
    return PolicyResource(
        resource_type=resource_type,
        props=unknown_checking_proxy(props),
        urn=_urn(resource_type, name),
        name=name,
        opts=_opts(),
        provider=provider,
        parent=None,
        dependencies=[],
        property_dependencies={},
    )


def _namespace(
    name: str = "untrusted",
    sandboxed: str = "true",
    allowed: str | None = "gvisor, kata-qemu",
) -> PolicyResource:
    metadata: dict[str, Any] = {"name": name, "labels": {rules.SANDBOXED_LABEL: sandboxed}}
    if allowed is not None:
        metadata["annotations"] = {rules.ALLOWED_RUNTIME_CLASSES_ANNOTATION: allowed}
    return _resource(rules.NAMESPACE_TYPE, f"{name}-ns", {"metadata": metadata})


def _container(name: str = "app") -> dict[str, Any]:
    return {
        "name": name,
        "image": "registry.example/app:1",
        "securityContext": {
            "readOnlyRootFilesystem": True,
            "allowPrivilegeEscalation": False,
            "capabilities": {"drop": ["ALL"]},
        },
        "resources": {
            "requests": {"cpu": "100m", "memory": "64Mi"},
            "limits": {"cpu": "500m", "memory": "128Mi"},
        },
    }


def _pod_spec() -> dict[str, Any]:
    """A PodSpec that passes every sandbox rule; tests break one field at a time."""
    return {
        "runtimeClassName": "gvisor",
        "securityContext": {"runAsNonRoot": True},
        "initContainers": [_container("init")],
        "containers": [_container("app")],
        "volumes": [{"name": "scratch", "emptyDir": {}}],
    }


def _deployment(
    spec: dict[str, Any], name: str = "web", namespace: str | None = "untrusted"
) -> PolicyResource:
    metadata = {"name": name} if namespace is None else {"name": name, "namespace": namespace}
    props = {"metadata": metadata, "spec": {"replicas": 1, "template": {"spec": spec}}}
    return _resource(DEPLOYMENT, name, props)


def _stack_violations(
    policy: StackValidationPolicy, *resources: PolicyResource
) -> list[tuple[str, str | None]]:
    found: list[tuple[str, str | None]] = []

    def report(message: str, urn: str | None = None) -> None:
        found.append((message, urn))

    # The rules are synchronous; an awaitable here would mean unchecked violations.
    assert policy.validate(StackValidationArgs(list(resources)), report) is None
    return found


def _messages(policy: StackValidationPolicy, *resources: PolicyResource) -> list[str]:
    return [message for message, _ in _stack_violations(policy, *resources)]


def _resource_messages(
    policy: ResourceValidationPolicy,
    resource_type: str,
    name: str,
    props: dict[str, Any],
    *,
    stack: str = "dev",
    config: dict[str, Any] | None = None,
) -> list[str]:
    found: list[str] = []

    def report(message: str, urn: str | None = None) -> None:
        found.append(message)

    args = ResourceValidationArgs(
        resource_type=resource_type,
        props=unknown_checking_proxy(props),
        urn=_urn(resource_type, name, stack),
        name=name,
        opts=_opts(),
        provider=None,
        config=config,
    )
    assert policy.validate(args, report) is None
    return found


def test_pack_repeats_the_label_keys_of_the_package() -> None:
    assert rules.SANDBOXED_LABEL == labels.SANDBOXED_LABEL
    assert rules.ALLOWED_RUNTIME_CLASSES_ANNOTATION == labels.ALLOWED_RUNTIME_CLASSES_ANNOTATION


def test_every_policy_is_mandatory_and_named_once() -> None:
    names = [policy.name for policy in rules.ALL_POLICIES]
    assert len(names) == len(set(names)) == 10
    assert {policy.enforcement_level for policy in rules.ALL_POLICIES} == {
        EnforcementLevel.MANDATORY
    }


# --- sandboxed-runtime-class ---------------------------------------------------------------


def test_runtime_class_allowed_by_namespace_passes() -> None:
    spec = _pod_spec()
    spec["runtimeClassName"] = "kata-qemu"
    assert _messages(rules.sandboxed_runtime_class, _namespace(), _deployment(spec)) == []


def test_runtime_class_missing_is_reported_on_the_workload() -> None:
    spec = _pod_spec()
    del spec["runtimeClassName"]
    assert _stack_violations(rules.sandboxed_runtime_class, _namespace(), _deployment(spec)) == [
        (
            'Deployment "web": spec.template.spec.runtimeClassName is not set; set it to one of '
            'gvisor, kata-qemu (allowed by namespace "untrusted").',
            _urn(DEPLOYMENT, "web"),
        )
    ]


def test_runtime_class_not_in_namespace_list_fails() -> None:
    spec = _pod_spec()
    spec["runtimeClassName"] = "runc"
    assert _messages(rules.sandboxed_runtime_class, _namespace(), _deployment(spec)) == [
        'Deployment "web": spec.template.spec.runtimeClassName is "runc", which namespace '
        '"untrusted" does not allow; set it to one of gvisor, kata-qemu.'
    ]


def test_namespace_without_allowed_list_rejects_every_runtime_class() -> None:
    namespace = _namespace(allowed=None)
    assert _messages(rules.sandboxed_runtime_class, namespace, _deployment(_pod_spec())) == [
        'Deployment "web": namespace "untrusted" allows no RuntimeClass; add annotation '
        "kubesandbox.io/allowed-runtime-classes (e.g. gvisor) to it and set "
        "spec.template.spec.runtimeClassName to a class it lists."
    ]


def test_cron_job_pod_template_is_found_under_job_template() -> None:
    spec = _pod_spec()
    spec["runtimeClassName"] = "runc"
    cron_job = _resource(
        "kubernetes:batch/v1:CronJob",
        "nightly",
        {
            "metadata": {"namespace": "untrusted"},
            "spec": {"schedule": "@daily", "jobTemplate": {"spec": {"template": {"spec": spec}}}},
        },
    )
    assert _messages(rules.sandboxed_runtime_class, _namespace(), cron_job) == [
        'CronJob "nightly": spec.jobTemplate.spec.template.spec.runtimeClassName is "runc", '
        'which namespace "untrusted" does not allow; set it to one of gvisor, kata-qemu.'
    ]


@pytest.mark.parametrize(
    "resource_type",
    [
        "kubernetes:apps/v1:StatefulSet",
        "kubernetes:apps/v1:DaemonSet",
        "kubernetes:apps/v1:ReplicaSet",
        "kubernetes:batch/v1:Job",
    ],
)
def test_every_workload_kind_is_checked(resource_type: str) -> None:
    spec = _pod_spec()
    del spec["runtimeClassName"]
    workload = _resource(
        resource_type,
        "w",
        {"metadata": {"namespace": "untrusted"}, "spec": {"template": {"spec": spec}}},
    )
    kind = resource_type.rsplit(":", 1)[-1]
    assert _messages(rules.sandboxed_runtime_class, _namespace(), workload) == [
        f'{kind} "w": spec.template.spec.runtimeClassName is not set; set it to one of '
        'gvisor, kata-qemu (allowed by namespace "untrusted").'
    ]


def test_bare_pod_is_checked_at_spec() -> None:
    spec = _pod_spec()
    del spec["runtimeClassName"]
    pod = _resource(
        "kubernetes:core/v1:Pod", "debug", {"metadata": {"namespace": "untrusted"}, "spec": spec}
    )
    assert _messages(rules.sandboxed_runtime_class, _namespace(), pod) == [
        'Pod "debug": spec.runtimeClassName is not set; set it to one of gvisor, kata-qemu '
        '(allowed by namespace "untrusted").'
    ]


def test_workloads_outside_sandboxed_namespaces_are_not_checked() -> None:
    spec = _pod_spec()
    del spec["runtimeClassName"]
    other = _namespace(name="tools", sandboxed="false")
    workload = _deployment(spec, namespace="tools")
    assert _messages(rules.sandboxed_runtime_class, other, workload) == []


def test_workload_without_namespace_lands_in_the_provider_namespace() -> None:
    spec = _pod_spec()
    del spec["runtimeClassName"]
    provider = PolicyProviderResource(
        "pulumi:providers:kubernetes",
        unknown_checking_proxy({"namespace": "untrusted"}),
        "urn:pulumi:dev::kubesandbox::pulumi:providers:kubernetes::sandbox",
        "sandbox",
    )
    workload = _resource(
        DEPLOYMENT, "web", {"spec": {"template": {"spec": spec}}}, provider=provider
    )
    assert len(_messages(rules.sandboxed_runtime_class, _namespace(), workload)) == 1
    default_namespace = _resource(DEPLOYMENT, "web", {"spec": {"template": {"spec": spec}}})
    assert _messages(rules.sandboxed_runtime_class, _namespace(), default_namespace) == []


# --- sandboxed-no-host-path ----------------------------------------------------------------


def test_empty_dir_volume_passes() -> None:
    assert _messages(rules.sandboxed_no_host_path, _namespace(), _deployment(_pod_spec())) == []


def test_host_path_volume_fails() -> None:
    spec = _pod_spec()
    spec["volumes"].append({"name": "docker", "hostPath": {"path": "/var/run"}})
    assert _messages(rules.sandboxed_no_host_path, _namespace(), _deployment(spec)) == [
        'Deployment "web": spec.template.spec.volumes[1] ("docker") is a hostPath volume; '
        "use emptyDir, configMap, secret or a persistentVolumeClaim instead."
    ]


# --- sandboxed-no-privileged ---------------------------------------------------------------


def test_unprivileged_containers_pass() -> None:
    spec = _pod_spec()
    spec["containers"][0]["securityContext"]["privileged"] = False
    assert _messages(rules.sandboxed_no_privileged, _namespace(), _deployment(spec)) == []


def test_privileged_init_container_fails() -> None:
    spec = _pod_spec()
    spec["initContainers"][0]["securityContext"]["privileged"] = True
    assert _messages(rules.sandboxed_no_privileged, _namespace(), _deployment(spec)) == [
        'Deployment "web" container "init": spec.template.spec.initContainers[0]'
        ".securityContext.privileged is true; remove it or set it to false."
    ]


# --- sandboxed-no-host-namespaces ----------------------------------------------------------


def test_host_namespaces_set_false_pass() -> None:
    spec = _pod_spec()
    spec.update(hostNetwork=False, hostPID=False, hostIPC=False)
    assert _messages(rules.sandboxed_no_host_namespaces, _namespace(), _deployment(spec)) == []


def test_each_host_namespace_fails() -> None:
    spec = _pod_spec()
    spec.update(hostNetwork=True, hostPID=True, hostIPC=True)
    assert _messages(rules.sandboxed_no_host_namespaces, _namespace(), _deployment(spec)) == [
        f'Deployment "web": spec.template.spec.{field} is true; remove it or set it to false.'
        for field in ("hostNetwork", "hostPID", "hostIPC")
    ]


# --- sandboxed-run-as-non-root -------------------------------------------------------------


def test_run_as_non_root_on_the_container_alone_passes() -> None:
    spec = _pod_spec()
    del spec["securityContext"]
    for container in spec["initContainers"] + spec["containers"]:
        container["securityContext"]["runAsNonRoot"] = True
    assert _messages(rules.sandboxed_run_as_non_root, _namespace(), _deployment(spec)) == []


def test_container_overriding_run_as_non_root_fails() -> None:
    spec = _pod_spec()
    spec["containers"][0]["securityContext"]["runAsNonRoot"] = False
    assert _messages(rules.sandboxed_run_as_non_root, _namespace(), _deployment(spec)) == [
        'Deployment "web" container "app": spec.template.spec.containers[0].securityContext'
        ".runAsNonRoot is false; set it to true."
    ]


def test_run_as_non_root_unset_everywhere_names_the_pod_field() -> None:
    spec = _pod_spec()
    del spec["securityContext"]
    del spec["initContainers"]
    assert _messages(rules.sandboxed_run_as_non_root, _namespace(), _deployment(spec)) == [
        'Deployment "web" container "app": spec.template.spec.containers[0].securityContext'
        ".runAsNonRoot is not set and spec.template.spec.securityContext.runAsNonRoot is not "
        "set; set spec.template.spec.securityContext.runAsNonRoot to true."
    ]


def test_pod_level_run_as_non_root_false_fails() -> None:
    spec = _pod_spec()
    spec["securityContext"]["runAsNonRoot"] = False
    del spec["initContainers"]
    assert _messages(rules.sandboxed_run_as_non_root, _namespace(), _deployment(spec)) == [
        'Deployment "web" container "app": spec.template.spec.containers[0].securityContext'
        ".runAsNonRoot is not set and spec.template.spec.securityContext.runAsNonRoot is "
        "false; set spec.template.spec.securityContext.runAsNonRoot to true."
    ]


# --- sandboxed-read-only-root-filesystem ---------------------------------------------------


def test_read_only_root_filesystem_passes() -> None:
    policy = rules.sandboxed_read_only_root_filesystem
    assert _messages(policy, _namespace(), _deployment(_pod_spec())) == []


def test_writable_root_filesystem_fails() -> None:
    spec = _pod_spec()
    spec["containers"][0]["securityContext"]["readOnlyRootFilesystem"] = False
    del spec["initContainers"][0]["securityContext"]["readOnlyRootFilesystem"]
    policy = rules.sandboxed_read_only_root_filesystem
    assert _messages(policy, _namespace(), _deployment(spec)) == [
        'Deployment "web" container "init": spec.template.spec.initContainers[0]'
        ".securityContext.readOnlyRootFilesystem is not set; set it to true.",
        'Deployment "web" container "app": spec.template.spec.containers[0]'
        ".securityContext.readOnlyRootFilesystem is false; set it to true.",
    ]


# --- sandboxed-drop-all-capabilities -------------------------------------------------------


def test_drop_all_with_an_added_capability_passes() -> None:
    spec = _pod_spec()
    spec["containers"][0]["securityContext"]["capabilities"]["add"] = ["NET_BIND_SERVICE"]
    assert _messages(rules.sandboxed_drop_all_capabilities, _namespace(), _deployment(spec)) == []


def test_dropping_only_some_capabilities_fails() -> None:
    spec = _pod_spec()
    spec["containers"][0]["securityContext"]["capabilities"]["drop"] = ["NET_RAW"]
    assert _messages(rules.sandboxed_drop_all_capabilities, _namespace(), _deployment(spec)) == [
        'Deployment "web" container "app": spec.template.spec.containers[0].securityContext'
        '.capabilities.drop is ["NET_RAW"]; set it to ["ALL"].'
    ]


# --- sandboxed-resource-requests-limits ----------------------------------------------------


def test_requests_and_limits_pass() -> None:
    assert _messages(rules.sandboxed_resources, _namespace(), _deployment(_pod_spec())) == []


def test_missing_limits_on_an_init_container_fail() -> None:
    spec = _pod_spec()
    spec["initContainers"][0]["resources"] = {"requests": {"cpu": "50m"}}
    assert _messages(rules.sandboxed_resources, _namespace(), _deployment(spec)) == [
        'Deployment "web" container "init": spec.template.spec.initContainers[0].resources '
        "lacks requests.memory, limits.cpu, limits.memory; set cpu and memory under both "
        "requests and limits."
    ]


# --- gke-sandbox-node-pool -----------------------------------------------------------------


def _node_pool(**node_config: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "imageType": "COS_CONTAINERD",
        "sandboxConfig": {"type": "GVISOR"},
        "workloadMetadataConfig": {"mode": "GKE_METADATA"},
    }
    base.update(node_config)
    return {"cluster": "main", "nodeConfig": base}


def _pool_messages(props: dict[str, Any], name: str = "gv") -> list[str]:
    return _resource_messages(rules.gke_sandbox_node_pool, rules.NODE_POOL_TYPE, name, props)


def test_gvisor_pool_on_cos_with_gke_metadata_passes() -> None:
    props = _node_pool(imageType="cos_containerd")
    assert _pool_messages(props) == []


def test_gvisor_pool_on_ubuntu_without_gke_metadata_fails() -> None:
    props = _node_pool(
        imageType="UBUNTU_CONTAINERD", workloadMetadataConfig={"mode": "GCE_METADATA"}
    )
    assert _pool_messages(props) == [
        'NodePool "gv": nodeConfig.imageType is "UBUNTU_CONTAINERD"; GKE Sandbox needs it set '
        'to "COS_CONTAINERD".',
        'NodePool "gv": nodeConfig.workloadMetadataConfig.mode is "GCE_METADATA"; set it to '
        '"GKE_METADATA" so sandboxed pods cannot read the node\'s credentials.',
    ]


def test_legacy_sandbox_type_field_marks_a_gvisor_pool() -> None:
    props = _node_pool(sandboxConfig={"sandboxType": "gvisor"})
    del props["nodeConfig"]["imageType"]
    assert _pool_messages(props) == [
        'NodePool "gv": nodeConfig.imageType is not set; GKE Sandbox needs it set to '
        '"COS_CONTAINERD".'
    ]


def test_pool_without_sandbox_is_not_checked() -> None:
    props = _node_pool(imageType="UBUNTU_CONTAINERD")
    del props["nodeConfig"]["sandboxConfig"]
    assert _pool_messages(props, "sys") == []


# --- gke-prod-cluster ----------------------------------------------------------------------


def _cluster(**props: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "location": "europe-west1",
        "deletionProtection": True,
        "privateClusterConfig": {"enablePrivateNodes": True},
    }
    base.update(props)
    return base


def _cluster_messages(
    props: dict[str, Any], stack: str, config: dict[str, Any] | None = None
) -> list[str]:
    policy = rules.gke_prod_cluster
    return _resource_messages(policy, rules.CLUSTER_TYPE, "main", props, stack=stack, config=config)


def test_protected_private_prod_cluster_passes() -> None:
    props = _cluster()
    assert _cluster_messages(props, "prod") == []


def test_unprotected_public_prod_cluster_fails() -> None:
    props = _cluster(deletionProtection=False, privateClusterConfig={})
    assert _cluster_messages(props, "prod") == [
        'Cluster "main": deletionProtection is false in a production cluster (stack "prod"); '
        "set it to true.",
        'Cluster "main": privateClusterConfig.enablePrivateNodes is not set in a production '
        'cluster (stack "prod"); set it to true.',
    ]


def test_non_prod_stack_cluster_is_not_checked() -> None:
    props = _cluster(deletionProtection=False)
    assert _cluster_messages(props, "dev") == []


def test_prod_stacks_come_from_policy_config() -> None:
    props = _cluster(deletionProtection=False)
    config = {"prodStacks": ["production-eu"]}
    assert _cluster_messages(props, "production-eu", config) == [
        'Cluster "main": deletionProtection is false in a production cluster '
        '(stack "production-eu"); set it to true.'
    ]
    # With the list configured, "prod" is no longer special.
    assert _cluster_messages(props, "prod", config) == []


def test_environment_label_marks_prod_in_any_stack() -> None:
    props = _cluster(deletionProtection=False, resourceLabels={"environment": "prod"})
    assert _cluster_messages(props, "ops") == [
        'Cluster "main": deletionProtection is false in a production cluster '
        '(resourceLabels.environment "prod"); set it to true.'
    ]
