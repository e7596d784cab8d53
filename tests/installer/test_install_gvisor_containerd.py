"""install-gvisor.sh output accepted by a real containerd, and a container run through runsc.

containerd runs with a private root, state and socket under a temp dir, started and stopped by its
PID. The config's base part plays the node's own settings; the installer adds its managed block.
Debian's runsc ships without containerd-shim-runsc-v1, so the CRI handler is checked as registered
(config dump, CRI plugin loaded) and the container runs through runsc behind containerd's runc shim.
"""

import contextlib
import ctypes
import os
import shutil
import subprocess
import tempfile
import time
import tomllib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.installer.harness import SCRIPT, make_executable, sha512

NAMESPACE = "kubesandbox-test"
PR_SET_CHILD_SUBREAPER = 36
TOOLS = ("containerd", "ctr", "runsc", "busybox")

missing = [tool for tool in TOOLS if shutil.which(tool) is None]
pytestmark = [
    pytest.mark.skipif(os.geteuid() != 0, reason="containerd and runsc need root"),
    pytest.mark.skipif(
        bool(missing),
        reason=f"missing {', '.join(missing)}; apt-get install containerd runsc busybox-static",
    ),
]


@dataclass(frozen=True)
class Engine:
    base: Path
    host: Path
    config: Path
    socket: Path
    install_output: str
    calls: list[str]

    def ctr(self, *args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            ["ctr", "--address", str(self.socket), "--namespace", NAMESPACE, *args],
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )


def _base_config(base: Path) -> str:
    return f"""\
version = 2
root = "{base}/root"
state = "{base}/state"

[grpc]
  address = "{base}/containerd.sock"

[plugins."io.containerd.internal.v1.opt"]
  path = "{base}/opt"
"""


def _install(base: Path, host: Path) -> tuple[str, list[str]]:
    download = base / "download"
    download.mkdir()
    runsc = Path(shutil.which("runsc") or "runsc")
    shutil.copy(runsc, download / "runsc")
    # Debian has no gVisor shim; any pinned file exercises the install path for it.
    shim = b"#!/bin/sh\necho containerd-shim-runsc-v1 placeholder\n"
    (download / "containerd-shim-runsc-v1").write_bytes(shim)
    calls = base / "calls.log"
    env = {
        "PATH": os.environ["PATH"],
        "HOST_ROOT": str(host),
        "SOURCE_DIR": str(download),
        "RUNSC_SHA512": sha512((download / "runsc").read_bytes()),
        "SHIM_SHA512": sha512(shim),
        "NODE_NAME": "node-a",
        # No kubelet or API server here: both commands only record that they were called.
        "RESTART_CMD": f"echo restart >> {calls}",
        "LABEL_CMD": f"echo label >> {calls}",
    }
    proc = subprocess.run(
        [str(SCRIPT), "--once"], env=env, capture_output=True, text=True, timeout=60, check=False
    )
    assert proc.returncode == 0, proc.stderr
    return proc.stdout, calls.read_text().splitlines()


def _wait_for_socket(engine: Engine, proc: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"containerd exited with {proc.returncode}: {log.read_text()[-2000:]}")
        if engine.socket.exists() and engine.ctr("version", timeout=10).returncode == 0:
            return
        time.sleep(0.1)
    pytest.fail(f"containerd did not answer on {engine.socket}: {log.read_text()[-2000:]}")


def _remove_leftover_containers(engine: Engine) -> None:
    for line in engine.ctr("tasks", "list", "--quiet").stdout.split():
        engine.ctr("tasks", "kill", "--signal", "SIGKILL", line)
        engine.ctr("tasks", "delete", "--force", line)
    for line in engine.ctr("containers", "list", "--quiet").stdout.split():
        engine.ctr("containers", "delete", line)


def _reap_orphaned_shims() -> None:
    """Waits for shims that daemonised and were handed to us as their subreaper."""
    for stat_file in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat_file.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        pid = int(stat_file.parent.name)
        if fields[0] == "Z" and int(fields[1]) == os.getpid():
            os.waitpid(pid, 0)


def _remove_empty_dirs_we_created(run_dir: Path, existed: bool) -> None:
    # containerd 1.6's runc shim always puts its socket under /run/containerd/s.
    if existed:
        return
    for directory in (run_dir / "s", run_dir):
        with contextlib.suppress(OSError):
            directory.rmdir()


