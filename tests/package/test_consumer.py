"""The package as a consumer gets it: built into a wheel, installed into a fresh virtualenv with
its declared dependencies only, and used by a program outside this repository's tree."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
CONSUMER = Path(__file__).with_name("consumer")
# What pip prints when it cannot reach the package index, as opposed to a broken package.
UNREACHABLE = ("NewConnectionError", "Could not fetch URL", "Temporary failure in name resolution")


def pip(python: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(python), "-m", "pip", *args], check=False, capture_output=True, text=True, timeout=300
    )


def require(result: subprocess.CompletedProcess[str], step: str) -> None:
    if result.returncode == 0:
        return
    if any(sign in result.stderr for sign in UNREACHABLE) and os.environ.get("CI") != "true":
        pytest.skip(f"{step}: pip cannot reach the package index")
    pytest.fail(f"{step} failed:\n{result.stderr[-3000:]}")


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    require(
        pip(Path(sys.executable), "wheel", str(ROOT / "components"), "-w", str(out), "--no-deps"),
        "building the wheel",
    )
    return next(out.glob("kubesandbox-*.whl"))


@pytest.fixture(scope="module")
def registered(wheel: Path, tmp_path_factory: pytest.TempPathFactory) -> list[dict[str, Any]]:
    venv = tmp_path_factory.mktemp("consumer") / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    python = venv / "bin" / "python"
    # Bytecode compilation of the provider SDKs is most of an install's time, and not needed here.
    require(pip(python, "install", "--quiet", "--no-compile", str(wheel)), "installing the wheel")
    result = subprocess.run(
        [str(python), str(CONSUMER / "run_mocks.py")],
        check=False,
        capture_output=True,
        text=True,
        timeout=300,
        # The consumer must find kubesandbox in its virtualenv, never in this checkout.
        cwd=CONSUMER,
        env={"PATH": os.environ["PATH"], "HOME": os.environ.get("HOME", "/tmp")},
    )
    assert result.returncode == 0, result.stderr[-3000:]
    data: list[dict[str, Any]] = json.loads(result.stdout)
    return data


def test_wheel_ships_type_information_and_the_installer(wheel: Path) -> None:
    names = set(zipfile.ZipFile(wheel).namelist())
    assert "kubesandbox/py.typed" in names
    assert "kubesandbox/installer/install-gvisor.sh" in names
    assert wheel.name == "kubesandbox-0.1.0-py3-none-any.whl"


def test_consumer_registers_the_components_and_their_children(
    registered: list[dict[str, Any]],
) -> None:
    by_name = {r["name"]: r for r in registered}
    assert sorted((r["type"], r["name"]) for r in registered) == [
        ("gcp:container/nodePool:NodePool", "sandbox-pool"),
        ("kubernetes:apps/v1:Deployment", "web-deployment"),
        ("kubernetes:core/v1:Service", "web-service"),
        ("kubernetes:core/v1:ServiceAccount", "web-service-account"),
        ("kubernetes:networking.k8s.io/v1:NetworkPolicy", "web-web-default-deny"),
        ("kubernetes:networking.k8s.io/v1:NetworkPolicy", "web-web-ingress"),
        ("kubernetes:policy/v1:PodDisruptionBudget", "web-disruption-budget"),
        ("kubesandbox:index:SandboxNodePool", "sandbox"),
        ("kubesandbox:index:SandboxedWorkload", "web"),
        ("pulumi:providers:kubernetes", "theirs"),
    ]
    assert by_name["sandbox-pool"]["parent"] == by_name["sandbox"]["urn"]
    assert by_name["web-deployment"]["parent"] == by_name["web"]["urn"]


def test_consumer_objects_go_through_its_provider_into_its_cluster(
    registered: list[dict[str, Any]],
) -> None:
    by_name = {r["name"]: r for r in registered}
    provider = by_name["theirs"]["urn"]
    kubernetes = [r for r in registered if r["type"].startswith("kubernetes:")]
    assert {r["provider"] for r in kubernetes} == {provider}
    assert {r["inputs"]["metadata"]["namespace"] for r in kubernetes} == {"team"}
    pool = by_name["sandbox-pool"]["inputs"]
    assert (pool["cluster"], pool["location"], pool["name"]) == (
        "their-cluster",
        "europe-west4-a",
        "gvisor",
    )
    assert pool["nodeConfig"]["sandboxConfig"] == {"type": "GVISOR"}
