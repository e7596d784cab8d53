"""A sandboxed workload: its namespace, identity, Deployment, Service, disruption budget and
network policies, all hardened for Pod Security `restricted` and for running under a sandbox."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_kubernetes as k8s

from kubesandbox import workload_spec
from kubesandbox.children import Child
from kubesandbox.errors import Problem, raise_if_any
from kubesandbox.labels import ALLOWED_RUNTIME_CLASSES_ANNOTATION, MANAGED_BY, SANDBOXED_LABEL
from kubesandbox.pod_template import (
    container_security_context,
    pod_security_context,
    runtime_placement,
)
from kubesandbox.workload_spec import Egress, Workload

# The metadata server hands out node and workload credentials. Sandboxed code must never reach it.
METADATA_SERVER = "169.254.169.254/32"
# Cluster-internal and VPC addresses stay closed even when a workload may reach the internet.
PRIVATE_RANGES = ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16")
# Time Pulumi allows beyond the rollout's own deadline, so Kubernetes' reason is what surfaces.
_AWAIT_MARGIN_SECONDS = 60

# Children, by the suffix on the component's name. Renaming one adds its old suffix to `previous`.
NAMESPACE = Child("namespace")
SERVICE_ACCOUNT = Child("service-account")
DEPLOYMENT = Child("deployment")
SERVICE = Child("service")
DISRUPTION_BUDGET = Child("disruption-budget")


@dataclass(frozen=True)
class SandboxedWorkloadArgs:
    """Inputs of a SandboxedWorkload."""

    workload: Workload
    """The workload to deploy."""
    wait_for: Sequence[pulumi.Resource] = ()
    """Resources the pods need first, such as the sandbox node pool, so pods never race nodes."""
    runtime_scheduling: bool = True
    """Repeat the runtime's nodeSelector and tolerations on the pods; False where the platform
    places sandboxed pods itself (GKE Autopilot)."""
    create_namespace: bool = True
    """Create the workload's namespace, labelled Pod Security `restricted` and sandboxed. False
    deploys into an existing namespace, named explicitly in `Workload.namespace`, whose owner must
    label it; the NetworkPolicies then cover only this workload's pods, not the namespace."""


