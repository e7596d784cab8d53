"""KataContainers under the mock engine: the kata-deploy release, its values and the classes."""

from __future__ import annotations

import dataclasses
from typing import Any

import pulumi
import pulumi_kubernetes as k8s
import pytest

from kubesandbox import SpecError
from kubesandbox.kata import (
    KATA_DEPLOY_CHART,
    KataContainers,
    KataContainersArgs,
    KataDeploy,
    KataShim,
    chart_values,
    problems,
)
from kubesandbox.runtime import Isolation, NodeLabel, Toleration
from tests.conftest import run
from tools.engine import Plan

DEDICATED = Toleration("kubesandbox.io/kata", "true")
KATA = KataDeploy(
    chart_version="4.1.0", shims=(KataShim.QEMU, KataShim.CLH), tolerations=(DEDICATED,)
)


def create(kata: KataDeploy = KATA) -> Plan:
    def program() -> None:
        provider = k8s.Provider("cluster", context="test")
        KataContainers(
            "kata",
            KataContainersArgs(kata=kata),
            opts=pulumi.ResourceOptions(providers=[provider]),
        )

    return run(program)


def test_release_installs_the_pinned_chart_into_its_own_namespace() -> None:
    plan = create()
    component = plan.named("kata")
    assert component.type == "kubesandbox:index:KataContainers"
    release = plan.named("kata-kata-deploy")
    assert release.type == "kubernetes:helm.sh/v3:Release"
    assert release.parent == component.urn
    assert release.provider == plan.named("cluster").urn
    assert release.inputs["chart"] == "oci://ghcr.io/kata-containers/kata-deploy-charts/kata-deploy"
    assert release.inputs["chart"] == KATA_DEPLOY_CHART
    assert release.inputs["version"] == "4.1.0"
    assert release.inputs["name"] == "kata-deploy"
    assert release.inputs["namespace"] == "kata-deploy"
    assert release.inputs["createNamespace"] is False
    assert plan.named("kata-namespace").urn in release.dependencies
    assert plan.named("kata-namespace").inputs["metadata"]["labels"] == {
        "pod-security.kubernetes.io/enforce": "privileged",
        "pod-security.kubernetes.io/warn": "privileged",
        "app.kubernetes.io/managed-by": "pulumi",
    }


def test_values_install_only_the_chosen_shims_on_opted_in_nodes_without_chart_classes() -> None:
    expected = {
        "k8sDistribution": "k8s",
        "nodeSelector": {"kubesandbox.io/kata": "true"},
        "tolerations": [
            {
                "key": "kubesandbox.io/kata",
                "operator": "Equal",
                "value": "true",
                "effect": "NoSchedule",
            }
        ],
        "shims": {"disableAll": True, "qemu": {"enabled": True}, "clh": {"enabled": True}},
        "defaultShim": {"amd64": "qemu", "arm64": "qemu"},
        "runtimeClasses": {"enabled": False, "createDefault": False},
    }
    assert chart_values(KATA) == expected
    assert create().named("kata-kata-deploy").inputs["values"] == expected


def test_one_class_per_shim_with_kata_deploys_overhead_label_and_the_tolerations() -> None:
    plan = create()
    classes = {
        r.inputs["metadata"]["name"]: r.inputs
        for r in plan.of_type("kubernetes:node.k8s.io/v1:RuntimeClass")
    }
    assert sorted(classes) == ["kata-clh", "kata-qemu"]
    toleration = {
        "key": "kubesandbox.io/kata",
        "operator": "Equal",
        "value": "true",
        "effect": "NoSchedule",
    }
    assert classes["kata-qemu"]["handler"] == "kata-qemu"
    assert classes["kata-qemu"]["overhead"] == {"podFixed": {"cpu": "250m", "memory": "320Mi"}}
    assert classes["kata-clh"]["overhead"] == {"podFixed": {"cpu": "250m", "memory": "130Mi"}}
    for inputs in classes.values():
        assert inputs["scheduling"] == {
            "nodeSelector": {"katacontainers.io/kata-runtime": "true"},
            "tolerations": [toleration],
        }
    release = plan.named("kata-kata-deploy").urn
    for name in ("kata-classes-kata-qemu", "kata-classes-kata-clh"):
        assert release in plan.named(name).dependencies
        assert plan.named(name).replace_on_changes == ("handler",)


def test_firecracker_overhead_and_runtime_reference() -> None:
    assert KataShim.FC.overhead.memory == "130Mi"
    runtime = KATA.runtime(KataShim.QEMU)
    assert runtime.class_name == "kata-qemu"
    assert runtime.handler == "kata-qemu"
    assert runtime.isolation is Isolation.KATA
    assert runtime.tolerations == (DEDICATED,)


BAD: dict[str, tuple[dict[str, Any], str]] = {
    "old chart": (
        {"chart_version": "3.20.0"},
        "chart_version = '3.20.0': is older than 3.23.0, whose values (shims, runtimeClasses) "
        "this program sets; pin 3.23.0 or later",
    ),
    "floating chart": (
        {"chart_version": "latest"},
        "chart_version = 'latest': must be a release such as \"4.1.0\"",
    ),
    "no shim": ({"shims": ()}, "shims = []: name at least one shim, e.g. KataShim.QEMU"),
    "duplicate shim": (
        {"shims": (KataShim.QEMU, KataShim.QEMU)},
        "shims = 'qemu': appears 2 times; each must be unique",
    ),
    "unknown distribution": (
        {"k8s_distribution": "openshift"},
        "k8s_distribution = 'openshift': must be one of k8s, k3s, rke2, k0s, microk8s",
    ),
    "kata's own label as opt-in": (
        {"opt_in_label": NodeLabel("katacontainers.io/kata-runtime")},
        "opt_in_label = 'katacontainers.io/kata-runtime=true': kata-deploy sets that label "
        "itself; pick a label of your own",
    ),
}


@pytest.mark.parametrize("case", BAD)
def test_bad_kata_spec_is_refused_with_one_line(case: str) -> None:
    changes, expected = BAD[case]
    found = problems(dataclasses.replace(KATA, **changes))
    assert [p.render("x").removeprefix("x: ") for p in found] == [expected]


def test_sound_spec_has_no_problem() -> None:
    assert problems(KATA) == []
    assert problems(dataclasses.replace(KATA, chart_version="3.23.0")) == []


def test_component_refuses_before_registering_its_resources() -> None:
    with pytest.raises(SpecError) as raised:
        create(dataclasses.replace(KATA, chart_version="3.20.0"))
    assert str(raised.value).startswith("Kata \"kata\": chart_version = '3.20.0'")
