"""The offline plan command and its diff, on real renders of the project's stacks."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from tools import plan, plan_diff


def render(stack: str, out: Path) -> Path:
    assert plan.main([stack, "--out", str(out)]) == 0
    return out


def test_render_writes_tree_manifests_and_json(tmp_path: Path) -> None:
    out = render("dev", tmp_path / "dev")
    tree = (out / "tree.txt").read_text()
    assert tree.startswith("stack dev: 35 resources\n")
    assert "gcp:container/nodePool:NodePool  dev-gvisor" in tree
    assert 'nodeConfig.sandboxConfig.type: "GVISOR"' in tree
    assert 'spec.template.spec.runtimeClassName: "gvisor"' in tree
    manifest = (out / "manifests" / "nginx" / "deployment-nginx.yaml").read_text()
    assert "runtimeClassName: gvisor" in manifest
    data = json.loads((out / "resources.json").read_text())
    assert len(data["resources"]) == 35


def test_identical_renders_say_no_changes(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    first = render("dev", tmp_path / "first")
    second = render("dev", tmp_path / "second")
    capsys.readouterr()
    assert plan_diff.main([str(first), str(second)]) == 0
    assert capsys.readouterr().out == "no changes\n"


def test_diff_reports_added_changed_and_removed(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    before = render("dev", tmp_path / "before")
    after = tmp_path / "after"
    shutil.copytree(before, after)
    path = after / "resources.json"
    data = json.loads(path.read_text())
    resources = data["resources"]
    pool = next(u for u, r in resources.items() if r["name"] == "dev-gvisor")
    resources[pool]["inputs"]["autoscaling"]["maxNodeCount"] = 6
    removed = next(u for u, r in resources.items() if r["name"] == "nginx-disruption-budget")
    del resources[removed]
    resources["urn:pulumi:dev::kubesandbox::test:index:Extra::extra"] = {
        "type": "test:index:Extra",
        "name": "extra",
        "parent": "",
        "provider": "",
        "inputs": {},
        "options": {},
    }
    path.write_text(json.dumps(data))
    capsys.readouterr()
    plan_diff.main([str(before), str(after)])
    assert capsys.readouterr().out.splitlines() == [
        "+ test:index:Extra  extra",
        "- kubernetes:policy/v1:PodDisruptionBudget  nginx-disruption-budget",
        "~ gcp:container/nodePool:NodePool  dev-gvisor",
        "    inputs.autoscaling.maxNodeCount: 3 → 6",
        "1 to add, 1 to change, 1 to delete",
    ]


def test_plan_diff_against_its_own_folder(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = render("staging", tmp_path / "staging")
    capsys.readouterr()
    assert plan.main(["staging", "--out", str(out), "--diff", str(out)]) == 0
    assert capsys.readouterr().out == "no changes\n"


def test_diff_between_stacks_shows_setting_changes(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    dev = render("dev", tmp_path / "dev")
    prod = render("prod", tmp_path / "prod")
    capsys.readouterr()
    plan_diff.main([str(dev), str(prod)])
    out = capsys.readouterr().out
    # URNs carry the stack name, so every resource of one is absent from the other.
    assert "- gcp:container/cluster:Cluster  dev-cluster" in out
    assert "+ gcp:container/cluster:Cluster  prod-cluster" in out


def test_unknown_stack_fails_with_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert plan.main(["qa", "--out", str(tmp_path / "qa")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert err.startswith("stack \"qa\": name = 'qa': no stack of that name is declared")
    assert not (tmp_path / "qa").exists()


def test_diff_refuses_a_folder_that_is_not_a_render(tmp_path: Path) -> None:
    with pytest.raises(SystemExit, match="is not an offline plan render"):
        plan_diff.main([str(tmp_path), str(tmp_path)])
