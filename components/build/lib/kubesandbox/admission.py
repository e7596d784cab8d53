"""In-cluster admission check that sandboxed pods name an allowed RuntimeClass.

The policy pack only sees what a Pulumi stack deploys. Anything applied another way (kubectl,
Helm, a controller, another stack) reaches the API server unchecked, so the same rule is also
enforced there by a ValidatingAdmissionPolicy, bound to namespaces with the sandboxed label.

The CEL strings are module constants so tests can evaluate exactly what the cluster runs.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import pulumi
from pulumi_kubernetes.admissionregistration import v1 as admission_v1
from pulumi_kubernetes.meta import v1 as meta_v1

from kubesandbox.labels import ALLOWED_RUNTIME_CLASSES_ANNOTATION, SANDBOXED_LABEL

__all__ = [
    "ALLOWED_RUNTIME_CLASSES_EXPRESSION",
    "MATCH_CONDITION_EXPRESSION",
    "MESSAGE_EXPRESSION",
    "POD_SPEC_EXPRESSION",
    "RUNTIME_CLASS_FIELD_EXPRESSION",
    "VALIDATION_EXPRESSION",
    "VARIABLES",
    "SandboxAdmission",
    "SandboxAdmissionArgs",
]

# The annotation key holds "/" and ".", so CEL must index it as a map key, not select it.
_ANNOTATIONS = "namespaceObject.metadata.annotations"
_ALLOWED = f"{_ANNOTATIONS}['{ALLOWED_RUNTIME_CLASSES_ANNOTATION}']"

POD_SPEC_EXPRESSION = (
    "object.kind == 'Pod' ? object.spec"
    " : object.kind == 'CronJob' ? object.spec.jobTemplate.spec.template.spec"
    " : object.spec.template.spec"
)
"""The PodSpec of a Pod, of a CronJob's job template, or of any other workload's template."""

RUNTIME_CLASS_FIELD_EXPRESSION = (
    "object.kind == 'Pod' ? 'spec.runtimeClassName'"
    " : object.kind == 'CronJob' ? 'spec.jobTemplate.spec.template.spec.runtimeClassName'"
    " : 'spec.template.spec.runtimeClassName'"
)
"""The path of runtimeClassName in this kind, for the denial message."""

ALLOWED_RUNTIME_CLASSES_EXPRESSION = (
    f"has({_ANNOTATIONS}) && '{ALLOWED_RUNTIME_CLASSES_ANNOTATION}' in {_ANNOTATIONS}"
    f" ? {_ALLOWED}.split(',').map(c, c.trim()).filter(c, c != '')"
    " : []"
)
"""The namespace's allowed RuntimeClass names; empty when the annotation is absent or blank."""

VARIABLES: tuple[tuple[str, str], ...] = (
    ("podSpec", POD_SPEC_EXPRESSION),
    ("runtimeClassField", RUNTIME_CLASS_FIELD_EXPRESSION),
    ("allowedRuntimeClasses", ALLOWED_RUNTIME_CLASSES_EXPRESSION),
)
"""Policy variables, in the order the API server evaluates them (later ones may use earlier)."""

VALIDATION_EXPRESSION = (
    "has(variables.podSpec.runtimeClassName)"
    " && variables.podSpec.runtimeClassName in variables.allowedRuntimeClasses"
)
"""True when the pod template names a RuntimeClass the namespace lists."""

MESSAGE_EXPRESSION = (
    "size(variables.allowedRuntimeClasses) == 0"
    " ? 'namespace \"' + namespaceObject.metadata.name + '\" allows no RuntimeClass; add"
    f" annotation {ALLOWED_RUNTIME_CLASSES_ANNOTATION} (e.g. gvisor) to it and set '"
    " + variables.runtimeClassField + ' to a class it lists'"
    " : (has(variables.podSpec.runtimeClassName)"
    " ? variables.runtimeClassField + ' is \"' + variables.podSpec.runtimeClassName"
    " + '\", which namespace \"' + namespaceObject.metadata.name + '\" does not allow'"
    " : variables.runtimeClassField + ' is not set')"
    " + '; set it to one of ' + variables.allowedRuntimeClasses.join(', ')"
)
"""The denial message: what is wrong and which value to set."""

MATCH_CONDITION_EXPRESSION = "request.operation != 'UPDATE' || object.spec != oldObject.spec"
"""Skip updates that leave spec alone (labels, finalizers) so old objects can still be removed."""

_STATIC_MESSAGE = (
    f"runtimeClassName must be one of the RuntimeClasses in the namespace annotation "
    f"{ALLOWED_RUNTIME_CLASSES_ANNOTATION}"
)

_VALIDATION_ACTIONS = frozenset({"Deny", "Warn", "Audit"})


@dataclass(frozen=True)
class SandboxAdmissionArgs:
    """Settings of a SandboxAdmission; the defaults enforce."""

    policy_name: str = "kubesandbox-sandboxed-runtime-class"
    """Kubernetes name of the ValidatingAdmissionPolicy; the binding adds "-binding"."""

    validation_actions: Sequence[str] = ("Deny",)
    """What the API server does on a violation: "Deny", or "Warn"/"Audit" to try it first."""


