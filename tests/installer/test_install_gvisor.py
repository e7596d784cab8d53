"""install-gvisor.sh against a fake node: config output, idempotency, failures and labelling."""

import os
import shutil
import signal
import stat
import subprocess
import time
import tomllib
from pathlib import Path

import pytest

from tests.conftest import assert_shellcheck_clean
from tests.installer.harness import NODE_NAME, READY_LABEL, SCRIPT, Node, sha512

CONFIG = "/etc/containerd/config.toml"
DROPIN = "/etc/containerd/conf.d/kubesandbox-gvisor.toml"
K3S = "/var/lib/rancher/k3s/agent/etc/containerd"
LABELLED = f"label {NODE_NAME} {READY_LABEL} binaries=yes"

BEGIN = "# BEGIN kubesandbox gVisor runtime (managed by install-gvisor.sh; edits are overwritten)"
END = "# END kubesandbox gVisor runtime"
RUNC_WHY = "# runc is declared here because listing any runtime replaces the built-in list."

V2_USER_CONFIG = """\
version = 2

[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "registry.k8s.io/pause:3.9"
"""

V3_USER_CONFIG = """\
version = 3

[plugins."io.containerd.cri.v1.images"]
  snapshotter = "overlayfs"
"""


def toml_of(text: str) -> dict[str, object]:
    """Parses a config, skipping a k3s template's first line, to prove the output is valid TOML."""
    if text.startswith("{{"):
        text = text.split("\n", 1)[1]
    return tomllib.loads(text)


def test_script_passes_shellcheck() -> None:
    assert_shellcheck_clean(SCRIPT)


def test_v2_config_gets_managed_block_after_user_settings(node: Node) -> None:
    node.write(CONFIG, V2_USER_CONFIG)

    result = node.run()

    assert result.returncode == 0, result.stderr
    assert "flavour v2" in result.stdout
    expected = f"""\
version = 2

[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "registry.k8s.io/pause:3.9"

{BEGIN}
{RUNC_WHY}
[plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
  runtime_type = "io.containerd.runc.v2"

[plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runsc]
  runtime_type = "io.containerd.runsc.v1"
{END}
"""
    assert node.read(CONFIG) == expected
    assert node.calls() == ["restart", LABELLED]


def test_v2_config_that_declares_runc_keeps_its_own_runc(node: Node) -> None:
    node.write(
        CONFIG,
        'version = 2\n[plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]\n'
        '  runtime_type = "io.containerd.runc.v2"\n',
    )

    result = node.run(HANDLER="gvisor")

    assert result.returncode == 0, result.stderr
    expected = f"""\
version = 2
[plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
  runtime_type = "io.containerd.runc.v2"

{BEGIN}
[plugins."io.containerd.grpc.v1.cri".containerd.runtimes.gvisor]
  runtime_type = "io.containerd.runsc.v1"
{END}
"""
    assert node.read(CONFIG) == expected
    toml_of(node.read(CONFIG))


def test_v3_config_gets_block_under_cri_runtime_plugin(node: Node) -> None:
    node.write(CONFIG, V3_USER_CONFIG)

    result = node.run()

    assert result.returncode == 0, result.stderr
    expected = f"""\
version = 3

[plugins."io.containerd.cri.v1.images"]
  snapshotter = "overlayfs"

{BEGIN}
{RUNC_WHY}
[plugins."io.containerd.cri.v1.runtime".containerd.runtimes.runc]
  runtime_type = "io.containerd.runc.v2"

[plugins."io.containerd.cri.v1.runtime".containerd.runtimes.runsc]
  runtime_type = "io.containerd.runsc.v1"
{END}
"""
    assert node.read(CONFIG) == expected
    parsed = toml_of(node.read(CONFIG))
    assert parsed["plugins"]["io.containerd.cri.v1.runtime"]["containerd"]["runtimes"][  # type: ignore[index]
        "runsc"
    ] == {"runtime_type": "io.containerd.runsc.v1"}


