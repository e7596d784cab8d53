"""GvisorNodeInstaller under the mock engine: where it runs, with what privilege, and its checks."""

from __future__ import annotations

import dataclasses
import hashlib
import subprocess
from pathlib import Path
from typing import Any

import pulumi
import pulumi_kubernetes as k8s
import pytest

from kubesandbox import SpecError
from kubesandbox.node_installer import (
    INSTALLER_EXCEPTIONS,
    GvisorNodeInstaller,
    GvisorNodeInstallerArgs,
    GvisorNodes,
    GvisorRelease,
    installer_script,
    problems,
)
from kubesandbox.runtime import Isolation, NodeLabel, Toleration
from tests.conftest import run
from tools.engine import Plan

RUNSC = "a" * 128
SHIM = "b" * 128
NODES = GvisorNodes(
    release=GvisorRelease(date="20250512", runsc_sha512=RUNSC, shim_sha512=SHIM),
    tolerations=(Toleration("kubesandbox.io/sandbox", "gvisor"),),
)
SCRIPT = Path(__file__).parents[2] / "components/kubesandbox/installer/install-gvisor.sh"


def create(nodes: GvisorNodes = NODES) -> Plan:
    def program() -> None:
        provider = k8s.Provider("cluster", context="test")
        installer = GvisorNodeInstaller(
            "gi",
            GvisorNodeInstallerArgs(nodes=nodes),
            opts=pulumi.ResourceOptions(providers=[provider]),
        )
        assert installer.ready_label == NodeLabel("kubesandbox.io/gvisor-ready", "true")

    return run(program)


def pod(plan: Plan) -> dict[str, Any]:
    spec: dict[str, Any] = plan.named("gi-daemon-set").inputs["spec"]["template"]["spec"]
    return spec


def test_children_are_parented_and_use_the_given_provider() -> None:
    plan = create()
    component = plan.named("gi")
    assert component.type == "kubesandbox:index:GvisorNodeInstaller"
    children = [r for r in plan.resources if r.parent == component.urn]
    assert sorted(r.name for r in children) == [
        "gi-daemon-set",
        "gi-namespace",
        "gi-node-labeller",
        "gi-node-labeller-binding",
        "gi-script",
        "gi-service-account",
    ]
    assert {r.provider for r in children} == {plan.named("cluster").urn}


def test_namespace_is_privileged_and_not_sandboxed() -> None:
    labels = create().named("gi-namespace").inputs["metadata"]["labels"]
    assert labels == {
        "pod-security.kubernetes.io/enforce": "privileged",
        "pod-security.kubernetes.io/warn": "privileged",
        "app.kubernetes.io/managed-by": "pulumi",
    }


def test_role_allows_only_reading_and_patching_nodes() -> None:
    plan = create()
    assert plan.named("gi-node-labeller").inputs["rules"] == [
        {"apiGroups": [""], "resources": ["nodes"], "verbs": ["get", "patch"]}
    ]
    binding = plan.named("gi-node-labeller-binding").inputs
    assert binding["roleRef"]["name"] == "kubesandbox-gvisor-node-labeller"
    assert binding["subjects"] == [
        {"kind": "ServiceAccount", "name": "gvisor-installer", "namespace": "kubesandbox-gvisor"}
    ]


def test_config_map_holds_the_packaged_script() -> None:
    data = create().named("gi-script").inputs["data"]
    assert data == {"install-gvisor.sh": SCRIPT.read_text()}
    assert installer_script() == SCRIPT.read_text()


def test_pod_template_carries_the_script_digest_so_a_new_script_rolls_the_pods() -> None:
    annotations = (
        create().named("gi-daemon-set").inputs["spec"]["template"]["metadata"]["annotations"]
    )
    assert annotations == {
        "kubesandbox.io/installer-sha256": hashlib.sha256(SCRIPT.read_bytes()).hexdigest()
    }


def test_runs_only_on_opted_in_nodes_of_the_pinned_architecture() -> None:
    spec = pod(create())
    assert spec["nodeSelector"] == {"kubesandbox.io/gvisor": "true", "kubernetes.io/arch": "amd64"}
    assert spec["tolerations"] == [
        {
            "key": "kubesandbox.io/sandbox",
            "operator": "Equal",
            "value": "gvisor",
            "effect": "NoSchedule",
        }
    ]
    arm = dataclasses.replace(NODES.release, arch="aarch64")
    assert pod(create(dataclasses.replace(NODES, release=arm)))["nodeSelector"] == {
        "kubesandbox.io/gvisor": "true",
        "kubernetes.io/arch": "arm64",
    }


