"""check-sandbox.sh against fake kernels, then for real inside gVisor (runsc) where it can run.

The fake runs put only small stand-ins for uname, cat and dmesg on PATH, each printing what a
gVisor sandbox, a Kata guest or a plain node would. The real runs use Debian's runsc, which
needs root, and busybox, the Job's default image's toolbox.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.conftest import assert_shellcheck_clean

SCRIPT = Path(__file__).resolve().parents[2] / "components/kubesandbox/smoke/check-sandbox.sh"

GVISOR_DMESG = "[    0.000000] Starting gVisor...\n[    0.123456] Daemonizing children...\n"
NODE_DMESG = "[    0.000000] Linux version 6.8.0-1015-gcp (buildd@lcy02) #16-Ubuntu SMP\n"
NODE_CMDLINE = "BOOT_IMAGE=/boot/vmlinuz-6.8.0-1015-gcp root=PARTUUID=1234 ro console=ttyS0"
KATA_CMDLINE = (
    "tsc=reliable no_timer_check rcupdate.rcu_expedited=1 reboot=k panic=1 console=hvc0 "
    "root=/dev/vda1 rootflags=data=ordered,errors=remount-ro ro rootfstype=ext4 quiet "
    "systemd.show_status=false systemd.unit=kata-containers.target "
    "systemd.mask=systemd-networkd.service agent.container_pipe_size=1"
)
# An initrd guest boots the agent as init, without systemd, but still with agent parameters.
KATA_INITRD_CMDLINE = "reboot=k panic=1 console=hvc0 quiet init=/init agent.log_vport=1025"


@dataclass(frozen=True)
class Kernel:
    """What the stand-in commands report."""

    release: str = "6.8.0-1015-gcp"
    dmesg: str = NODE_DMESG
    dmesg_status: int = 0
    cmdline: str = NODE_CMDLINE


def fake_bin(directory: Path, kernel: Kernel) -> Path:
    directory.mkdir()
    (directory / "dmesg.out").write_text(kernel.dmesg)
    (directory / "cmdline").write_text(kernel.cmdline + "\n")
    (directory / "version").write_text(f"Linux version {kernel.release} #1 SMP\n")
    scripts = {
        "uname": f'#!/bin/sh\n[ "$1" = -r ] && echo "{kernel.release}"\n',
        "dmesg": f'#!/bin/sh\n/bin/cat "{directory}/dmesg.out"\nexit {kernel.dmesg_status}\n',
        "cat": (
            "#!/bin/sh\n"
            "case $1 in\n"
            f'  /proc/cmdline) exec /bin/cat "{directory}/cmdline" ;;\n'
            f'  /proc/version) exec /bin/cat "{directory}/version" ;;\n'
            '  *) exec /bin/cat "$@" ;;\n'
            "esac\n"
        ),
    }
    for name, text in scripts.items():
        (directory / name).write_text(text)
        (directory / name).chmod(0o755)
    head = shutil.which("head")
    assert head, "head not found"
    (directory / "head").symlink_to(head)
    return directory


def check(tmp_path: Path, kernel: Kernel, *args: str) -> subprocess.CompletedProcess[str]:
    bin_dir = fake_bin(tmp_path / "bin", kernel)
    return subprocess.run(
        ["/bin/sh", str(SCRIPT), *args],
        env={"PATH": str(bin_dir)},
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )


def last_line(result: subprocess.CompletedProcess[str]) -> str:
    return result.stdout.strip().splitlines()[-1]


def test_script_passes_shellcheck() -> None:
    assert_shellcheck_clean(SCRIPT)


def test_gvisor_passes_on_gvisors_kernel_log(tmp_path: Path) -> None:
    result = check(tmp_path, Kernel(release="4.4.0", dmesg=GVISOR_DMESG), "gvisor")
    assert result.returncode == 0, result.stdout
    assert result.stdout.splitlines() == [
        "uname -r: 4.4.0",
        "/proc/version: Linux version 4.4.0 #1 SMP",
        "dmesg, first line: [    0.000000] Starting gVisor...",
        "PASS: the kernel log is gVisor's",
    ]


@pytest.mark.parametrize(
    "kernel",
    [
        Kernel(),
        Kernel(dmesg="dmesg: klogctl: Operation not permitted\n", dmesg_status=1),
        Kernel(dmesg=""),
        # gVisor's message later in a node's log is not gVisor's kernel.
        Kernel(dmesg=NODE_DMESG + "[   12.000000] runsc: Starting gVisor...\n"),
    ],
    ids=["node-log", "log-refused", "log-empty", "gvisor-not-first"],
)
def test_gvisor_fails_on_any_other_kernel_log(tmp_path: Path, kernel: Kernel) -> None:
    result = check(tmp_path, kernel, "gvisor")
    assert result.returncode == 1
    assert last_line(result) == (
        "FAIL: the kernel log is not gVisor's; the pod runs on the node's kernel"
    )


@pytest.mark.parametrize("cmdline", [KATA_CMDLINE, KATA_INITRD_CMDLINE], ids=["image", "initrd"])
def test_kata_passes_on_a_kernel_the_kata_runtime_booted(tmp_path: Path, cmdline: str) -> None:
    result = check(tmp_path, Kernel(release="6.12.47", cmdline=cmdline), "kata", "6.8.0-1015-gcp")
    assert result.returncode == 0, result.stdout
    assert f"/proc/cmdline: {cmdline}" in result.stdout.splitlines()
    assert last_line(result) == "PASS: the kernel was booted by the Kata runtime"


@pytest.mark.parametrize(
    "cmdline",
    [NODE_CMDLINE, NODE_CMDLINE + " magent.x=1 systemd.unit=multi-user.target"],
    ids=["node", "look-alikes"],
)
def test_kata_fails_on_the_nodes_kernel(tmp_path: Path, cmdline: str) -> None:
    result = check(tmp_path, Kernel(cmdline=cmdline), "kata")
    assert result.returncode == 1
    assert last_line(result) == (
        "FAIL: the kernel command line has no Kata agent parameters; "
        "the pod runs on the node's kernel"
    )


def test_kata_fails_when_the_pod_reports_the_nodes_kernel(tmp_path: Path) -> None:
    result = check(tmp_path, Kernel(cmdline=KATA_CMDLINE), "kata", "6.8.0-1015-gcp")
    assert result.returncode == 1
    assert last_line(result) == (
        "FAIL: the pod reports the node's kernel 6.8.0-1015-gcp; it does not run in a Kata VM"
    )


@pytest.mark.parametrize("args", [(), ("runc",)], ids=["none", "unknown"])
def test_unknown_isolation_fails(tmp_path: Path, args: tuple[str, ...]) -> None:
    result = check(tmp_path, Kernel(dmesg=GVISOR_DMESG), *args)
    assert result.returncode == 1
    isolation = args[0] if args else ""
    assert last_line(result) == f"FAIL: first argument must be gvisor or kata, not '{isolation}'"


# Real runs. runsc shares the host's root filesystem (read-only overlay) with the sandbox, so the
# script and a busybox applet directory made under tmp_path are visible inside it.

RUNSC = shutil.which("runsc")
BUSYBOX = shutil.which("busybox")
_NO_GVISOR = (
    "runsc needs root here"
    if os.geteuid() != 0
    else "runsc missing; apt-get install runsc"
    if RUNSC is None
    else ""
)
real_gvisor = pytest.mark.skipif(bool(_NO_GVISOR), reason=_NO_GVISOR or "runsc is here")


@pytest.fixture
def busybox_tools() -> Iterator[Path]:
    """A directory holding busybox's sh, uname, cat, dmesg and head, as in the default image.

    It lives outside pytest's private temp folders so that the unprivileged user can reach it.
    """
    if BUSYBOX is None:
        pytest.skip("busybox missing; apt-get install busybox-static")
    with tempfile.TemporaryDirectory(prefix="check-sandbox-") as name:
        tools = Path(name)
        tools.chmod(0o755)
        for applet in ("sh", "uname", "cat", "dmesg", "head"):
            (tools / applet).symlink_to(BUSYBOX)
        yield tools


def in_gvisor(tmp_path: Path, *command: str) -> subprocess.CompletedProcess[str]:
    assert RUNSC is not None
    root = tmp_path / "runsc-root"
    root.mkdir(exist_ok=True)
    return subprocess.run(
        [RUNSC, "--root", str(root), "--rootless", "--network=none", "do", *command],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def as_nobody(*command: str) -> list[str]:
    """The Job's user: the check must pass without root inside the sandbox."""
    return ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", *command]


