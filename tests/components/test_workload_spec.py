"""Each workload rule: one workload that breaks it, and the sound one that passes."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest

from kubesandbox.errors import Problem
from kubesandbox.runtime import GKE_GVISOR, Isolation, Runtime
from kubesandbox.workload_spec import Resources, Workload, problems

SOUND = Workload(name="runner", image="registry.example/runner:1.2.3", runtime=GKE_GVISOR)


def broken(**changes: Any) -> list[Problem]:
    return problems(dataclasses.replace(SOUND, **changes))


def test_sound_workload_has_no_problems() -> None:
    assert problems(SOUND) == []


def test_host_path_is_refused_under_gke_sandbox() -> None:
    assert broken(host_paths={"/cache": "/var/cache"}) == [
        Problem(
            "host_paths",
            {"/cache": "/var/cache"},
            "GKE Sandbox rejects hostPath volumes; use writable_paths (emptyDir) or a "
            "PersistentVolumeClaim",
        )
    ]


def test_privileged_is_refused() -> None:
    assert broken(privileged=True) == [
        Problem("privileged", True, "a privileged container defeats the sandbox; remove it")
    ]


@pytest.mark.parametrize("field", ["host_network", "host_pid", "host_ipc"])
def test_host_namespaces_are_refused(field: str) -> None:
    assert broken(**{field: True}) == [
        Problem(
            field, True, "host namespaces bypass the sandbox and Pod Security restricted; remove it"
        )
    ]


def test_capabilities_beyond_net_bind_service_are_refused() -> None:
    assert broken(add_capabilities=("NET_BIND_SERVICE", "SYS_ADMIN", "NET_RAW")) == [
        Problem(
            "add_capabilities",
            ["NET_RAW", "SYS_ADMIN"],
            "Pod Security restricted allows adding only NET_BIND_SERVICE; drop the others",
        )
    ]


def test_net_bind_service_is_accepted() -> None:
    assert broken(add_capabilities=("NET_BIND_SERVICE",)) == []


def test_sysctls_are_refused_under_gvisor() -> None:
    assert broken(sysctls={"net.core.somaxconn": "1024"}) == [
        Problem("sysctls", {"net.core.somaxconn": "1024"}, "GKE Sandbox does not support sysctls")
    ]


def test_sysctls_are_left_to_kata() -> None:
    kata = Runtime(class_name="kata-qemu", handler="kata-qemu", isolation=Isolation.KATA)
    assert broken(runtime=kata, sysctls={"net.core.somaxconn": "1024"}) == []


def test_root_is_refused() -> None:
    assert broken(run_as_user=0) == [
        Problem("run_as_user", 0, "Pod Security restricted forbids root; use a UID")
    ]


@pytest.mark.parametrize("image", ["nginx", "nginx:latest", "registry.example/a b:1"])
def test_unpinned_or_malformed_images_are_refused(image: str) -> None:
    assert [p.field for p in broken(image=image)] == ["image"]


@pytest.mark.parametrize(
    "image",
    [
        "nginx:1.27",
        "registry.example:5000/team/app:v2",
        "nginx@sha256:" + "a" * 64,
        "nginx:1.27@sha256:" + "b" * 64,
    ],
)
def test_pinned_images_are_accepted(image: str) -> None:
    assert broken(image=image) == []


def test_limit_below_request_is_refused() -> None:
    assert broken(resources=Resources(cpu="1", memory="1Gi", memory_limit="512Mi")) == [
        Problem(
            "resources.memory_limit",
            "512Mi",
            "is below the request 1Gi; raise the limit or lower the request",
        )
    ]


def test_malformed_quantity_is_refused() -> None:
    assert [p.field for p in broken(resources=Resources(cpu="half"))] == ["resources.cpu"]


def test_zero_request_is_refused() -> None:
    assert [p.field for p in broken(resources=Resources(cpu="0"))] == ["resources.cpu"]


@pytest.mark.parametrize("name", ["Runner", "runner_1", "r" * 64])
def test_invalid_names_are_refused(name: str) -> None:
    assert [p.field for p in broken(name=name)] == ["name", "namespace"]


def test_service_names_must_start_with_a_letter() -> None:
    # A valid namespace name, but Services follow RFC 1035.
    assert [p.field for p in broken(name="1runner")] == ["name"]


def test_invalid_namespace_is_refused() -> None:
    assert [(p.field, p.value) for p in broken(namespace="Team")] == [("namespace", "Team")]


def test_replicas_and_port_bounds() -> None:
    assert [p.field for p in broken(replicas=0)] == ["replicas"]
    assert [p.field for p in broken(port=70000)] == ["port"]
    assert broken(port=None) == []


def test_short_progress_deadline_is_refused() -> None:
    assert [p.field for p in broken(progress_deadline_seconds=10)] == ["progress_deadline_seconds"]


def test_relative_writable_path_is_refused() -> None:
    assert [(p.field, p.value) for p in broken(writable_paths=("tmp",))] == [
        ("writable_paths", "tmp")
    ]
