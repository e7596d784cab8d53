"""The GitHub Actions workflows pass zizmor and actionlint, and keep the project's own rules.

A linter that is not installed skips its test on a workstation but fails it in CI (CI=true), so
a missing install step cannot turn the check into a silent pass.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
WORKFLOWS = ROOT / ".github" / "workflows"
STACKS = ["dev", "staging", "prod"]

# A full commit SHA followed by the release it was taken from, e.g. `@<40 hex> # v6.0.3`.
PINNED = re.compile(r"^\s*-?\s*uses:\s*[\w.-]+/[\w./-]+@[0-9a-f]{40} # v\d+\.\d+\.\d+\s*$")
SELF_REPOSITORY = re.compile(r"^\s*-?\s*uses:\s*\$/\S+\s*$")


def tool(name: str) -> str:
    """Path of a linter, from the running virtualenv first, then PATH; fail or skip if absent."""
    beside_python = Path(sys.executable).parent / name
    found = str(beside_python) if beside_python.exists() else shutil.which(name)
    if found:
        return found
    message = f"{name} is not installed; see requirements-dev.txt and .ci/run"
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(message)
    pytest.skip(message)


def workflow(name: str) -> dict[Any, Any]:
    loaded: dict[Any, Any] = yaml.safe_load((WORKFLOWS / name).read_text(encoding="utf-8"))
    return loaded


def workflow_files() -> list[Path]:
    return sorted(WORKFLOWS.glob("*.yml"))


def test_zizmor_finds_nothing() -> None:
    result = subprocess.run(
        [
            tool("zizmor"),
            "--offline",
            "--persona=pedantic",
            "--no-progress",
            "--config",
            str(ROOT / ".github" / "zizmor.yml"),
            str(WORKFLOWS),
        ],
        capture_output=True,
        text=True,
        check=False,
        cwd=ROOT,
    )

    assert result.returncode == 0, result.stdout + result.stderr


def test_actionlint_finds_nothing() -> None:
    result = subprocess.run(
        [
            tool("actionlint"),
            "-no-color",
            "-config-file",
            str(ROOT / ".github" / "actionlint.yaml"),
        ],
        capture_output=True,
        text=True,
        check=False,
        cwd=ROOT,
    )

    assert result.returncode == 0, result.stdout + result.stderr


def test_shellcheck_is_there_for_actionlint() -> None:
    # actionlint checks `run:` scripts only when shellcheck is on PATH, and says nothing otherwise.
    assert tool("shellcheck")


@pytest.mark.parametrize("path", workflow_files(), ids=lambda p: p.name)
def test_every_action_is_pinned_to_a_commit_with_its_release(path: Path) -> None:
    uses = [line for line in path.read_text(encoding="utf-8").splitlines() if "uses:" in line]

    loose = [
        line.strip() for line in uses if not (PINNED.match(line) or SELF_REPOSITORY.match(line))
    ]

    assert uses
    assert loose == []


@pytest.mark.parametrize("path", workflow_files(), ids=lambda p: p.name)
def test_workflows_grant_nothing_by_default(path: Path) -> None:
    assert workflow(path.name)["permissions"] == {}


@pytest.mark.parametrize("path", workflow_files(), ids=lambda p: p.name)
def test_checkouts_do_not_keep_the_token(path: Path) -> None:
    checkouts = [
        step
        for job in workflow(path.name)["jobs"].values()
        for step in job.get("steps", [])
        if str(step.get("uses", "")).startswith("actions/checkout@")
    ]

    assert all(step["with"]["persist-credentials"] is False for step in checkouts)


def test_pull_request_jobs_and_their_permissions() -> None:
    jobs = workflow("pull-request.yml")["jobs"]

    assert {name: job["permissions"] for name, job in jobs.items()} == {
        "test": {"contents": "read"},
        "plan": {"contents": "read"},
        "comment": {"contents": "read", "pull-requests": "write"},
        "preview": {"contents": "read", "id-token": "write", "pull-requests": "write"},
    }
    assert jobs["plan"]["strategy"]["matrix"]["stack"] == STACKS
    assert jobs["preview"]["strategy"]["matrix"]["stack"] == STACKS
    same_repository = "github.event.pull_request.head.repo.full_name == github.repository"
    assert same_repository in jobs["comment"]["if"]
    assert jobs["preview"]["if"] == same_repository


def test_preview_comments_a_rich_diff_on_the_pull_request() -> None:
    steps = workflow("pull-request.yml")["jobs"]["preview"]["steps"]
    pulumi = next(s for s in steps if s.get("uses", "").startswith("pulumi/actions@"))

    assert pulumi["with"]["command"] == "preview"
    assert pulumi["with"]["diff"] is True
    assert pulumi["with"]["comment-on-pr"] is True


def test_deploy_goes_dev_then_staging_then_prod_each_in_its_environment() -> None:
    jobs = workflow("deploy.yml")["jobs"]
    called = workflow("pulumi-up.yml")["jobs"]["up"]

    assert list(jobs) == STACKS
    assert [jobs[name].get("needs") for name in STACKS] == [None, "dev", "staging"]
    assert [jobs[name]["with"]["stack"] for name in STACKS] == STACKS
    assert called["environment"] == "${{ inputs.stack }}"
    assert called["concurrency"] == {
        "group": "pulumi-up-${{ inputs.stack }}",
        "cancel-in-progress": False,
    }


def test_drift_check_expects_no_changes_after_refresh_on_every_stack() -> None:
    document = workflow("drift.yml")
    job = document["jobs"]["drift"]
    pulumi = next(s for s in job["steps"] if s.get("uses", "").startswith("pulumi/actions@"))

    # PyYAML reads the bare key `on` as the boolean True.
    assert set(document[True]) == {"schedule", "workflow_dispatch"}
    assert job["strategy"]["matrix"]["stack"] == STACKS
    assert job["strategy"]["fail-fast"] is False
    assert (pulumi["with"]["command"], pulumi["with"]["refresh"]) == ("preview", True)
    assert pulumi["with"]["expect-no-changes"] is True