@pytest.fixture(scope="module")
def engine() -> Iterator[Engine]:
    run_dir = Path("/run/containerd")
    run_dir_existed = run_dir.exists()
    # The runc shim daemonises; as subreaper this process can reap it instead of leaving a zombie.
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)
    # A short path keeps the unix socket under the 108-byte limit.
    base = Path(tempfile.mkdtemp(prefix="ksb-"))
    host = base / "host"
    config = host / "etc" / "containerd" / "config.toml"
    config.parent.mkdir(parents=True)
    config.write_text(_base_config(base))
    output, calls = _install(base, host)
    engine = Engine(base, host, config, base / "containerd.sock", output, calls)

    log = base / "containerd.log"
    with log.open("wb") as log_file:
        proc = subprocess.Popen(
            ["containerd", "--config", str(config)], stdout=log_file, stderr=subprocess.STDOUT
        )
    try:
        _wait_for_socket(engine, proc, log)
        yield engine
    finally:
        if proc.poll() is None:
            _remove_leftover_containers(engine)
            proc.terminate()
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        _reap_orphaned_shims()
        libc.prctl(PR_SET_CHILD_SUBREAPER, 0, 0, 0, 0)
        shutil.rmtree(base, ignore_errors=True)
        _remove_empty_dirs_we_created(run_dir, run_dir_existed)


def test_installer_picks_v2_for_containerd_1_config_and_restarts(engine: Engine) -> None:
    assert "flavour v2, config /etc/containerd/config.toml" in engine.install_output
    assert engine.calls == ["restart", "label"]


def test_config_dump_shows_handler_merged_with_node_settings(engine: Engine) -> None:
    proc = subprocess.run(
        ["containerd", "--config", str(engine.config), "config", "dump"],
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    )
    dump = tomllib.loads(proc.stdout)
    runtimes = dump["plugins"]["io.containerd.grpc.v1.cri"]["containerd"]["runtimes"]

    assert runtimes["runsc"]["runtime_type"] == "io.containerd.runsc.v1"
    assert runtimes["runc"]["runtime_type"] == "io.containerd.runc.v2"
    assert dump["root"] == f"{engine.base}/root"
    assert dump["grpc"]["address"] == str(engine.socket)


def test_cri_plugin_loads_with_the_written_config(engine: Engine) -> None:
    proc = engine.ctr("plugins", "list")

    rows = [line.split() for line in proc.stdout.splitlines()]
    cri = [row for row in rows if row[:2] == ["io.containerd.grpc.v1", "cri"]]
    assert cri, proc.stdout
    assert cri[0][-1] == "ok", proc.stdout


def _busybox_rootfs(base: Path) -> Path:
    busybox = shutil.which("busybox") or "busybox"
    ldd = subprocess.run(["ldd", busybox], capture_output=True, text=True, check=False)
    if "not a dynamic" not in ldd.stdout + ldd.stderr:
        pytest.skip(f"{busybox} is dynamically linked; apt-get install busybox-static")
    rootfs = base / "rootfs"
    for directory in ("bin", "proc", "sys", "dev", "tmp", "etc"):
        (rootfs / directory).mkdir(parents=True, exist_ok=True)
    shutil.copy(busybox, rootfs / "bin" / "busybox")
    for applet in ("sh", "uname", "dmesg"):
        (rootfs / "bin" / applet).symlink_to("busybox")
    return rootfs


def test_container_runs_in_gvisor_through_installed_runsc(engine: Engine) -> None:
    rootfs = _busybox_rootfs(engine.base)
    runsc = engine.host / "usr" / "local" / "bin" / "runsc"
    # runsc refuses the host network namespace unless networking is off.
    wrapper = make_executable(
        engine.base / "runsc-wrapper", f'#!/bin/sh\nexec {runsc} --network=none "$@"\n'
    )

    proc = engine.ctr(
        "run",
        "--rm",
        "--fifo-dir",
        str(engine.base / "fifo"),
        "--runc-binary",
        str(wrapper),
        "--runc-root",
        str(engine.base / "runsc-root"),
        "--rootfs",
        str(rootfs),
        "gvisor-smoke",
        "/bin/sh",
        "-c",
        "uname -r; dmesg",
        timeout=90,
    )

    assert proc.returncode == 0, proc.stderr
    kernel, *dmesg = proc.stdout.splitlines()
    assert kernel != os.uname().release
    assert any("gVisor" in line for line in dmesg), proc.stdout