def test_main_config_importing_conf_d_gets_a_dropin_and_stays_untouched(node: Node) -> None:
    main = 'version = 3\nimports = ["/etc/containerd/conf.d/*.toml"]\n'
    node.write(CONFIG, main)

    result = node.run()

    assert result.returncode == 0, result.stderr
    assert "flavour dropin" in result.stdout
    assert node.read(CONFIG) == main
    expected = f"""\
version = 3

{BEGIN}
{RUNC_WHY}
[plugins."io.containerd.cri.v1.runtime".containerd.runtimes.runc]
  runtime_type = "io.containerd.runc.v2"

[plugins."io.containerd.cri.v1.runtime".containerd.runtimes.runsc]
  runtime_type = "io.containerd.runsc.v1"
{END}
"""
    assert node.read(DROPIN) == expected
    assert stat.S_IMODE(node.path(DROPIN).stat().st_mode) == 0o644
    assert node.calls() == ["restart", LABELLED]


def test_multiline_imports_of_conf_d_are_recognised(node: Node) -> None:
    node.write(
        CONFIG,
        "version = 2\nimports = [\n  '/etc/other/*.toml',\n  '/etc/containerd/conf.d/*.toml',\n]\n",
    )

    result = node.run()

    assert result.returncode == 0, result.stderr
    assert node.read(DROPIN).startswith(
        f'version = 2\n\n{BEGIN}\n{RUNC_WHY}\n[plugins."io.containerd.grpc.v1.cri".containerd'
    )


def test_main_config_with_own_cri_section_keeps_block_in_main_file(node: Node) -> None:
    # A drop-in would replace the main file's CRI section as a whole, losing SystemdCgroup.
    main = (
        'version = 3\nimports = ["/etc/containerd/conf.d/*.toml"]\n'
        '[plugins."io.containerd.cri.v1.runtime".containerd.runtimes.runc.options]\n'
        "  SystemdCgroup = true\n"
    )
    node.write(CONFIG, main)

    result = node.run()

    assert result.returncode == 0, result.stderr
    assert "flavour v3" in result.stdout
    assert not node.path(DROPIN).exists()
    expected = f"""{main}
{BEGIN}
[plugins."io.containerd.cri.v1.runtime".containerd.runtimes.runsc]
  runtime_type = "io.containerd.runsc.v1"
{END}
"""
    assert node.read(CONFIG) == expected


def test_explicit_dropin_refuses_main_config_that_sets_cri_section(node: Node) -> None:
    node.write(
        CONFIG,
        'version = 2\nimports = ["/etc/containerd/conf.d/*.toml"]\n'
        '[plugins."io.containerd.grpc.v1.cri"]\n  sandbox_image = "x"\n',
    )
    before = node.snapshot()

    result = node.run(CONTAINERD_FLAVOUR="dropin")

    assert result.returncode == 1
    assert result.stderr.splitlines() == [
        f"install-gvisor: error: {CONFIG} sets the io.containerd.grpc.v1.cri section, which a "
        "drop-in would replace whole; use CONTAINERD_FLAVOUR=v2"
    ]
    assert node.snapshot() == before


def test_k3s_with_containerd_2_gets_v3_template_on_base(node: Node) -> None:
    generated = "# File generated by k3s. DO NOT EDIT.\nversion = 3\n"
    node.write(f"{K3S}/config.toml", generated)
    node.write("/etc/systemd/system/k3s-agent.service", "[Service]\n")

    result = node.run(RESTART_CMD=None, CONTAINERD_FLAVOUR="auto")

    # The default restart command targets the host, so it must fail here; that shows which unit
    # it picked and that a failed restart leaves the node unlabelled.
    assert result.returncode == 1
    assert "systemctl restart k3s-agent" in result.stderr
    assert node.calls() == []
    assert node.read(f"{K3S}/config.toml") == generated
    expected = f"""\
{{{{ template "base" . }}}}

{BEGIN}
[plugins."io.containerd.cri.v1.runtime".containerd.runtimes.runsc]
  runtime_type = "io.containerd.runsc.v1"
{END}
"""
    assert node.read(f"{K3S}/config-v3.toml.tmpl") == expected
    toml_of(node.read(f"{K3S}/config-v3.toml.tmpl"))


def test_k3s_with_containerd_1_7_gets_v2_template(node: Node) -> None:
    node.write(f"{K3S}/config.toml", "version = 2\n")

    result = node.run()

    assert result.returncode == 0, result.stderr
    assert "flavour k3s" in result.stdout
    assert not node.path(f"{K3S}/config-v3.toml.tmpl").exists()
    expected = f"""\
{{{{ template "base" . }}}}

{BEGIN}
[plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runsc]
  runtime_type = "io.containerd.runsc.v1"
{END}
"""
    assert node.read(f"{K3S}/config.toml.tmpl") == expected


