"""checkov's Kubernetes checks over every stack's rendered manifests: zero failures.

checkov lives in .venv-checkov (see requirements-checkov.txt); ./test exports its path as
CHECKOV. Skips are in .checkov.yaml, each with its reason. checkov is told to fetch nothing,
and where this machine allows it runs in a network namespace of its own, with no network at all.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from functools import cache
from pathlib import Path
from typing import Any

import pulumi
import pulumi_kubernetes as k8s
import pytest
import yaml

from kubesandbox import GKE_GVISOR, Isolation, Runtime, SandboxSmokeTest, SandboxSmokeTestArgs
from stacks import STACKS
from tests.conftest import run
from tools import engine, render

REPO = Path(__file__).resolve().parents[2]
CONFIG = REPO / ".checkov.yaml"


@cache
def checkov() -> str | None:
    found = os.environ.get("CHECKOV") or shutil.which("checkov")
    return found if found and Path(found).exists() else None


@cache
def isolated() -> list[str]:
    """`unshare --net` where it works here: checkov then cannot reach any host, by construction."""
    unshare = shutil.which("unshare")
    if os.geteuid() != 0 or unshare is None:
        return []
    trial = subprocess.run([unshare, "--net", "true"], capture_output=True, check=False)
    return [unshare, "--net"] if trial.returncode == 0 else []


@pytest.fixture
def scanner() -> str:
    found = checkov()
    if found is None:
        message = "checkov not found; run ./test, which installs it into .venv-checkov"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    return found


def scan(scanner: str, manifests: Path, config: Path | None = CONFIG) -> dict[str, Any]:
    """checkov's JSON report for one folder of manifests."""
    environment = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("BC_", "PRISMA_", "CKV_"))
    }
    environment |= {"CKV_SKIP_PACKAGE_UPDATE_CHECK": "true", "BC_SKIP_MAPPING": "TRUE"}
    settings = ["--config-file", str(config)] if config else ["--skip-download"]
    command = [
        *isolated(),
        scanner,
        "-d",
        str(manifests),
        "--framework",
        "kubernetes",
        "--quiet",
        "--compact",
        "-o",
        "json",
        *settings,
    ]
    # From the manifests' folder: checkov would otherwise also read .checkov.yaml from the
    # repository as the current directory, even when asked to run without it.
    result = subprocess.run(
        command,
        capture_output=True,
        text=True,
        env=environment,
        cwd=manifests,
        timeout=300,
        check=False,
    )
    # 0: all passed; 1: some failed. Anything else is checkov itself failing.
    assert result.returncode in (0, 1), result.stderr
    report = json.loads(result.stdout)
    assert isinstance(report, dict), f"expected one framework's report, got {type(report)}"
    return report


def failures(report: dict[str, Any]) -> list[str]:
    return sorted(
        f"{f['check_id']} {f['check_name']}: {f['file_path']} {f['resource']}"
        for f in report.get("results", {}).get("failed_checks", [])
    )


def rendered(plan: engine.Plan, name: str, out: Path) -> Path:
    render.write(plan, name, out / name)
    return out / name / "manifests"


@pytest.mark.parametrize("stack", sorted(STACKS))
def test_stack_manifests_pass_checkov(stack: str, scanner: str, tmp_path: Path) -> None:
    manifests = rendered(engine.run_stack(stack), stack, tmp_path)
    report = scan(scanner, manifests)
    assert failures(report) == []
    summary = report["summary"]
    assert summary["parsing_errors"] == 0
    assert summary["passed"] > 0
    # checkov counts each pod template as a resource of its own, beside its Deployment.
    assert summary["resource_count"] >= len(list(manifests.rglob("*.yaml")))


KATA = Runtime(
    class_name="kata-qemu",
    handler="kata-qemu",
    isolation=Isolation.KATA,
    node_selector={"katacontainers.io/kata-runtime": "true"},
)


def smoke_tests() -> None:
    """A smoke test for each kind of sandbox, as a stack would declare it."""
    provider = k8s.Provider("cluster", kubeconfig="unused")
    for name, runtime in (("gvisor", GKE_GVISOR), ("kata", KATA)):
        SandboxSmokeTest(
            f"{name}-smoke",
            SandboxSmokeTestArgs(namespace=name, runtime=runtime),
            opts=pulumi.ResourceOptions(providers=[provider]),
        )


def test_smoke_test_jobs_pass_checkov(scanner: str, tmp_path: Path) -> None:
    manifests = rendered(run(smoke_tests), "smoke-tests", tmp_path)
    report = scan(scanner, manifests)
    assert failures(report) == []
    assert report["summary"]["passed"] > 0


def skipped_checks() -> list[str]:
    return [str(check) for check in yaml.safe_load(CONFIG.read_text())["skip-check"]]


def test_every_skip_says_why() -> None:
    lines = CONFIG.read_text().splitlines()
    for check in skipped_checks():
        [index] = [i for i, line in enumerate(lines) if line.strip() == f"- {check}"]
        reason = lines[index - 1].strip()
        assert reason.startswith("#"), f"{check} in .checkov.yaml needs a comment saying why"


def test_every_skip_is_still_needed(scanner: str, tmp_path: Path) -> None:
    # dev shows every workload feature the stacks use; a skip nothing fails any more must go.
    manifests = rendered(engine.run_stack("dev"), "dev", tmp_path)
    failing = {f.split(" ", 1)[0] for f in failures(scan(scanner, manifests, config=None))}
    assert failing == set(skipped_checks())