class SandboxedWorkload(pulumi.ComponentResource):
    """Namespace, ServiceAccount, Deployment, Service, PodDisruptionBudget and NetworkPolicies
    of one workload. Pass the Kubernetes provider in `opts.providers`."""

    namespace: k8s.core.v1.Namespace | None
    """The namespace created for the workload; None with `create_namespace=False`."""
    namespace_name: pulumi.Output[str]
    """Name of the namespace the workload runs in, once it exists."""
    deployment: k8s.apps.v1.Deployment
    """The workload's Deployment."""
    service: k8s.core.v1.Service | None
    """The ClusterIP Service in front of the port; None when the workload has no port."""

    def __init__(
        self,
        name: str,
        args: SandboxedWorkloadArgs,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        workload = args.workload
        raise_if_any(f'workload "{name}"', workload_spec.problems(workload) + args_problems(args))
        super().__init__("kubesandbox:index:SandboxedWorkload", name, None, opts)
        labels = {"app.kubernetes.io/name": workload.name, **MANAGED_BY}

        if args.create_namespace:
            self.namespace = k8s.core.v1.Namespace(
                NAMESPACE.name(name),
                metadata={
                    "name": workload.namespace_name,
                    "labels": {**namespace_labels(), **MANAGED_BY},
                    "annotations": {
                        ALLOWED_RUNTIME_CLASSES_ANNOTATION: workload.runtime.class_name
                    },
                },
                opts=NAMESPACE.options(self, name),
            )
            # Children name the namespace through its output, so none is created before it.
            namespace = self.namespace.metadata.apply(lambda m: str(m["name"]))
        else:
            self.namespace = None
            namespace = pulumi.Output.from_input(workload.namespace_name)
            pulumi.log.warn(
                f'namespace "{workload.namespace_name}" is not created here, so nothing here '
                "labels it: for Pod Security restricted and the sandbox admission policy its owner "
                f"must set {', '.join(f'{k}={v}' for k, v in namespace_labels().items())} and "
                f"annotation {ALLOWED_RUNTIME_CLASSES_ANNOTATION}={workload.runtime.class_name}",
                resource=self,
            )
        self.namespace_name = namespace

        k8s.core.v1.ServiceAccount(
            SERVICE_ACCOUNT.name(name),
            metadata={"name": workload.name, "namespace": namespace, "labels": labels},
            # Untrusted code gets no Kubernetes API credentials.
            automount_service_account_token=False,
            opts=SERVICE_ACCOUNT.options(self, name),
        )

        deadline = workload.progress_deadline_seconds
        timeout = f"{deadline + _AWAIT_MARGIN_SECONDS}s"
        self.deployment = k8s.apps.v1.Deployment(
            DEPLOYMENT.name(name),
            metadata={"name": workload.name, "namespace": namespace, "labels": labels},
            spec={
                "replicas": workload.replicas,
                # A pod that cannot schedule or start fails the rollout within this deadline,
                # and `pulumi up` reports Kubernetes' reason instead of waiting ten minutes.
                "progressDeadlineSeconds": deadline,
                "selector": {"matchLabels": {"app.kubernetes.io/name": workload.name}},
                "strategy": {
                    "type": "RollingUpdate",
                    "rollingUpdate": {"maxSurge": 1, "maxUnavailable": 0},
                },
                "template": {
                    "metadata": {"labels": labels},
                    "spec": pod_spec(workload, runtime_scheduling=args.runtime_scheduling),
                },
            },
            opts=DEPLOYMENT.options(
                self,
                name,
                pulumi.ResourceOptions(
                    depends_on=list(args.wait_for),
                    custom_timeouts=pulumi.CustomTimeouts(create=timeout, update=timeout),
                ),
            ),
        )

        self.service = None
        if workload.port is not None:
            self.service = k8s.core.v1.Service(
                SERVICE.name(name),
                metadata={"name": workload.name, "namespace": namespace, "labels": labels},
                spec={
                    "type": "ClusterIP",
                    "selector": {"app.kubernetes.io/name": workload.name},
                    "ports": [{"name": "http", "port": 80, "targetPort": workload.port}],
                },
                opts=SERVICE.options(self, name),
            )

        k8s.policy.v1.PodDisruptionBudget(
            DISRUPTION_BUDGET.name(name),
            metadata={"name": workload.name, "namespace": namespace, "labels": labels},
            # maxUnavailable rather than minAvailable: a single-replica workload must not block
            # node upgrades forever.
            spec={
                "maxUnavailable": 1,
                "selector": {"matchLabels": {"app.kubernetes.io/name": workload.name}},
            },
            opts=DISRUPTION_BUDGET.options(self, name),
        )

        policies = network_policies(workload, whole_namespace=args.create_namespace)
        for policy_name, spec in policies.items():
            policy = Child(policy_name)
            k8s.networking.v1.NetworkPolicy(
                policy.name(name),
                metadata={"name": policy_name, "namespace": namespace, "labels": labels},
                spec=spec,
                opts=policy.options(self, name),
            )

        self.register_outputs(
            {
                "namespace": namespace,
                "deployment": self.deployment.metadata.apply(lambda m: m["name"]),
                "runtime_class": workload.runtime.class_name,
            }
        )


def args_problems(args: SandboxedWorkloadArgs) -> list[Problem]:
    """Ways the component's own settings cannot work with the workload."""
    if not args.create_namespace and args.workload.namespace is None:
        return [
            Problem(
                "namespace",
                None,
                "create_namespace=False deploys into an existing namespace, which must be "
                "named; set namespace",
            )
        ]
    return []


def namespace_labels() -> dict[str, str]:
    """Pod Security `restricted`, enforced, audited and warned, plus the sandboxed marker."""
    return {
        "pod-security.kubernetes.io/enforce": "restricted",
        "pod-security.kubernetes.io/audit": "restricted",
        "pod-security.kubernetes.io/warn": "restricted",
        SANDBOXED_LABEL: "true",
    }


def pod_spec(workload: Workload, *, runtime_scheduling: bool = True) -> dict[str, Any]:
    """The pod template's spec, as the Kubernetes API spells it."""
    runtime = workload.runtime
    container: dict[str, Any] = {
        "name": workload.name,
        "image": workload.image,
        # Always: the kubelet then checks on every start that this pod may pull the image,
        # instead of reusing a copy another tenant's pod pulled onto the shared node.
        "imagePullPolicy": "Always",
        "resources": {
            "requests": workload.resources.requests,
            "limits": workload.resources.limits,
        },
        "securityContext": container_security_context(
            workload.run_as_user, workload.add_capabilities
        ),
        "volumeMounts": [
            {"name": _volume_name(i), "mountPath": path}
            for i, path in enumerate(workload.writable_paths)
        ],
    }
    if workload.command:
        container["command"] = list(workload.command)
    if workload.args:
        container["args"] = list(workload.args)
    if workload.env:
        container["env"] = [{"name": k, "value": v} for k, v in sorted(workload.env.items())]
    if workload.port is not None:
        container["ports"] = [{"name": "http", "containerPort": workload.port}]
        container["readinessProbe"] = {
            "tcpSocket": {"port": workload.port},
            "periodSeconds": 10,
        }
        # A container that stops accepting connections is restarted. The first check waits for
        # a slow start under the sandbox; three misses in a row are needed, not one.
        container["livenessProbe"] = {
            "tcpSocket": {"port": workload.port},
            "initialDelaySeconds": 30,
            "periodSeconds": 20,
            "failureThreshold": 3,
        }
    spec: dict[str, Any] = {
        "runtimeClassName": runtime.class_name,
        "serviceAccountName": workload.name,
        "automountServiceAccountToken": False,
        # Service links would expose every Service in the namespace as environment variables.
        "enableServiceLinks": False,
        "securityContext": pod_security_context(workload.run_as_user),
        "containers": [container],
        "volumes": [
            {"name": _volume_name(i), "emptyDir": {"sizeLimit": workload.scratch_size}}
            for i in range(len(workload.writable_paths))
        ],
    }
    if runtime_scheduling:
        spec.update(runtime_placement(runtime))
    return spec


def network_policies(
    workload: Workload, *, whole_namespace: bool = True
) -> dict[str, dict[str, Any]]:
    """NetworkPolicies by name: deny everything, then open only what the workload declares.

    In a namespace of its own the denial covers every pod there. In a shared one
    (`whole_namespace=False`) it covers only the workload's pods and carries the workload's name,
    so it neither cuts off the namespace's other pods nor clashes with another workload's."""
    selector = {"matchLabels": {"app.kubernetes.io/name": workload.name}}
    deny_name = "default-deny" if whole_namespace else f"{workload.name}-default-deny"
    policies: dict[str, dict[str, Any]] = {
        deny_name: {
            "podSelector": {} if whole_namespace else selector,
            "policyTypes": ["Ingress", "Egress"],
        },
    }
    if workload.port is not None:
        sources: list[dict[str, Any]] = [{"podSelector": {}}]
        sources += [
            {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": namespace}}}
            for namespace in workload.ingress_from_namespaces
        ]
        policies[f"{workload.name}-ingress"] = {
            "podSelector": selector,
            "policyTypes": ["Ingress"],
            "ingress": [{"from": sources, "ports": [{"protocol": "TCP", "port": workload.port}]}],
        }
    if workload.egress is not Egress.NONE:
        rules: list[dict[str, Any]] = [
            {
                "to": [
                    {
                        "namespaceSelector": {
                            "matchLabels": {"kubernetes.io/metadata.name": "kube-system"}
                        },
                        "podSelector": {"matchLabels": {"k8s-app": "kube-dns"}},
                    }
                ],
                "ports": [{"protocol": "UDP", "port": 53}, {"protocol": "TCP", "port": 53}],
            }
        ]
        if workload.egress is Egress.INTERNET:
            rules.append(
                {
                    "to": [
                        {
                            "ipBlock": {
                                "cidr": "0.0.0.0/0",
                                "except": [METADATA_SERVER, *PRIVATE_RANGES],
                            }
                        }
                    ]
                }
            )
        policies[f"{workload.name}-egress"] = {
            "podSelector": selector,
            "policyTypes": ["Egress"],
            "egress": rules,
        }
    return policies


def _volume_name(index: int) -> str:
    return f"scratch-{index}"