def test_k3s_user_template_is_extended_not_replaced(node: Node) -> None:
    user = (
        '{{ template "base" . }}\n\n'
        "[plugins.'io.containerd.cri.v1.runtime'.containerd.runtimes.'custom']\n"
        '  runtime_type = "io.containerd.runc.v2"\n'
    )
    node.write(f"{K3S}/config-v3.toml.tmpl", user)

    result = node.run()

    assert result.returncode == 0, result.stderr
    expected = f"""{user}
{BEGIN}
[plugins."io.containerd.cri.v1.runtime".containerd.runtimes.runsc]
  runtime_type = "io.containerd.runsc.v1"
{END}
"""
    assert node.read(f"{K3S}/config-v3.toml.tmpl") == expected


@pytest.mark.parametrize(
    ("containerd_version", "flavour", "written"),
    [
        ("1.7.27", "v2", CONFIG),
        ("v2.1.4", "v3", CONFIG),
        ("2.2.0", "dropin", DROPIN),
    ],
)
def test_auto_without_main_config_follows_containerd_version(
    node: Node, containerd_version: str, flavour: str, written: str
) -> None:
    result = node.run(CONTAINERD_VERSION=containerd_version)

    assert result.returncode == 0, result.stderr
    assert f"flavour {flavour}" in result.stdout
    text = node.read(written)
    assert text.startswith(f"version = {3 if flavour != 'v2' else 2}\n\n{BEGIN}\n")
    toml_of(text)
    assert sorted(p.name for p in node.path("/etc/containerd").rglob("*.toml")) == [
        Path(written).name
    ]


def test_auto_without_config_or_version_fails_before_writing(node: Node) -> None:
    before = node.snapshot()

    result = node.run()

    assert result.returncode == 1
    assert result.stderr == (
        f"install-gvisor: error: no {CONFIG} and the host containerd version is unknown; "
        "set CONTAINERD_VERSION or CONTAINERD_FLAVOUR\n"
    )
    assert node.snapshot() == before
    assert node.calls() == []


@pytest.mark.skipif(os.geteuid() != 0, reason="chroot into the fake node needs root")
def test_auto_asks_host_containerd_binary_for_its_version(node: Node) -> None:
    busybox = shutil.which("busybox")
    if busybox is None or "not a dynamic" not in _ldd(busybox):
        pytest.skip("needs a static busybox (Debian package busybox-static)")
    node.path("/bin").mkdir(parents=True)
    shutil.copy(busybox, node.path("/bin/sh"))
    fake = node.write(
        "/usr/bin/containerd",
        "#!/bin/sh\necho 'containerd github.com/containerd/containerd/v2 v2.1.3 abc123'\n",
    )
    fake.chmod(0o755)

    result = node.run()

    assert result.returncode == 0, result.stderr
    assert "flavour v3" in result.stdout


def _ldd(binary: str) -> str:
    proc = subprocess.run(["ldd", binary], capture_output=True, text=True, check=False)
    return proc.stdout + proc.stderr


def test_config_without_version_header_is_refused(node: Node) -> None:
    node.write(CONFIG, "[plugins.cri]\n  sandbox_image = 'x'\n")

    result = node.run()

    assert result.returncode == 1
    assert len(result.stderr.splitlines()) == 1
    assert "has no 'version = 2' or 'version = 3' header" in result.stderr


def test_flavour_that_contradicts_config_header_is_refused(node: Node) -> None:
    node.write(CONFIG, V3_USER_CONFIG)

    result = node.run(CONTAINERD_FLAVOUR="v2")

    assert result.returncode == 1
    assert result.stderr == (
        f"install-gvisor: error: {CONFIG} is version 3 but CONTAINERD_FLAVOUR is v2; "
        "use the flavour matching its 'version =' header\n"
    )


def test_handler_already_defined_by_user_is_refused_without_changes(node: Node) -> None:
    node.write(
        CONFIG,
        'version = 2\n[plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runsc]\n'
        '  runtime_type = "io.containerd.runsc.v1"\n',
    )
    before = node.snapshot()

    result = node.run()

    assert result.returncode == 1
    assert len(result.stderr.splitlines()) == 1
    assert "already defines runtime 'runsc' outside the kubesandbox block" in result.stderr
    assert node.snapshot() == before
    assert node.calls() == []


