"""SandboxedWorkload with create_namespace=False: deploys into a namespace someone else owns."""

from __future__ import annotations

import dataclasses

import pulumi
import pulumi_kubernetes as k8s
import pytest

from kubesandbox import GKE_GVISOR, SandboxedWorkload, SandboxedWorkloadArgs, SpecError, Workload
from tests.conftest import run
from tools.engine import Plan

WEB = Workload(name="web", image="registry.example/web:2.0.0", runtime=GKE_GVISOR, namespace="team")


def deploy(workload: Workload = WEB) -> Plan:
    def program() -> None:
        provider = k8s.Provider("cluster", kubeconfig="unused")
        SandboxedWorkload(
            "web",
            SandboxedWorkloadArgs(workload=workload, create_namespace=False),
            opts=pulumi.ResourceOptions(providers=[provider]),
        )

    return run(program)


def test_creates_no_namespace_and_uses_the_named_one() -> None:
    plan = deploy()
    assert plan.of_type("kubernetes:core/v1:Namespace") == []
    namespaced = [r for r in plan.resources if r.type.startswith("kubernetes:")]
    assert sorted(r.name for r in namespaced) == [
        "web-deployment",
        "web-disruption-budget",
        "web-service",
        "web-service-account",
        "web-web-default-deny",
        "web-web-ingress",
    ]
    assert {r.inputs["metadata"]["namespace"] for r in namespaced} == {"team"}


def test_default_deny_covers_only_the_workloads_pods() -> None:
    deny = deploy().named("web-web-default-deny").inputs
    assert deny["metadata"]["name"] == "web-default-deny"
    assert deny["spec"] == {
        "podSelector": {"matchLabels": {"app.kubernetes.io/name": "web"}},
        "policyTypes": ["Ingress", "Egress"],
    }


def test_warns_that_the_namespace_owner_must_label_it(caplog: pytest.LogCaptureFixture) -> None:
    deploy()
    assert [r.getMessage() for r in caplog.records if "is not created here" in r.getMessage()] == [
        'namespace "team" is not created here, so nothing here labels it: for Pod Security '
        "restricted and the sandbox admission policy its owner must set "
        "pod-security.kubernetes.io/enforce=restricted, "
        "pod-security.kubernetes.io/audit=restricted, "
        "pod-security.kubernetes.io/warn=restricted, kubesandbox.io/sandboxed=true and annotation "
        "kubesandbox.io/allowed-runtime-classes=gvisor"
    ]


def test_refuses_an_unnamed_existing_namespace() -> None:
    with pytest.raises(SpecError) as error:
        deploy(dataclasses.replace(WEB, namespace=None))
    assert str(error.value) == (
        'workload "web": namespace = None: create_namespace=False deploys into an existing '
        "namespace, which must be named; set namespace"
    )