def test_only_the_install_container_is_privileged_with_the_host_root() -> None:
    spec = pod(create())
    [fetch] = spec["initContainers"]
    [install] = spec["containers"]
    assert install["securityContext"] == {"privileged": True}
    assert fetch["securityContext"] == {
        "allowPrivilegeEscalation": False,
        "capabilities": {"drop": ["ALL"]},
    }
    assert {"name": "host", "mountPath": "/host"} in install["volumeMounts"]
    assert fetch["volumeMounts"] == [{"name": "gvisor", "mountPath": "/gvisor"}]
    assert {"name": "host", "hostPath": {"path": "/", "type": "Directory"}} in spec["volumes"]
    assert "hostPID" not in spec
    assert "hostNetwork" not in spec


def test_fetch_downloads_both_binaries_of_the_pinned_release() -> None:
    [fetch] = pod(create())["initContainers"]
    base = "https://storage.googleapis.com/gvisor/releases/release/20250512/x86_64"
    assert fetch["command"] == [
        "/bin/sh",
        "-ec",
        f'curl -fsSL --retry 5 -o "/gvisor/runsc" "{base}/runsc" && '
        f'curl -fsSL --retry 5 -o "/gvisor/runsc.sha512" "{base}/runsc.sha512" && '
        f'curl -fsSL --retry 5 -o "/gvisor/containerd-shim-runsc-v1" '
        f'"{base}/containerd-shim-runsc-v1" && '
        f'curl -fsSL --retry 5 -o "/gvisor/containerd-shim-runsc-v1.sha512" '
        f'"{base}/containerd-shim-runsc-v1.sha512"',
    ]


def test_install_container_gets_the_environment_the_script_reads() -> None:
    [install] = pod(create())["containers"]
    assert install["command"] == [
        "/bin/sh",
        "-ec",
        'RUNSC_SHA512="${RUNSC_SHA512:-$(cut -d" " -f1 /gvisor/runsc.sha512)}" '
        'SHIM_SHA512="${SHIM_SHA512:-$(cut -d" " -f1 /gvisor/containerd-shim-runsc-v1.sha512)}" '
        "exec /bin/sh /opt/kubesandbox/install-gvisor.sh",
    ]
    assert install["env"] == [
        {"name": "HOST_ROOT", "value": "/host"},
        {"name": "HANDLER", "value": "runsc"},
        {"name": "RUNSC_SHA512", "value": RUNSC},
        {"name": "SHIM_SHA512", "value": SHIM},
        {"name": "SOURCE_DIR", "value": "/gvisor"},
        {"name": "CONTAINERD_FLAVOUR", "value": "auto"},
        {"name": "READY_LABEL", "value": "kubesandbox.io/gvisor-ready=true"},
        {"name": "NODE_NAME", "valueFrom": {"fieldRef": {"fieldPath": "spec.nodeName"}}},
    ]
    # Every variable set here is one the script documents in its header.
    header = SCRIPT.read_text().split("set -eu")[0]
    for variable in install["env"]:
        assert f"#   {variable['name']} " in header


def test_unpinned_release_takes_the_published_checksums(tmp_path: Path) -> None:
    unpinned = dataclasses.replace(NODES, release=GvisorRelease(date="20250512"))
    [install] = pod(create(unpinned))["containers"]
    assert [v["name"] for v in install["env"]] == [
        "HOST_ROOT",
        "HANDLER",
        "SOURCE_DIR",
        "CONTAINERD_FLAVOUR",
        "READY_LABEL",
        "NODE_NAME",
    ]
    # Run the container's own command line with sh, the script swapped for one that prints the
    # digests it was given, against .sha512 files in gVisor's published format.
    source = tmp_path / "gvisor"
    source.mkdir()
    (source / "runsc.sha512").write_text(f"{'a' * 128}  runsc\n")
    (source / "containerd-shim-runsc-v1.sha512").write_text(
        f"{'b' * 128}  containerd-shim-runsc-v1\n"
    )
    script = tmp_path / "install-gvisor.sh"
    script.write_text('echo "$RUNSC_SHA512 $SHIM_SHA512"\n')
    command = (
        install["command"][2]
        .replace("/gvisor/", f"{source}/")
        .replace("/opt/kubesandbox/install-gvisor.sh", str(script))
    )
    result = subprocess.run(["sh", "-ec", command], capture_output=True, text=True, check=True)
    assert result.stdout == f"{'a' * 128} {'b' * 128}\n"
    pinned = subprocess.run(
        ["sh", "-ec", command],
        capture_output=True,
        text=True,
        check=True,
        env={"PATH": "/usr/bin:/bin", "RUNSC_SHA512": "c" * 128, "SHIM_SHA512": "d" * 128},
    )
    assert pinned.stdout == f"{'c' * 128} {'d' * 128}\n"


