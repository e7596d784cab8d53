"""RuntimeClasses under the mock engine: the object, its replacement options, and its checks."""

from __future__ import annotations

import pulumi
import pulumi_kubernetes as k8s
import pytest

from kubesandbox import SpecError
from kubesandbox.runtime import Isolation, Runtime, Toleration
from kubesandbox.runtime_classes import (
    Overhead,
    RuntimeClasses,
    RuntimeClassesArgs,
    RuntimeClassSpec,
    problems,
)
from tests.conftest import run
from tools.engine import Plan

TAINT = Toleration("kubesandbox.io/sandbox", "gvisor")
SPEC = RuntimeClassSpec(
    name="gvisor",
    handler="runsc",
    isolation=Isolation.GVISOR,
    overhead=Overhead(cpu="100m", memory="64Mi"),
    node_selector={"kubesandbox.io/gvisor-ready": "true"},
    tolerations=(TAINT,),
)


def create(*classes: RuntimeClassSpec, gke_managed: bool = False) -> Plan:
    def program() -> None:
        provider = k8s.Provider("cluster", context="test")
        RuntimeClasses(
            "rc",
            RuntimeClassesArgs(classes=list(classes), gke_managed=gke_managed),
            opts=pulumi.ResourceOptions(providers=[provider]),
        )

    return run(program)


def test_creates_one_runtime_class_per_spec_under_the_component() -> None:
    plan = create(SPEC)
    component = plan.named("rc")
    assert component.type == "kubesandbox:index:RuntimeClasses"
    runtime_class = plan.named("rc-gvisor")
    assert runtime_class.type == "kubernetes:node.k8s.io/v1:RuntimeClass"
    assert runtime_class.parent == component.urn
    assert runtime_class.provider == plan.named("cluster").urn


def test_runtime_class_has_handler_overhead_and_scheduling() -> None:
    inputs = create(SPEC).named("rc-gvisor").inputs
    assert inputs["apiVersion"] == "node.k8s.io/v1"
    assert inputs["kind"] == "RuntimeClass"
    assert inputs["metadata"] == {
        "name": "gvisor",
        "labels": {"app.kubernetes.io/managed-by": "pulumi"},
    }
    assert inputs["handler"] == "runsc"
    assert inputs["overhead"] == {"podFixed": {"cpu": "100m", "memory": "64Mi"}}
    assert inputs["scheduling"] == {
        "nodeSelector": {"kubesandbox.io/gvisor-ready": "true"},
        "tolerations": [
            {
                "key": "kubesandbox.io/sandbox",
                "operator": "Equal",
                "value": "gvisor",
                "effect": "NoSchedule",
            }
        ],
    }


def test_a_class_without_overhead_or_scheduling_declares_neither() -> None:
    bare = RuntimeClassSpec(name="plain", handler="runsc", isolation=Isolation.GVISOR)
    inputs = create(bare).named("rc-plain").inputs
    assert "overhead" not in inputs
    assert "scheduling" not in inputs


def test_handler_change_replaces_the_class_deleting_it_first() -> None:
    runtime_class = create(SPEC).named("rc-gvisor")
    assert runtime_class.replace_on_changes == ("handler",)
    assert runtime_class.delete_before_replace is True


def test_runtime_is_the_same_reference_type_workloads_use() -> None:
    assert SPEC.runtime == Runtime(
        class_name="gvisor",
        handler="runsc",
        isolation=Isolation.GVISOR,
        node_selector={"kubesandbox.io/gvisor-ready": "true"},
        tolerations=(TAINT,),
    )
    assert SPEC.runtime.managed_by_gke is False


BAD = {
    "gvisor on GKE": (
        SPEC,
        True,
        "[\"gvisor\"].name = 'gvisor': GKE creates and owns RuntimeClass gvisor on this platform; "
        "use GKE_GVISOR or give this class another name",
    ),
    "name not a subdomain": (
        RuntimeClassSpec(name="GVisor_1", handler="runsc", isolation=Isolation.GVISOR),
        False,
        "[\"GVisor_1\"].name = 'GVisor_1': must be a DNS subdomain: lowercase letters, digits, "
        "'-' and '.', at most 253",
    ),
    "handler not a label": (
        RuntimeClassSpec(name="sandbox.example", handler="run.sc", isolation=Isolation.GVISOR),
        False,
        "[\"sandbox.example\"].handler = 'run.sc': must be a DNS label: at most 63 lowercase "
        "letters, digits or '-', starting and ending with a letter or digit",
    ),
    "handler runc": (
        RuntimeClassSpec(name="fake", handler="runc", isolation=Isolation.GVISOR),
        False,
        "[\"fake\"].handler = 'runc': runc is containerd's unsandboxed default",
    ),
    "bad overhead": (
        RuntimeClassSpec(
            name="kata-qemu",
            handler="kata-qemu",
            isolation=Isolation.KATA,
            overhead=Overhead(cpu="a lot", memory="160Mi"),
        ),
        False,
        "[\"kata-qemu\"].overhead.cpu = 'a lot': must be a Kubernetes quantity above zero, such "
        "as 250m or 160Mi",
    ),
    "bad toleration effect": (
        RuntimeClassSpec(
            name="kata-qemu",
            handler="kata-qemu",
            isolation=Isolation.KATA,
            tolerations=(Toleration("dedicated", "kata", "NO_SCHEDULE"),),
        ),
        False,
        '["kata-qemu"].tolerations["dedicated"].effect = \'NO_SCHEDULE\': must be one of '
        "NoSchedule, PreferNoSchedule, NoExecute",
    ),
}


@pytest.mark.parametrize("case", BAD)
def test_bad_class_is_refused_with_one_line(case: str) -> None:
    spec, gke_managed, expected = BAD[case]
    assert [
        p.render("x").removeprefix("x: ") for p in problems([spec], gke_managed=gke_managed)
    ] == [expected]


def test_gvisor_name_is_fine_where_gke_does_not_own_it() -> None:
    assert problems([SPEC], gke_managed=False) == []


def test_duplicate_names_are_refused() -> None:
    [problem] = problems([SPEC, SPEC], gke_managed=False)
    assert problem.render("x") == "x: [].name = 'gvisor': appears 2 times; each must be unique"


def test_component_refuses_before_registering_a_class() -> None:
    with pytest.raises(SpecError) as raised:
        create(SPEC, gke_managed=True)
    assert str(raised.value).startswith('runtime classes "rc": ["gvisor"].name = \'gvisor\'')