def test_disabled_cri_plugin_is_refused(node: Node) -> None:
    node.write(CONFIG, 'version = 2\ndisabled_plugins = ["cri"]\n')

    result = node.run()

    assert result.returncode == 1
    assert "disables the CRI plugin" in result.stderr


def test_binaries_are_installed_world_executable(node: Node) -> None:
    node.write(CONFIG, V2_USER_CONFIG)

    result = node.run(INSTALL_DIR="/opt/gvisor/bin")

    assert result.returncode == 0, result.stderr
    for name, content in [("runsc", node.runsc), ("containerd-shim-runsc-v1", node.shim)]:
        installed = node.path(f"/opt/gvisor/bin/{name}")
        assert installed.read_bytes() == content
        assert stat.S_IMODE(installed.stat().st_mode) == 0o755
    assert not list(node.path("/opt/gvisor/bin").glob("*.kubesandbox-new"))


def test_second_run_changes_nothing_and_does_not_restart(node: Node) -> None:
    node.write(CONFIG, V2_USER_CONFIG)
    assert node.run().returncode == 0
    first = node.snapshot()
    time.sleep(0.01)  # lets a rewrite show up as a different mtime

    result = node.run()

    assert result.returncode == 0, result.stderr
    assert node.snapshot() == first
    assert node.calls() == ["restart", LABELLED, LABELLED]
    assert "not restarting containerd" in result.stdout


def test_runs_with_busybox_shell_and_tools_only(node: Node, tmp_path: Path) -> None:
    # Installer images are often busybox-based; GNU-only options would break there.
    busybox = shutil.which("busybox")
    if busybox is None:
        pytest.skip("needs busybox (Debian package busybox-static)")
    tools = tmp_path / "busybox-bin"
    tools.mkdir()
    subprocess.run([busybox, "--install", "-s", str(tools)], check=True)
    node.write(CONFIG, V2_USER_CONFIG)

    first = node.run(shell=str(tools / "sh"), PATH=str(tools))
    written = node.snapshot()
    second = node.run(shell=str(tools / "sh"), PATH=str(tools))

    assert (first.returncode, second.returncode) == (0, 0), first.stderr + second.stderr
    assert node.snapshot() == written
    assert node.read(CONFIG).endswith(
        '[plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runsc]\n'
        f'  runtime_type = "io.containerd.runsc.v1"\n{END}\n'
    )
    assert node.calls() == ["restart", LABELLED, LABELLED]


def test_second_dropin_and_k3s_runs_change_nothing(node: Node) -> None:
    node.write(CONFIG, 'version = 3\nimports = ["/etc/containerd/conf.d/*.toml"]\n')
    node.write(f"{K3S}/config.toml", "version = 3\n")
    assert node.run(CONTAINERD_FLAVOUR="dropin").returncode == 0
    assert node.run(CONTAINERD_FLAVOUR="k3s").returncode == 0
    first = node.snapshot()
    time.sleep(0.01)

    assert node.run(CONTAINERD_FLAVOUR="dropin").returncode == 0
    assert node.run(CONTAINERD_FLAVOUR="k3s").returncode == 0

    assert node.snapshot() == first
    assert node.calls().count("restart") == 2


def test_handler_change_rewrites_block_in_place_and_restarts(node: Node) -> None:
    node.write(CONFIG, V2_USER_CONFIG)
    assert node.run().returncode == 0
    node.path(CONFIG).write_text(node.read(CONFIG) + "\n# added later by someone else\n")

    result = node.run(HANDLER="gvisor")

    assert result.returncode == 0, result.stderr
    text = node.read(CONFIG)
    assert ".runtimes.runsc]" not in text
    assert text.count(BEGIN) == 1
    assert text.endswith(
        '[plugins."io.containerd.grpc.v1.cri".containerd.runtimes.gvisor]\n'
        f'  runtime_type = "io.containerd.runsc.v1"\n{END}\n\n# added later by someone else\n'
    )
    assert node.calls() == ["restart", LABELLED, "restart", LABELLED]


def test_new_runsc_replaces_only_runsc_and_needs_no_restart(node: Node) -> None:
    node.write(CONFIG, V2_USER_CONFIG)
    assert node.run().returncode == 0
    shim_before = node.path("/usr/local/bin/containerd-shim-runsc-v1").stat().st_mtime_ns
    node.runsc = b"#!/bin/sh\necho newer fake runsc\n"
    node.put_downloads()

    result = node.run()

    assert result.returncode == 0, result.stderr
    assert node.path("/usr/local/bin/runsc").read_bytes() == node.runsc
    assert node.path("/usr/local/bin/containerd-shim-runsc-v1").stat().st_mtime_ns == shim_before
    assert node.calls() == ["restart", LABELLED, LABELLED]


