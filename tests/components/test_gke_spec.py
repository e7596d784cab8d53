"""Each GKE Sandbox and GKE rule: one spec that breaks it, and the sound spec that passes."""

from __future__ import annotations

import dataclasses

import pytest

from kubesandbox.errors import Problem
from kubesandbox.gke_spec import GkeCluster, NodePool, Regional, Taint, problems

SYSTEM = NodePool(name="system", min_nodes=1, max_nodes=2)
SANDBOX = NodePool(name="gvisor", sandboxed=True, min_nodes=0, max_nodes=3)
SOUND = GkeCluster(name="sandbox", node_pools=[SYSTEM, SANDBOX])


def with_pools(*pools: NodePool) -> GkeCluster:
    return dataclasses.replace(SOUND, node_pools=list(pools))


def test_sound_cluster_has_no_problems() -> None:
    assert problems(SOUND) == []


def test_sandbox_pool_must_use_cos_containerd() -> None:
    bad = with_pools(SYSTEM, dataclasses.replace(SANDBOX, image_type="UBUNTU_CONTAINERD"))
    assert problems(bad) == [
        Problem(
            'node_pools["gvisor"].image_type',
            "UBUNTU_CONTAINERD",
            'GKE Sandbox runs only on COS_CONTAINERD nodes; set image_type="COS_CONTAINERD"',
        )
    ]


def test_ordinary_pool_may_use_another_image() -> None:
    ubuntu = dataclasses.replace(SYSTEM, image_type="UBUNTU_CONTAINERD")
    assert problems(with_pools(ubuntu, SANDBOX)) == []


def test_needs_an_ordinary_pool_with_a_node() -> None:
    empty_system = dataclasses.replace(SYSTEM, min_nodes=0)
    assert problems(with_pools(empty_system, SANDBOX)) == [
        Problem(
            "node_pools",
            ["system", "gvisor"],
            "GKE Sandbox needs a pool with sandboxed=False and min_nodes >= 1 for system pods; "
            "add one",
        )
    ]


def test_only_sandboxed_pools_is_refused() -> None:
    found = problems(with_pools(SANDBOX))
    assert [p.field for p in found] == ["node_pools"]
    assert "sandboxed=False" in found[0].fix


def test_needs_a_sandboxed_pool() -> None:
    assert problems(with_pools(SYSTEM)) == [
        Problem(
            "node_pools",
            ["system"],
            "no pool has sandboxed=True, so nothing could run in gVisor; add one",
        )
    ]


def test_gke_sandbox_taint_is_refused() -> None:
    tainted = dataclasses.replace(SANDBOX, taints=[Taint("sandbox.gke.io/runtime", "gvisor")])
    assert problems(with_pools(SYSTEM, tainted)) == [
        Problem(
            'node_pools["gvisor"].taints["sandbox.gke.io/runtime"]',
            "gvisor",
            "GKE manages the sandbox.gke.io/runtime taint and rejects pools that declare it; "
            "remove it",
        )
    ]


def test_own_taint_is_accepted() -> None:
    tainted = dataclasses.replace(SANDBOX, taints=[Taint("tenant", "untrusted")])
    assert problems(with_pools(SYSTEM, tainted)) == []


def test_gke_sandbox_label_is_refused() -> None:
    labelled = dataclasses.replace(SANDBOX, labels={"sandbox.gke.io/runtime": "gvisor"})
    assert [p.field for p in problems(with_pools(SYSTEM, labelled))] == [
        'node_pools["gvisor"].labels["sandbox.gke.io/runtime"]'
    ]


def test_unknown_taint_effect_is_refused() -> None:
    tainted = dataclasses.replace(SANDBOX, taints=[Taint("tenant", "a", "NoSchedule")])
    assert problems(with_pools(SYSTEM, tainted)) == [
        Problem(
            'node_pools["gvisor"].taints["tenant"].effect',
            "NoSchedule",
            "must be one of NO_SCHEDULE, PREFER_NO_SCHEDULE, NO_EXECUTE",
        )
    ]


def test_min_above_max_is_refused() -> None:
    inverted = dataclasses.replace(SANDBOX, min_nodes=4, max_nodes=3)
    assert problems(with_pools(SYSTEM, inverted)) == [
        Problem(
            'node_pools["gvisor"].min_nodes',
            4,
            "is above max_nodes (3); lower min_nodes or raise max_nodes",
        )
    ]


def test_min_equal_to_max_is_accepted() -> None:
    fixed = dataclasses.replace(SANDBOX, min_nodes=3, max_nodes=3)
    assert problems(with_pools(SYSTEM, fixed)) == []


@pytest.mark.parametrize("name", ["Sandbox", "1sandbox", "sandbox-", "s" * 41, "sand_box"])
def test_invalid_cluster_names_are_refused(name: str) -> None:
    found = problems(dataclasses.replace(SOUND, name=name))
    assert [(p.field, p.value) for p in found] == [("name", name)]


@pytest.mark.parametrize("name", ["s", "sandbox-prod", "a" + "b" * 38 + "c"])
def test_valid_cluster_names_are_accepted(name: str) -> None:
    assert problems(dataclasses.replace(SOUND, name=name)) == []


def test_invalid_pool_name_is_refused() -> None:
    found = problems(with_pools(SYSTEM, dataclasses.replace(SANDBOX, name="gVisor")))
    assert [(p.field, p.value) for p in found] == [('node_pools["gVisor"].name', "gVisor")]


def test_duplicate_pool_names_are_refused() -> None:
    second = dataclasses.replace(SANDBOX, name="system")
    assert problems(with_pools(SYSTEM, second)) == [
        Problem("node_pools[].name", "system", "appears 2 times; each must be unique")
    ]


def test_kubernetes_version_must_be_a_minor() -> None:
    found = problems(dataclasses.replace(SOUND, kubernetes_version="1.34.1-gke.100"))
    assert found == [Problem("kubernetes_version", "1.34.1-gke.100", 'must be a minor like "1.34"')]


def test_private_cluster_needs_a_slash_28() -> None:
    private = dataclasses.replace(SOUND, private_nodes=True, master_ipv4_cidr_block="172.16.0.0/24")
    assert problems(private) == [
        Problem(
            "master_ipv4_cidr_block",
            "172.16.0.0/24",
            "GKE needs a /28 for the control plane of a private cluster",
        )
    ]


def test_overlapping_ranges_are_refused() -> None:
    found = problems(dataclasses.replace(SOUND, pods_cidr="10.10.0.0/16"))
    assert found == [
        Problem("pods_cidr", "10.10.0.0/16", "overlaps subnet_cidr; pick a free range")
    ]


def test_duplicate_zones_are_refused() -> None:
    found = problems(dataclasses.replace(SOUND, topology=Regional(zones=("a", "a"))))
    assert found == [Problem("topology.zones", "a", "appears 2 times; each must be unique")]


def test_location_and_node_locations() -> None:
    regional = dataclasses.replace(SOUND, topology=Regional(zones=("b", "c")))
    assert SOUND.location("europe-west4") == "europe-west4-a"
    assert SOUND.node_locations("europe-west4") is None
    assert regional.location("europe-west4") == "europe-west4"
    assert regional.node_locations("europe-west4") == ["europe-west4-b", "europe-west4-c"]
