"""SandboxSmokeTest under the mock engine: the Job, its hardening, its name and its result."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import kubernetes_validate
import pulumi
import pulumi_kubernetes as k8s
import pytest

from kubesandbox import (
    GKE_GVISOR,
    Isolation,
    Resources,
    Runtime,
    SandboxSmokeTest,
    SandboxSmokeTestArgs,
    SpecError,
)
from kubesandbox.smoke_test import DEFAULT_IMAGE, check_script, job_name, outcome, pod_template
from tests.conftest import run
from tools.engine import UNKNOWN, Plan

SCRIPT = Path(__file__).resolve().parents[2] / "components/kubesandbox/smoke/check-sandbox.sh"

KATA = Runtime(
    class_name="kata-qemu",
    handler="kata-qemu",
    isolation=Isolation.KATA,
    node_selector={"katacontainers.io/kata-runtime": "true"},
)


def deploy(args: SandboxSmokeTestArgs, wait: bool = True) -> Plan:
    def program() -> None:
        provider = k8s.Provider("cluster", kubeconfig="unused")
        deployment = pulumi.CustomResource("test:index:Deployment", "deployment")
        waited: Sequence[pulumi.Resource] = [deployment] if wait else []
        smoke = SandboxSmokeTest(
            "runner-smoke",
            replace(args, wait_for=waited),
            opts=pulumi.ResourceOptions(providers=[provider]),
        )
        pulumi.export("smoke_test", smoke.result)

    return run(program)


def gvisor(**changes: Any) -> SandboxSmokeTestArgs:
    """A gVisor check in namespace "runner", with the given fields changed."""
    return replace(SandboxSmokeTestArgs(namespace="runner", runtime=GKE_GVISOR), **changes)


def test_registers_one_job_under_the_component_through_the_provider() -> None:
    plan = deploy(gvisor())
    component = plan.named("runner-smoke")
    assert component.type == "kubesandbox:index:SandboxSmokeTest"
    children = sorted((r.type, r.name) for r in plan.resources if r.parent == component.urn)
    assert children == [
        ("kubernetes:batch/v1:Job", "runner-smoke-job"),
        ("kubernetes:networking.k8s.io/v1:NetworkPolicy", "runner-smoke-network-policy"),
    ]
    provider = plan.named("cluster").urn
    assert {r.provider for r in plan.resources if r.parent == component.urn} == {provider}


def test_pod_is_fenced_off_the_network_before_it_starts() -> None:
    plan = deploy(gvisor())
    policy = plan.named("runner-smoke-network-policy")
    assert policy.inputs["metadata"]["name"] == "smoke-gvisor-deny-all"
    assert policy.inputs["metadata"]["namespace"] == "runner"
    assert policy.inputs["spec"] == {
        "podSelector": {"matchLabels": {"app.kubernetes.io/name": "sandbox-smoke-test"}},
        "policyTypes": ["Ingress", "Egress"],
    }
    assert policy.urn in plan.named("runner-smoke-job").dependencies


def test_job_runs_once_within_its_deadline_and_stays_as_the_record() -> None:
    job = deploy(gvisor()).named("runner-smoke-job")
    spec = job.inputs["spec"]
    assert spec["backoffLimit"] == 0
    assert spec["activeDeadlineSeconds"] == 300
    assert "ttlSecondsAfterFinished" not in spec
    assert spec["template"]["spec"]["restartPolicy"] == "Never"
    assert job.custom_timeouts == {"create": "360s", "update": "360s"}
    assert job.inputs["metadata"]["namespace"] == "runner"
    assert job.inputs["metadata"]["labels"] == {
        "app.kubernetes.io/name": "sandbox-smoke-test",
        "app.kubernetes.io/managed-by": "pulumi",
    }


def test_job_waits_for_what_it_is_given() -> None:
    plan = deploy(gvisor())
    assert plan.named("deployment").urn in plan.named("runner-smoke-job").dependencies


def test_pod_runs_under_gvisor_on_sandbox_nodes_hardened_for_restricted() -> None:
    pod = deploy(gvisor()).named("runner-smoke-job").inputs["spec"]["template"]["spec"]
    assert pod["runtimeClassName"] == "gvisor"
    assert pod["nodeSelector"] == {"sandbox.gke.io/runtime": "gvisor"}
    assert pod["tolerations"] == [
        {
            "key": "sandbox.gke.io/runtime",
            "operator": "Equal",
            "value": "gvisor",
            "effect": "NoSchedule",
        }
    ]
    assert pod["automountServiceAccountToken"] is False
    assert pod["enableServiceLinks"] is False
    assert pod["securityContext"] == {
        "runAsNonRoot": True,
        "runAsUser": 65534,
        "runAsGroup": 65534,
        "seccompProfile": {"type": "RuntimeDefault"},
    }
    [container] = pod["containers"]
    assert container["securityContext"] == {
        "allowPrivilegeEscalation": False,
        "readOnlyRootFilesystem": True,
        "runAsNonRoot": True,
        "runAsUser": 65534,
        "runAsGroup": 65534,
        "capabilities": {"drop": ["ALL"]},
    }
    assert container["resources"] == {
        "requests": {"cpu": "50m", "memory": "64Mi"},
        "limits": {"cpu": "50m", "memory": "64Mi"},
    }
    assert container["image"] == "busybox:1.37.0"
    assert container["imagePullPolicy"] == "Always"
    assert container["terminationMessagePolicy"] == "FallbackToLogsOnError"


def test_container_runs_the_packaged_check_for_the_runtimes_isolation() -> None:
    pod = deploy(gvisor()).named("runner-smoke-job").inputs["spec"]["template"]["spec"]
    [container] = pod["containers"]
    assert check_script() == SCRIPT.read_text()
    assert container["command"] == ["/bin/sh", "-c", SCRIPT.read_text(), "check-sandbox"]
    assert container["args"] == ["gvisor"]


def test_kata_check_gets_the_node_kernel_and_kata_nodes() -> None:
    plan = deploy(gvisor(runtime=KATA, node_kernel="6.8.0-1015-gcp"))
    pod = plan.named("runner-smoke-job").inputs["spec"]["template"]["spec"]
    assert pod["runtimeClassName"] == "kata-qemu"
    assert pod["nodeSelector"] == {"katacontainers.io/kata-runtime": "true"}
    assert "tolerations" not in pod
    assert pod["containers"][0]["args"] == ["kata", "6.8.0-1015-gcp"]


def test_name_is_a_dns_label_stable_across_runs() -> None:
    first = deploy(gvisor()).named("runner-smoke-job").inputs["metadata"]["name"]
    second = deploy(gvisor()).named("runner-smoke-job").inputs["metadata"]["name"]
    assert first == second
    assert first.startswith("smoke-gvisor-")
    assert len(first) == len("smoke-gvisor-") + 10
    assert len(job_name(Runtime("a." * 60 + "b", "h", Isolation.GVISOR), {}, {})) <= 63


@pytest.mark.parametrize(
    "change",
    [
        {"image": "busybox:1.36.1"},
        {"runtime": KATA},
        {"resources": Resources(cpu="100m", memory="64Mi")},
        {"triggers": {"node_version": "1.34.1-gke.100"}},
    ],
    ids=["image", "runtime", "resources", "trigger"],
)
def test_name_changes_with_what_the_check_depends_on(change: dict[str, object]) -> None:
    before = job_name(GKE_GVISOR, pod_template(gvisor()), {})
    args = gvisor(**change)
    assert job_name(args.runtime, pod_template(args), args.triggers) != before


def test_name_ignores_namespace_deadline_and_what_the_job_waits_for() -> None:
    # None of them changes what the pod checks; the deadline is updated in place.
    names = {
        deploy(args, wait=wait).named("runner-smoke-job").inputs["metadata"]["name"]
        for args in (gvisor(), gvisor(namespace="other"), gvisor(timeout_seconds=600))
        for wait in (True, False)
    }
    assert len(names) == 1


def test_result_is_unknown_until_the_job_has_run() -> None:
    assert deploy(gvisor()).outputs == {"smoke_test": UNKNOWN}


def test_result_reads_the_jobs_conditions() -> None:
    complete = {
        "conditions": [
            {"type": "SuccessCriteriaMet", "status": "True"},
            {"type": "Complete", "status": "True"},
        ],
        "succeeded": 1,
    }
    failed = {
        "conditions": [{"type": "Failed", "status": "True", "reason": "BackoffLimitExceeded"}]
    }
    assert outcome(GKE_GVISOR, "runner", complete) == "passed: gvisor (gvisor) in runner"
    assert outcome(KATA, "runner", failed) == (
        "failed: kata-qemu (kata) in runner: BackoffLimitExceeded"
    )
    assert outcome(GKE_GVISOR, "runner", {"active": 1}) == "not finished: gvisor (gvisor) in runner"
    assert outcome(GKE_GVISOR, "runner", None) == "not finished: gvisor (gvisor) in runner"


@pytest.mark.parametrize("version", ["1.30", "1.34"])
def test_job_matches_the_openapi_schema(version: str) -> None:
    job = dict(deploy(gvisor(runtime=KATA, node_kernel="6.8.0")).named("runner-smoke-job").inputs)
    kubernetes_validate.validate(job, version, strict=True)


def test_bad_arguments_register_nothing() -> None:
    registered: list[Plan] = []
    with pytest.raises(SpecError) as raised:
        registered.append(deploy(gvisor(image="busybox", timeout_seconds=10, node_kernel="6.8.0")))
    assert str(raised.value) == "\n".join(
        [
            "smoke test \"runner-smoke\": image = 'busybox': must name a tag or digest, "
            "e.g. repo/app:1.2.3",
            'smoke test "runner-smoke": timeout_seconds = 10: must be at least 30 so that an '
            "image pull is not reported as a failed check",
            "smoke test \"runner-smoke\": node_kernel = '6.8.0': only a Kata check compares "
            "kernels; gVisor's is told by its kernel log, so remove it",
        ]
    )
    assert registered == []


def test_default_image_is_pinned() -> None:
    assert DEFAULT_IMAGE == "busybox:1.37.0"
