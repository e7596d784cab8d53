"""SandboxedWorkload under the mock engine: exact objects, hardening, provider and ordering."""

from __future__ import annotations

import pulumi
import pulumi_kubernetes as k8s
import pytest

from kubesandbox import (
    GKE_GVISOR,
    Egress,
    Resources,
    SandboxedWorkload,
    SandboxedWorkloadArgs,
    SpecError,
    Workload,
)
from tests.conftest import run
from tools.engine import Plan

RUNNER = Workload(
    name="runner",
    image="registry.example/runner:1.2.3",
    runtime=GKE_GVISOR,
    replicas=2,
    port=8080,
    resources=Resources(cpu="500m", memory="512Mi", cpu_limit="1"),
    egress=Egress.INTERNET,
    ingress_from_namespaces=("frontend",),
)


def deploy(workload: Workload) -> Plan:
    def program() -> None:
        provider = k8s.Provider("cluster", kubeconfig="unused")
        pool = pulumi.CustomResource("test:index:Pool", "pool")
        SandboxedWorkload(
            "runner",
            SandboxedWorkloadArgs(workload=workload, wait_for=[pool]),
            opts=pulumi.ResourceOptions(providers=[provider]),
        )

    return run(program)


def test_registers_each_object_under_the_component() -> None:
    plan = deploy(RUNNER)
    component = plan.named("runner")
    assert component.type == "kubesandbox:index:SandboxedWorkload"
    children = sorted((r.type, r.name) for r in plan.resources if r.parent == component.urn)
    assert children == [
        ("kubernetes:apps/v1:Deployment", "runner-deployment"),
        ("kubernetes:core/v1:Namespace", "runner-namespace"),
        ("kubernetes:core/v1:Service", "runner-service"),
        ("kubernetes:core/v1:ServiceAccount", "runner-service-account"),
        ("kubernetes:networking.k8s.io/v1:NetworkPolicy", "runner-default-deny"),
        ("kubernetes:networking.k8s.io/v1:NetworkPolicy", "runner-runner-egress"),
        ("kubernetes:networking.k8s.io/v1:NetworkPolicy", "runner-runner-ingress"),
        ("kubernetes:policy/v1:PodDisruptionBudget", "runner-disruption-budget"),
    ]


def test_every_object_goes_through_the_given_provider() -> None:
    plan = deploy(RUNNER)
    provider = plan.named("cluster").urn
    kubernetes = [r for r in plan.resources if r.type.startswith("kubernetes:")]
    assert len(kubernetes) == 8
    assert {r.provider for r in kubernetes} == {provider}


def test_namespace_is_restricted_and_marked_sandboxed() -> None:
    namespace = deploy(RUNNER).named("runner-namespace").inputs
    assert namespace["metadata"] == {
        "name": "runner",
        "labels": {
            "pod-security.kubernetes.io/enforce": "restricted",
            "pod-security.kubernetes.io/audit": "restricted",
            "pod-security.kubernetes.io/warn": "restricted",
            "kubesandbox.io/sandboxed": "true",
            "app.kubernetes.io/managed-by": "pulumi",
        },
        "annotations": {"kubesandbox.io/allowed-runtime-classes": "gvisor"},
    }


def test_pod_runs_in_gvisor_hardened_for_restricted() -> None:
    deployment = deploy(RUNNER).named("runner-deployment").inputs
    pod = deployment["spec"]["template"]["spec"]
    assert pod["runtimeClassName"] == "gvisor"
    assert pod["automountServiceAccountToken"] is False
    assert pod["serviceAccountName"] == "runner"
    assert pod["securityContext"] == {
        "runAsNonRoot": True,
        "runAsUser": 65532,
        "runAsGroup": 65532,
        "seccompProfile": {"type": "RuntimeDefault"},
    }
    assert pod["nodeSelector"] == {"sandbox.gke.io/runtime": "gvisor"}
    assert pod["tolerations"] == [
        {
            "key": "sandbox.gke.io/runtime",
            "operator": "Equal",
            "value": "gvisor",
            "effect": "NoSchedule",
        }
    ]
    [container] = pod["containers"]
    assert container["securityContext"] == {
        "allowPrivilegeEscalation": False,
        "readOnlyRootFilesystem": True,
        "runAsNonRoot": True,
        "runAsUser": 65532,
        "runAsGroup": 65532,
        "capabilities": {"drop": ["ALL"]},
    }
    assert container["resources"] == {
        "requests": {"cpu": "500m", "memory": "512Mi"},
        "limits": {"cpu": "1", "memory": "512Mi"},
    }
    assert container["volumeMounts"] == [{"name": "scratch-0", "mountPath": "/tmp"}]
    assert pod["volumes"] == [{"name": "scratch-0", "emptyDir": {"sizeLimit": "256Mi"}}]


