"""The admission policy's CEL, evaluated as the API server would, and the component under mocks.

``common-expression-language`` (cel-rust) evaluates the exact strings from kubesandbox.admission.
Its opt-in standard library provides the string functions Kubernetes adds to CEL (split, trim,
join). Like Kubernetes, it raises on a missing map key, so a guard that is missing shows up
here as an error instead of a silent pass.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from typing import Any, cast

import cel
import kubernetes_validate
import pulumi
import pulumi_kubernetes as k8s
import pytest
from cel.stdlib import add_stdlib_to_context
from pulumi.runtime.mocks import MockMonitor, MockResourceArgs

from kubesandbox import admission
from kubesandbox.admission import SandboxAdmission, SandboxAdmissionArgs
from kubesandbox.labels import ALLOWED_RUNTIME_CLASSES_ANNOTATION, SANDBOXED_LABEL

# --- a small model of the API server's evaluation -----------------------------------------


def _namespace(allowed: str | None = "gvisor, kata-qemu") -> dict[str, Any]:
    metadata: dict[str, Any] = {"name": "untrusted", "labels": {SANDBOXED_LABEL: "true"}}
    if allowed is not None:
        metadata["annotations"] = {ALLOWED_RUNTIME_CLASSES_ANNOTATION: allowed}
    return {"apiVersion": "v1", "kind": "Namespace", "metadata": metadata}


def _pod_spec(runtime_class: str | None) -> dict[str, Any]:
    spec: dict[str, Any] = {"containers": [{"name": "app", "image": "registry.example/app:1"}]}
    if runtime_class is not None:
        spec["runtimeClassName"] = runtime_class
    return spec


def _object(kind: str, runtime_class: str | None) -> dict[str, Any]:
    """An object of ``kind`` whose (only) pod spec has the given runtimeClassName."""
    pod_spec = _pod_spec(runtime_class)
    template = {"metadata": {"labels": {"app": "web"}}, "spec": pod_spec}
    if kind == "Pod":
        spec: dict[str, Any] = pod_spec
    elif kind == "CronJob":
        spec = {"schedule": "@daily", "jobTemplate": {"spec": {"template": template}}}
    else:
        spec = {"template": template}
    api_version = {"Pod": "v1", "Job": "batch/v1", "CronJob": "batch/v1"}.get(kind, "apps/v1")
    return {
        "apiVersion": api_version,
        "kind": kind,
        "metadata": {"name": "web", "namespace": "untrusted"},
        "spec": spec,
    }


def _evaluate(expression: str, context: dict[str, Any]) -> Any:
    ctx = cel.Context()
    add_stdlib_to_context(ctx)
    ctx.update(context)
    return cel.evaluate(expression, ctx)


def _admit(
    obj: dict[str, Any],
    namespace: dict[str, Any],
    operation: str = "CREATE",
    old_object: dict[str, Any] | None = None,
) -> str | None:
    """None when the request is admitted, else the message the API server would return."""
    context: dict[str, Any] = {
        "object": obj,
        "oldObject": old_object,
        "namespaceObject": namespace,
        "request": {"operation": operation},
    }
    if _evaluate(admission.MATCH_CONDITION_EXPRESSION, context) is not True:
        return None
    variables: dict[str, Any] = {}
    for name, expression in admission.VARIABLES:
        variables[name] = _evaluate(expression, {**context, "variables": variables})
    context["variables"] = variables
    if _evaluate(admission.VALIDATION_EXPRESSION, context) is True:
        return None
    message = _evaluate(admission.MESSAGE_EXPRESSION, context)
    assert isinstance(message, str)
    return message


KINDS = ["Pod", "Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "Job", "CronJob"]
FIELD = {
    "Pod": "spec.runtimeClassName",
    "CronJob": "spec.jobTemplate.spec.template.spec.runtimeClassName",
}


def _field(kind: str) -> str:
    return FIELD.get(kind, "spec.template.spec.runtimeClassName")


# --- CEL ----------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", KINDS)
def test_allowed_runtime_class_is_admitted(kind: str) -> None:
    assert _admit(_object(kind, "kata-qemu"), _namespace()) is None


@pytest.mark.parametrize("kind", KINDS)
def test_missing_runtime_class_is_denied(kind: str) -> None:
    assert _admit(_object(kind, None), _namespace()) == (
        f"{_field(kind)} is not set; set it to one of gvisor, kata-qemu"
    )


@pytest.mark.parametrize("kind", KINDS)
def test_runtime_class_outside_the_list_is_denied(kind: str) -> None:
    assert _admit(_object(kind, "runc"), _namespace()) == (
        f'{_field(kind)} is "runc", which namespace "untrusted" does not allow; '
        "set it to one of gvisor, kata-qemu"
    )


def test_cron_job_is_judged_by_its_job_template_not_a_top_level_template() -> None:
    cron_job = _object("CronJob", "runc")
    # A decoy in the place other kinds keep their template must not be read for a CronJob.
    cron_job["spec"]["template"] = {"spec": _pod_spec("gvisor")}
    assert _admit(cron_job, _namespace()) == (
        'spec.jobTemplate.spec.template.spec.runtimeClassName is "runc", which namespace '
        '"untrusted" does not allow; set it to one of gvisor, kata-qemu'
    )


@pytest.mark.parametrize("allowed", [None, "", " , "])
def test_namespace_without_allowed_classes_denies_everything(allowed: str | None) -> None:
    assert _admit(_object("Deployment", "gvisor"), _namespace(allowed)) == (
        'namespace "untrusted" allows no RuntimeClass; add annotation '
        "kubesandbox.io/allowed-runtime-classes (e.g. gvisor) to it and set "
        "spec.template.spec.runtimeClassName to a class it lists"
    )


def test_namespace_with_no_annotations_at_all_denies() -> None:
    namespace = _namespace(None)
    assert "annotations" not in namespace["metadata"]
    assert _admit(_object("Pod", "gvisor"), namespace) == (
        'namespace "untrusted" allows no RuntimeClass; add annotation '
        "kubesandbox.io/allowed-runtime-classes (e.g. gvisor) to it and set "
        "spec.runtimeClassName to a class it lists"
    )


def test_allowed_list_ignores_blanks_and_whitespace() -> None:
    context = {"namespaceObject": _namespace(" gvisor ,, kata-qemu,")}
    assert _evaluate(admission.ALLOWED_RUNTIME_CLASSES_EXPRESSION, context) == [
        "gvisor",
        "kata-qemu",
    ]


def test_runtime_class_names_match_exactly() -> None:
    assert _admit(_object("Pod", "gVisor"), _namespace("gvisor")) is not None


def test_update_that_changes_the_template_is_checked() -> None:
    old = _object("Deployment", "gvisor")
    new = _object("Deployment", "runc")
    assert _admit(new, _namespace(), "UPDATE", old) == (
        'spec.template.spec.runtimeClassName is "runc", which namespace "untrusted" does not '
        "allow; set it to one of gvisor, kata-qemu"
    )


def test_metadata_only_update_of_an_old_object_is_let_through() -> None:
    old = _object("Deployment", None)
    new = _object("Deployment", None)
    new["metadata"]["finalizers"] = []
    assert _admit(new, _namespace(), "UPDATE", old) is None
    # The same object is denied on CREATE, so the pass above comes from the match condition.
    assert _admit(new, _namespace(), "CREATE") is not None


# --- the component under Pulumi's mock engine ----------------------------------------------

# pulumi.runtime.test is untyped; this gives it the shape it has, for mypy --strict.
run_with_mocks = cast(Callable[[Callable[[], Any]], Callable[[], None]], pulumi.runtime.test)


class _Mocks(pulumi.runtime.Mocks):
    def __init__(self) -> None:
        self.created: list[MockResourceArgs] = []

    def new_resource(self, args: MockResourceArgs) -> tuple[str | None, dict[Any, Any]]:
        self.created.append(args)
        return f"{args.name}-id", dict(args.inputs)

    def call(
        self, args: pulumi.runtime.MockCallArgs
    ) -> tuple[dict[Any, Any], list[tuple[str, str]] | None]:
        # The component makes no invokes; an empty failure list, since None would not unpack.
        return {}, []


@pytest.fixture(autouse=True)
def _event_loop() -> Iterator[None]:
    # A fresh loop per test, so a task left over by one mock run cannot leak into the next.
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    yield
    loop.close()
    asyncio.set_event_loop(None)


@pytest.fixture
def mocks() -> tuple[_Mocks, MockMonitor]:
    fake = _Mocks()
    monitor = MockMonitor(fake)
    pulumi.runtime.set_mocks(fake, project="kubesandbox", stack="test", monitor=monitor)
    return fake, monitor


EXPECTED_POLICY_SPEC = {
    "failurePolicy": "Fail",
    "matchConstraints": {
        "matchPolicy": "Equivalent",
        "resourceRules": [
            {
                "apiGroups": [""],
                "apiVersions": ["v1"],
                "resources": ["pods"],
                "operations": ["CREATE", "UPDATE"],
            },
            {
                "apiGroups": ["apps"],
                "apiVersions": ["v1"],
                "resources": ["deployments", "statefulsets", "daemonsets", "replicasets"],
                "operations": ["CREATE", "UPDATE"],
            },
            {
                "apiGroups": ["batch"],
                "apiVersions": ["v1"],
                "resources": ["jobs", "cronjobs"],
                "operations": ["CREATE", "UPDATE"],
            },
        ],
    },
    "matchConditions": [
        {
            "name": "spec-changed",
            "expression": "request.operation != 'UPDATE' || object.spec != oldObject.spec",
        }
    ],
    "variables": [
        {"name": "podSpec", "expression": admission.POD_SPEC_EXPRESSION},
        {"name": "runtimeClassField", "expression": admission.RUNTIME_CLASS_FIELD_EXPRESSION},
        {
            "name": "allowedRuntimeClasses",
            "expression": admission.ALLOWED_RUNTIME_CLASSES_EXPRESSION,
        },
    ],
    "validations": [
        {
            "expression": admission.VALIDATION_EXPRESSION,
            "message": "runtimeClassName must be one of the RuntimeClasses in the namespace "
            "annotation kubesandbox.io/allowed-runtime-classes",
            "messageExpression": admission.MESSAGE_EXPRESSION,
            "reason": "Forbidden",
        }
    ],
}


def test_component_registers_the_policy_and_binding(mocks: tuple[_Mocks, MockMonitor]) -> None:
    fake, monitor = mocks

    @run_with_mocks
    def program() -> pulumi.Output[Any]:
        provider = k8s.Provider("sandbox-cluster", kubeconfig="{}")
        guard = SandboxAdmission("guard", opts=pulumi.ResourceOptions(providers=[provider]))
        return pulumi.Output.all(guard.policy_name, guard.binding_name, guard.urn)

    program()

    by_type = {args.typ: args for args in fake.created}
    policy = by_type["kubernetes:admissionregistration.k8s.io/v1:ValidatingAdmissionPolicy"]
    binding = by_type["kubernetes:admissionregistration.k8s.io/v1:ValidatingAdmissionPolicyBinding"]

    assert policy.name == "guard-policy"
    assert policy.inputs == {
        "apiVersion": "admissionregistration.k8s.io/v1",
        "kind": "ValidatingAdmissionPolicy",
        "metadata": {"name": "kubesandbox-sandboxed-runtime-class"},
        "spec": EXPECTED_POLICY_SPEC,
    }
    assert binding.name == "guard-binding"
    assert binding.inputs == {
        "apiVersion": "admissionregistration.k8s.io/v1",
        "kind": "ValidatingAdmissionPolicyBinding",
        "metadata": {"name": "kubesandbox-sandboxed-runtime-class-binding"},
        "spec": {
            "policyName": "kubesandbox-sandboxed-runtime-class",
            "validationActions": ["Deny"],
            "matchResources": {
                "namespaceSelector": {"matchLabels": {"kubesandbox.io/sandboxed": "true"}}
            },
        },
    }

    # Both children go to the explicit provider, not to the ambient kubeconfig.
    stack = "urn:pulumi:test::kubesandbox::pulumi:pulumi:Stack$"
    provider = f"{stack}pulumi:providers:kubernetes::sandbox-cluster::sandbox-cluster-id"
    assert policy.provider == binding.provider == provider

    # Children are parented: the mock engine prefixes their type with the component's.
    component = "urn:pulumi:test::kubesandbox::kubesandbox:index:SandboxAdmission$"
    policies = "kubernetes:admissionregistration.k8s.io/v1"
    assert {
        f"{component}{policies}:ValidatingAdmissionPolicy::guard-policy",
        f"{component}{policies}:ValidatingAdmissionPolicyBinding::guard-binding",
    } <= set(monitor.get_registered_resources())


@pytest.mark.parametrize("kubernetes_version", ["1.30.0", kubernetes_validate.latest_version()])
def test_registered_objects_match_the_kubernetes_schema(
    mocks: tuple[_Mocks, MockMonitor], kubernetes_version: str
) -> None:
    # admissionregistration.k8s.io/v1 ValidatingAdmissionPolicy is GA from Kubernetes 1.30.
    fake, _ = mocks

    @run_with_mocks
    def program() -> pulumi.Output[Any]:
        provider = k8s.Provider("sandbox-cluster", kubeconfig="{}")
        return SandboxAdmission("guard", opts=pulumi.ResourceOptions(providers=[provider])).urn

    program()
    admission_objects = [a.inputs for a in fake.created if "admissionregistration" in a.typ]
    assert len(admission_objects) == 2
    for manifest in admission_objects:
        # Strict: an unknown or misspelt field fails instead of being dropped by the server.
        kubernetes_validate.validate(manifest, kubernetes_version, strict=True)


def test_component_passes_custom_name_and_actions(mocks: tuple[_Mocks, MockMonitor]) -> None:
    fake, _ = mocks
    args = SandboxAdmissionArgs(policy_name="trial", validation_actions=("Warn", "Audit"))

    @run_with_mocks
    def program() -> pulumi.Output[Any]:
        provider = k8s.Provider("sandbox-cluster", kubeconfig="{}")
        guard = SandboxAdmission("guard", args, pulumi.ResourceOptions(providers=[provider]))
        return pulumi.Output.all(guard.policy_name, guard.binding_name).apply(check)

    def check(names: list[str]) -> None:
        assert names == ["trial", "trial-binding"]

    program()
    binding = next(a for a in fake.created if a.name == "guard-binding")
    assert binding.inputs["spec"]["policyName"] == "trial"
    assert binding.inputs["spec"]["validationActions"] == ["Warn", "Audit"]


def test_component_takes_the_provider_from_its_parent(mocks: tuple[_Mocks, MockMonitor]) -> None:
    fake, _ = mocks

    @run_with_mocks
    def program() -> pulumi.Output[Any]:
        provider = k8s.Provider("sandbox-cluster", kubeconfig="{}")
        platform = pulumi.ComponentResource(
            "kubesandbox:index:Platform",
            "platform",
            None,
            pulumi.ResourceOptions(providers=[provider]),
        )
        guard = SandboxAdmission("guard", opts=pulumi.ResourceOptions(parent=platform))
        return guard.policy_name

    program()
    policy = next(a for a in fake.created if a.name == "guard-policy")
    assert policy.provider == (
        "urn:pulumi:test::kubesandbox::pulumi:pulumi:Stack$pulumi:providers:kubernetes"
        "::sandbox-cluster::sandbox-cluster-id"
    )


def test_component_refuses_the_ambient_provider(mocks: tuple[_Mocks, MockMonitor]) -> None:
    fake, _ = mocks
    with pytest.raises(ValueError) as raised:
        SandboxAdmission("guard")
    assert str(raised.value) == (
        'SandboxAdmission "guard": no Kubernetes provider given; pass '
        "opts=pulumi.ResourceOptions(providers=[k8s_provider]) for the target cluster."
    )
    assert fake.created == []


def test_component_refuses_deny_with_warn(mocks: tuple[_Mocks, MockMonitor]) -> None:
    with pytest.raises(ValueError) as raised:
        SandboxAdmission("guard", SandboxAdmissionArgs(validation_actions=("Deny", "Warn")))
    assert str(raised.value) == (
        "SandboxAdmission \"guard\": validation_actions is ['Deny', 'Warn']; use [\"Deny\"], "
        'or any of "Warn" and "Audit" (Deny and Warn do not combine).'
    )