@real_gvisor
@pytest.mark.parametrize("user", ["root", "nobody"])
def test_gvisor_passes_inside_real_gvisor(tmp_path: Path, user: str) -> None:
    command = ["/bin/sh", str(SCRIPT), "gvisor"]
    result = in_gvisor(tmp_path, *(as_nobody(*command) if user == "nobody" else command))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "dmesg, first line: [    0.000000] Starting gVisor..." in result.stdout
    assert last_line(result) == "PASS: the kernel log is gVisor's"


@real_gvisor
def test_gvisor_passes_inside_real_gvisor_with_busybox(tmp_path: Path, busybox_tools: Path) -> None:
    tools = busybox_tools
    command = ["/usr/bin/env", f"PATH={tools}", str(tools / "sh"), str(SCRIPT), "gvisor"]
    result = in_gvisor(tmp_path, *as_nobody(*command))
    assert result.returncode == 0, result.stdout + result.stderr
    assert last_line(result) == "PASS: the kernel log is gVisor's"


@real_gvisor
def test_kata_fails_inside_gvisor(tmp_path: Path) -> None:
    result = in_gvisor(tmp_path, "/bin/sh", str(SCRIPT), "kata")
    assert result.returncode == 1, result.stdout + result.stderr
    assert last_line(result).startswith("FAIL: the kernel command line has no Kata agent")


@pytest.mark.skipif(
    Path("/proc/version").read_text().startswith("Linux version 4.4.0 #1 SMP Sun Jan 10"),
    reason="this machine itself runs in gVisor",
)
def test_gvisor_fails_on_this_machines_own_kernel(busybox_tools: Path) -> None:
    tools = busybox_tools
    result = subprocess.run(
        [str(tools / "sh"), str(SCRIPT), "gvisor"],
        env={"PATH": str(tools)},
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert result.returncode == 1, result.stdout
    assert last_line(result) == (
        "FAIL: the kernel log is not gVisor's; the pod runs on the node's kernel"
    )