def test_container_pulls_on_every_start_and_is_probed_on_its_port() -> None:
    pod = deploy(RUNNER).named("runner-deployment").inputs["spec"]["template"]["spec"]
    [container] = pod["containers"]
    assert container["imagePullPolicy"] == "Always"
    assert container["readinessProbe"] == {"tcpSocket": {"port": 8080}, "periodSeconds": 10}
    assert container["livenessProbe"] == {
        "tcpSocket": {"port": 8080},
        "initialDelaySeconds": 30,
        "periodSeconds": 20,
        "failureThreshold": 3,
    }


def test_workload_without_a_port_has_no_probes() -> None:
    plan = deploy(Workload(name="runner", image="r/runner:1", runtime=GKE_GVISOR, port=None))
    [container] = plan.named("runner-deployment").inputs["spec"]["template"]["spec"]["containers"]
    assert "readinessProbe" not in container
    assert "livenessProbe" not in container


def test_rollout_fails_fast_and_waits_for_the_sandbox_pool() -> None:
    plan = deploy(RUNNER)
    deployment = plan.named("runner-deployment")
    assert deployment.inputs["spec"]["progressDeadlineSeconds"] == 300
    assert deployment.custom_timeouts == {"create": "360s", "update": "360s"}
    assert plan.named("pool").urn in deployment.dependencies
    assert plan.named("runner-namespace").urn in deployment.dependencies


def test_service_account_has_no_token() -> None:
    account = deploy(RUNNER).named("runner-service-account").inputs
    assert account["automountServiceAccountToken"] is False


def test_network_policies_deny_by_default_and_block_the_metadata_server() -> None:
    plan = deploy(RUNNER)
    assert plan.named("runner-default-deny").inputs["spec"] == {
        "podSelector": {},
        "policyTypes": ["Ingress", "Egress"],
    }
    egress = plan.named("runner-runner-egress").inputs["spec"]["egress"]
    assert egress[1] == {
        "to": [
            {
                "ipBlock": {
                    "cidr": "0.0.0.0/0",
                    "except": [
                        "169.254.169.254/32",
                        "10.0.0.0/8",
                        "172.16.0.0/12",
                        "192.168.0.0/16",
                    ],
                }
            }
        ]
    }
    ingress = plan.named("runner-runner-ingress").inputs["spec"]["ingress"]
    assert ingress == [
        {
            "from": [
                {"podSelector": {}},
                {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "frontend"}}},
            ],
            "ports": [{"protocol": "TCP", "port": 8080}],
        }
    ]


def test_no_egress_means_no_egress_policy() -> None:
    plan = deploy(Workload(name="runner", image="r/runner:1", runtime=GKE_GVISOR))
    policies = [r.name for r in plan.of_type("kubernetes:networking.k8s.io/v1:NetworkPolicy")]
    assert sorted(policies) == ["runner-default-deny", "runner-runner-ingress"]


def test_disruption_budget_never_blocks_drains() -> None:
    budget = deploy(RUNNER).named("runner-disruption-budget").inputs
    assert budget["spec"] == {
        "maxUnavailable": 1,
        "selector": {"matchLabels": {"app.kubernetes.io/name": "runner"}},
    }


def test_bad_workload_registers_nothing() -> None:
    registered: list[Plan] = []
    with pytest.raises(SpecError) as raised:
        registered.append(
            deploy(Workload(name="runner", image="r/x:1", runtime=GKE_GVISOR, privileged=True))
        )
    assert str(raised.value) == (
        'workload "runner": privileged = True: a privileged container defeats the sandbox; '
        "remove it"
    )
    assert registered == []