def _check_args(name: str, args: SandboxAdmissionArgs) -> None:
    actions = set(args.validation_actions)
    if not actions or not actions <= _VALIDATION_ACTIONS or {"Deny", "Warn"} <= actions:
        raise ValueError(
            f'SandboxAdmission "{name}": validation_actions is {list(args.validation_actions)}; '
            'use ["Deny"], or any of "Warn" and "Audit" (Deny and Warn do not combine).'
        )


def _has_kubernetes_provider(opts: pulumi.ResourceOptions | None) -> bool:
    if opts is None:
        return False
    providers = opts.providers
    candidates = (
        list(providers.values()) if isinstance(providers, Mapping) else list(providers or [])
    )
    if opts.provider is not None:
        candidates.append(opts.provider)
    if any(provider.package == "kubernetes" for provider in candidates):
        return True
    return opts.parent is not None and opts.parent.get_provider("kubernetes::") is not None


class SandboxAdmission(pulumi.ComponentResource):
    """A ValidatingAdmissionPolicy and its binding that keep sandboxed namespaces on their
    allowed RuntimeClasses, for Pods and for the pod templates of every workload kind."""

    policy_name: pulumi.Output[str]
    """Kubernetes name of the ValidatingAdmissionPolicy."""

    binding_name: pulumi.Output[str]
    """Kubernetes name of the ValidatingAdmissionPolicyBinding."""

    def __init__(
        self,
        name: str,
        args: SandboxAdmissionArgs | None = None,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        args = args if args is not None else SandboxAdmissionArgs()
        _check_args(name, args)
        # With the default provider the policy lands wherever the ambient kubeconfig points,
        # and the intended cluster stays unguarded with no error; so the cluster must be named.
        if not _has_kubernetes_provider(opts):
            raise ValueError(
                f'SandboxAdmission "{name}": no Kubernetes provider given; pass '
                "opts=pulumi.ResourceOptions(providers=[k8s_provider]) for the target cluster."
            )
        super().__init__("kubesandbox:index:SandboxAdmission", name, None, opts)

        self.policy = admission_v1.ValidatingAdmissionPolicy(
            f"{name}-policy",
            metadata=meta_v1.ObjectMetaArgs(name=args.policy_name),
            spec=admission_v1.ValidatingAdmissionPolicySpecArgs(
                # Fail closed: an expression that cannot run must not let a pod through.
                failure_policy="Fail",
                match_constraints=admission_v1.MatchResourcesArgs(
                    # Equivalent also catches requests made through other versions of these APIs.
                    match_policy="Equivalent",
                    resource_rules=_resource_rules(),
                ),
                match_conditions=[
                    admission_v1.MatchConditionArgs(
                        name="spec-changed", expression=MATCH_CONDITION_EXPRESSION
                    )
                ],
                variables=[
                    admission_v1.VariableArgs(name=var_name, expression=expression)
                    for var_name, expression in VARIABLES
                ],
                validations=[
                    admission_v1.ValidationArgs(
                        expression=VALIDATION_EXPRESSION,
                        message=_STATIC_MESSAGE,
                        message_expression=MESSAGE_EXPRESSION,
                        reason="Forbidden",
                    )
                ],
            ),
            opts=pulumi.ResourceOptions(parent=self),
        )

        binding_name = f"{args.policy_name}-binding"
        self.binding = admission_v1.ValidatingAdmissionPolicyBinding(
            f"{name}-binding",
            metadata=meta_v1.ObjectMetaArgs(name=binding_name),
            spec=admission_v1.ValidatingAdmissionPolicyBindingSpecArgs(
                policy_name=args.policy_name,
                validation_actions=list(args.validation_actions),
                match_resources=admission_v1.MatchResourcesArgs(
                    namespace_selector=meta_v1.LabelSelectorArgs(
                        match_labels={SANDBOXED_LABEL: "true"}
                    ),
                ),
            ),
            # The binding names the policy by string, so the ordering has to be stated.
            opts=pulumi.ResourceOptions(parent=self, depends_on=[self.policy]),
        )

        self.policy_name = self.policy.metadata.apply(lambda meta: meta.name or args.policy_name)
        self.binding_name = self.binding.metadata.apply(lambda meta: meta.name or binding_name)
        self.register_outputs({"policyName": self.policy_name, "bindingName": self.binding_name})


def _resource_rules() -> list[admission_v1.NamedRuleWithOperationsArgs]:
    # Pods are checked too: a controller outside the list (or a bare kubectl run) creates them.
    kinds = (
        ("", ["pods"]),
        ("apps", ["deployments", "statefulsets", "daemonsets", "replicasets"]),
        ("batch", ["jobs", "cronjobs"]),
    )
    return [
        admission_v1.NamedRuleWithOperationsArgs(
            api_groups=[group],
            api_versions=["v1"],
            resources=resources,
            operations=["CREATE", "UPDATE"],
        )
        for group, resources in kinds
    ]