def test_checksum_mismatch_fails_in_one_line_and_changes_nothing(node: Node) -> None:
    node.write(CONFIG, V2_USER_CONFIG)
    before = node.snapshot()
    wrong = sha512(b"something else")

    result = node.run(SHIM_SHA512=wrong)

    assert result.returncode == 1
    assert result.stdout == ""
    assert result.stderr == (
        f"install-gvisor: error: sha512 mismatch for {node.source}/containerd-shim-runsc-v1: "
        f"expected {wrong}, got {sha512(node.shim)}; re-download or fix the pin\n"
    )
    assert node.snapshot() == before
    assert node.calls() == []


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"RUNSC_SHA512": None}, "RUNSC_SHA512 must be 128 hex digits (a sha512), got ''"),
        ({"SOURCE_DIR": None}, "SOURCE_DIR must name the directory holding the downloaded"),
        ({"HANDLER": "Run_SC"}, "HANDLER 'Run_SC' is not a DNS label"),
        ({"HANDLER": "runc"}, "HANDLER must not be 'runc'"),
        ({"CONTAINERD_FLAVOUR": "v4"}, "CONTAINERD_FLAVOUR 'v4' is not one of"),
        ({"NODE_NAME": None, "LABEL_CMD": None}, "NODE_NAME is empty"),
    ],
)
def test_bad_input_fails_in_one_line_before_any_change(
    node: Node, overrides: dict[str, str | None], message: str
) -> None:
    node.write(CONFIG, V2_USER_CONFIG)
    before = node.snapshot()

    result = node.run(**overrides)

    assert result.returncode != 0
    assert len(result.stderr.splitlines()) == 1
    assert message in result.stderr
    assert node.snapshot() == before
    assert node.calls() == []


def test_missing_download_fails_before_any_change(node: Node) -> None:
    node.write(CONFIG, V2_USER_CONFIG)
    (node.source / "runsc").unlink()
    before = node.snapshot()

    result = node.run()

    assert result.returncode == 1
    assert result.stderr == (
        f"install-gvisor: error: {node.source}/runsc is missing; download it before running\n"
    )
    assert node.snapshot() == before


def test_failed_restart_leaves_node_unlabelled(node: Node) -> None:
    node.write(CONFIG, V2_USER_CONFIG)

    result = node.run(RESTART_CMD=f"{node.restart_cmd} && false")

    assert result.returncode == 1
    assert result.stderr.startswith("install-gvisor: error: restart command failed:")
    assert node.calls() == ["restart"]


def test_failed_label_command_fails_the_run(node: Node) -> None:
    node.write(CONFIG, V2_USER_CONFIG)

    result = node.run(LABEL_CMD="exit 7")

    assert result.returncode == 1
    assert result.stderr == "install-gvisor: error: label command failed: exit 7\n"


def test_label_command_sees_node_name_and_label(node: Node) -> None:
    node.write(CONFIG, V2_USER_CONFIG)

    result = node.run(
        NODE_NAME="worker-7",
        READY_LABEL="example.com/sandbox=gvisor",
        LABEL_CMD=f'echo "$NODE_NAME $READY_LABEL" >> {node.calls_log}',
    )

    assert result.returncode == 0, result.stderr
    assert node.calls() == ["restart", "worker-7 example.com/sandbox=gvisor"]


def test_without_once_stays_alive_after_labelling_until_terminated(node: Node) -> None:
    node.write(CONFIG, V2_USER_CONFIG)
    env = node.env()
    # Its own session, so a failing test can stop the script together with its sleep child.
    proc = subprocess.Popen(
        [str(SCRIPT)], env=env, stdout=subprocess.DEVNULL, start_new_session=True
    )
    try:
        deadline = time.monotonic() + 20
        while LABELLED not in node.calls() and time.monotonic() < deadline:
            time.sleep(0.05)
        assert node.calls() == ["restart", LABELLED]
        time.sleep(0.2)
        assert proc.poll() is None, "the installer exited instead of staying alive"
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=10) == 0
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
