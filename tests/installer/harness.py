"""A fake node for running install-gvisor.sh against a temporary HOST_ROOT.

There is no kubelet or API server here, so RESTART_CMD and LABEL_CMD are small scripts that append
one line per call to a log file; tests read that log to see what the installer asked the node to do.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
SCRIPT = REPO / "components" / "kubesandbox" / "installer" / "install-gvisor.sh"

NODE_NAME = "node-a"
READY_LABEL = "kubesandbox.io/gvisor-ready=true"

_RESTART_SCRIPT = """#!/bin/sh
echo restart >> "{log}"
"""

# Records whether the binaries were already in place when the node was labelled.
_LABEL_SCRIPT = """#!/bin/sh
bin=$HOST_ROOT/usr/local/bin
installed=no
if [ -x "$bin/runsc" ] && [ -x "$bin/containerd-shim-runsc-v1" ]; then installed=yes; fi
echo "label $NODE_NAME $READY_LABEL binaries=$installed" >> "{log}"
"""


@dataclass(frozen=True)
class Result:
    returncode: int
    stdout: str
    stderr: str


@dataclass(frozen=True)
class Entry:
    """What a path under HOST_ROOT looks like: enough to tell whether a run touched it."""

    mode: int
    mtime_ns: int
    content: bytes | None


def sha512(data: bytes) -> str:
    return hashlib.sha512(data).hexdigest()


def make_executable(path: Path, text: str) -> Path:
    path.write_text(text)
    path.chmod(0o755)
    return path


class Node:
    """A node root filesystem, a download directory and the installer's environment."""

    def __init__(self, base: Path) -> None:
        self.root = base / "host"
        self.root.mkdir()
        self.source = base / "download"
        self.source.mkdir()
        self.calls_log = base / "calls.log"
        self.restart_cmd = str(
            make_executable(base / "restart", _RESTART_SCRIPT.format(log=self.calls_log))
        )
        self.label_cmd = str(
            make_executable(base / "label", _LABEL_SCRIPT.format(log=self.calls_log))
        )
        self.runsc = b"#!/bin/sh\necho fake runsc\n"
        self.shim = b"#!/bin/sh\necho fake shim\n"
        self.put_downloads()

    def put_downloads(self) -> None:
        (self.source / "runsc").write_bytes(self.runsc)
        (self.source / "containerd-shim-runsc-v1").write_bytes(self.shim)

    def env(self) -> dict[str, str]:
        return {
            "PATH": os.environ["PATH"],
            "HOST_ROOT": str(self.root),
            "SOURCE_DIR": str(self.source),
            "RUNSC_SHA512": sha512(self.runsc),
            "SHIM_SHA512": sha512(self.shim),
            "NODE_NAME": NODE_NAME,
            "RESTART_CMD": self.restart_cmd,
            "LABEL_CMD": self.label_cmd,
        }

    def run(self, *args: str, shell: str | None = None, **overrides: str | None) -> Result:
        """Runs the installer once; an override of None removes that variable."""
        env = self.env()
        for key, value in overrides.items():
            if value is None:
                env.pop(key, None)
            else:
                env[key] = value
        proc = subprocess.run(
            [*([shell] if shell else []), str(SCRIPT), *(args or ("--once",))],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        return Result(proc.returncode, proc.stdout, proc.stderr)

    def path(self, host_path: str) -> Path:
        return self.root / host_path.lstrip("/")

    def write(self, host_path: str, text: str) -> Path:
        path = self.path(host_path)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
        return path

    def read(self, host_path: str) -> str:
        return self.path(host_path).read_text()

    def calls(self) -> list[str]:
        if not self.calls_log.exists():
            return []
        return self.calls_log.read_text().splitlines()

    def snapshot(self) -> dict[str, Entry]:
        """Every file and directory under HOST_ROOT with its mode, mtime and content."""
        entries = {}
        for path in [self.root, *sorted(self.root.rglob("*"))]:
            stat = path.lstat()
            content = path.read_bytes() if path.is_file() else None
            entries[str(path.relative_to(self.root))] = Entry(
                stat.st_mode, stat.st_mtime_ns, content
            )
        return entries