def test_pinning_only_one_binary_is_refused() -> None:
    half = dataclasses.replace(NODES, release=GvisorRelease(date="20250512", runsc_sha512=RUNSC))
    assert rendered(half) == [
        "release = {'runsc_sha512': '"
        + RUNSC
        + "', 'shim_sha512': None}: pin both sha512 values or neither; one alone leaves the "
        "other binary unpinned"
    ]


def test_runtime_class_selects_the_ready_label_not_the_opt_in_label() -> None:
    spec = NODES.runtime_class
    assert spec.name == "gvisor"
    assert spec.handler == "runsc"
    assert spec.isolation is Isolation.GVISOR
    assert spec.node_selector == {"kubesandbox.io/gvisor-ready": "true"}
    assert spec.tolerations == (Toleration("kubesandbox.io/sandbox", "gvisor"),)
    assert NODES.runtime.class_name == "gvisor"


BAD = {
    "latest release": (
        dataclasses.replace(NODES.release, date="latest"),
        None,
        "release.date = 'latest': must be a gVisor release folder such as \"20250512\"; "
        '"latest" is not a pin',
    ),
    "unknown arch": (
        dataclasses.replace(NODES.release, arch="amd64"),
        None,
        "release.arch = 'amd64': must be one of x86_64, aarch64",
    ),
    "short sha": (
        dataclasses.replace(NODES.release, runsc_sha512="abc"),
        None,
        "release.runsc_sha512 = 'abc': must be the release's sha512: 128 lowercase hex digits",
    ),
}
NODE_BAD: dict[str, tuple[dict[str, Any], str]] = {
    "handler runc": (
        {"handler": "runc"},
        "handler = 'runc': names containerd's unsandboxed default runtime",
    ),
    "handler not a label": (
        {"handler": "Run_SC"},
        "handler = 'Run_SC': must be a DNS label: at most 63 lowercase letters, digits or '-', "
        "starting and ending with a letter or digit",
    ),
    "ready label equals opt-in": (
        {"ready_label": NodeLabel("kubesandbox.io/gvisor", "done")},
        "ready_label = 'kubesandbox.io/gvisor=done': must differ from opt_in_label, or pods "
        "would land on nodes not yet installed",
    ),
    "label without value": (
        {"opt_in_label": NodeLabel("kubesandbox.io/gvisor", "")},
        "opt_in_label = 'kubesandbox.io/gvisor=': needs a key and a value, without '=' in the key",
    ),
    "untagged image": (
        {"image": "alpine/k8s"},
        "image = 'alpine/k8s': must name a tag or digest, e.g. repo/app:1.2.3",
    ),
    "unknown flavour": (
        {"containerd_flavour": "v4"},
        "containerd_flavour = 'v4': must be one of auto, v2, v3, dropin, k3s",
    ),
}


def rendered(nodes: GvisorNodes) -> list[str]:
    return [p.render("x").removeprefix("x: ") for p in problems(nodes)]


@pytest.mark.parametrize("case", BAD)
def test_bad_release_is_refused_with_one_line(case: str) -> None:
    release, _, expected = BAD[case]
    assert rendered(dataclasses.replace(NODES, release=release)) == [expected]


@pytest.mark.parametrize("case", NODE_BAD)
def test_bad_node_spec_is_refused_with_one_line(case: str) -> None:
    changes, expected = NODE_BAD[case]
    assert rendered(dataclasses.replace(NODES, **changes)) == [expected]


def test_sound_spec_has_no_problem() -> None:
    assert problems(NODES) == []


def test_component_refuses_before_registering_its_resources() -> None:
    broken = dataclasses.replace(NODES, handler="runc")
    with pytest.raises(SpecError) as raised:
        create(broken)
    assert str(raised.value) == (
        "gVisor installer \"gi\": handler = 'runc': names containerd's unsandboxed default runtime"
    )


def test_scanner_exceptions_are_annotated_on_the_daemon_set_alone() -> None:
    plan = create()
    daemon_set = plan.of_type("kubernetes:apps/v1:DaemonSet")[0].inputs
    annotations = daemon_set["metadata"]["annotations"]
    assert sorted(annotations.values()) == sorted(
        f"{check}={reason}" for check, reason in INSTALLER_EXCEPTIONS.items()
    )
    assert all(key.startswith("checkov.io/skip") for key in annotations)
    others = [r for r in plan.resources if r.type != "kubernetes:apps/v1:DaemonSet"]
    assert all("checkov.io" not in str(r.inputs) for r in others)
