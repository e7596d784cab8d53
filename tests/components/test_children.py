"""Renaming a component's child keeps its URN through an alias, so a refactor replaces nothing.

The mock engine records the alias; `tools.plan_diff` resolves it against the earlier render's
URNs, as the real engine would against its state. What mocks cannot show is the engine actually
finding that URN in a real state file.
"""

from __future__ import annotations

import json
from pathlib import Path

import pulumi
import pulumi_kubernetes as k8s
import pytest

from kubesandbox import GKE_GVISOR, Child, SandboxedWorkload, SandboxedWorkloadArgs, Workload
from kubesandbox import workload as workload_module
from tests.conftest import run
from tools import plan_diff, render
from tools.engine import Plan

WEB = Workload(name="web", image="registry.example/web:2.0.0", runtime=GKE_GVISOR)
COMPONENT = "urn:pulumi:test::kubesandbox::kubesandbox:index:SandboxedWorkload"


def deploy() -> Plan:
    def program() -> None:
        provider = k8s.Provider("cluster", kubeconfig="unused")
        SandboxedWorkload(
            "web",
            SandboxedWorkloadArgs(workload=WEB),
            opts=pulumi.ResourceOptions(providers=[provider]),
        )

    return run(program)


def write(plan: Plan, out: Path) -> Path:
    render.write(plan, "test", out)
    return out


@pytest.fixture
def renamed_deployment(monkeypatch: pytest.MonkeyPatch) -> None:
    """The refactor under test: the Deployment child's suffix changes, the old one kept."""
    monkeypatch.setattr(workload_module, "DEPLOYMENT", Child("rollout", previous=("deployment",)))


def test_child_names_derive_from_the_component_name() -> None:
    assert Child("deployment").name("web") == "web-deployment"


def test_children_carry_no_alias_of_their_own_until_renamed() -> None:
    plan = deploy()
    ours = [a for r in plan.resources for a in r.aliases if '"name"' in a]
    assert ours == []


@pytest.mark.usefixtures("renamed_deployment")
def test_renamed_child_is_aliased_to_its_old_urn() -> None:
    deployment = deploy().named("web-rollout")
    resource = render.as_json(deploy())["resources"][deployment.urn]
    assert f"{COMPONENT}$kubernetes:apps/v1:Deployment::web-deployment" in plan_diff.alias_urns(
        deployment.urn, resource
    )


def test_refactor_plans_a_rename_and_no_replacement(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    before = write(deploy(), tmp_path / "before")
    monkeypatch.setattr(workload_module, "DEPLOYMENT", Child("rollout", previous=("deployment",)))
    after = write(deploy(), tmp_path / "after")
    lines = plan_diff.diff(plan_diff.load(before), plan_diff.load(after))
    assert lines == ["> kubernetes:apps/v1:Deployment  web-deployment → web-rollout"]
    assert plan_diff.summary(lines) == "0 to add, 0 to change, 0 to delete, 1 renamed"


def test_rename_without_alias_plans_a_replacement(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    before = write(deploy(), tmp_path / "before")
    monkeypatch.setattr(workload_module, "DEPLOYMENT", Child("rollout"))
    after = write(deploy(), tmp_path / "after")
    lines = plan_diff.diff(plan_diff.load(before), plan_diff.load(after))
    assert lines == [
        "+ kubernetes:apps/v1:Deployment  web-rollout",
        "- kubernetes:apps/v1:Deployment  web-deployment",
    ]


def test_a_renamed_child_that_also_changed_shows_its_changes(tmp_path: Path) -> None:
    before = write(deploy(), tmp_path / "before")
    data = json.loads((before / "resources.json").read_text())
    old_urn = next(u for u, r in data["resources"].items() if r["name"] == "web-deployment")
    resource = data["resources"].pop(old_urn)
    new_urn = old_urn.replace("::web-deployment", "::web-rollout")
    resource["name"] = "web-rollout"
    resource["inputs"]["spec"]["replicas"] = 3
    resource["options"]["aliases"] = [json.dumps({"spec": {"name": "web-deployment"}})]
    data["resources"][new_urn] = resource
    assert plan_diff.diff(plan_diff.load(before), data) == [
        "> kubernetes:apps/v1:Deployment  web-deployment → web-rollout",
        "    inputs.spec.replicas: 2 → 3",
    ]
