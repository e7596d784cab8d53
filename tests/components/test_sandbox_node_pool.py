"""SandboxNodePool under the mock engine: a gVisor pool in a cluster the program does not own."""

from __future__ import annotations

import dataclasses

import pytest

from kubesandbox import (
    GkeCluster,
    NodePool,
    SandboxedGkeCluster,
    SandboxedGkeClusterArgs,
    SandboxNodePool,
    SandboxNodePoolArgs,
    SpecError,
)
from kubesandbox.gke_nodes import NODE_POOL_IGNORE_CHANGES
from tests.conftest import run
from tools.engine import Plan

ARGS = SandboxNodePoolArgs(
    pool=NodePool(name="gvisor", sandboxed=True, min_nodes=0, max_nodes=4, spot=True),
    cluster="shared",
    location="europe-west4",
    project="test-project",
    service_account="nodes@test-project.iam.gserviceaccount.com",
)


def add(args: SandboxNodePoolArgs = ARGS) -> Plan:
    return run(lambda: SandboxNodePool("sandbox", args))


def test_registers_one_pool_under_the_component() -> None:
    plan = add()
    component = plan.named("sandbox")
    assert component.type == "kubesandbox:index:SandboxNodePool"
    assert [(r.type, r.name, r.parent) for r in plan.resources if r is not component] == [
        ("gcp:container/nodePool:NodePool", "sandbox-pool", component.urn)
    ]


def test_pool_targets_the_existing_cluster_and_runs_gvisor() -> None:
    pool = add().named("sandbox-pool")
    assert pool.inputs["name"] == "gvisor"
    assert pool.inputs["cluster"] == "shared"
    assert pool.inputs["location"] == "europe-west4"
    assert pool.inputs["project"] == "test-project"
    assert pool.inputs["autoscaling"] == {
        "minNodeCount": 0,
        "maxNodeCount": 4,
        "locationPolicy": "BALANCED",
    }
    config = pool.inputs["nodeConfig"]
    assert config["sandboxConfig"] == {"type": "GVISOR"}
    assert config["imageType"] == "COS_CONTAINERD"
    assert config["serviceAccount"] == "nodes@test-project.iam.gserviceaccount.com"
    assert config["workloadMetadataConfig"] == {"mode": "GKE_METADATA"}
    assert config["spot"] is True
    assert pool.ignore_changes == tuple(NODE_POOL_IGNORE_CHANGES)
    assert pool.delete_before_replace is True


def test_pool_matches_the_pools_of_sandboxed_gke_cluster() -> None:
    spec = GkeCluster(name="own", node_pools=[NodePool(name="system"), ARGS.pool])
    owned = run(
        lambda: SandboxedGkeCluster(
            "own", SandboxedGkeClusterArgs(spec=spec, project="test-project", region="x")
        )
    ).named("own-gvisor")
    added = add().named("sandbox-pool")
    ignored = {"cluster", "location", "project"}

    def settings(inputs: object) -> dict[str, object]:
        assert isinstance(inputs, dict)
        config = {k: v for k, v in inputs["nodeConfig"].items() if k != "serviceAccount"}
        return {**{k: v for k, v in inputs.items() if k not in ignored}, "nodeConfig": config}

    assert settings(added.inputs) == settings(owned.inputs)


def test_refuses_a_pool_that_is_not_sandboxed_before_registering() -> None:
    args = dataclasses.replace(ARGS, pool=NodePool(name="plain", sandboxed=False))
    with pytest.raises(SpecError) as error:
        add(args)
    assert str(error.value) == (
        'node pool "sandbox": pool.sandboxed = False: a SandboxNodePool runs pods in gVisor; '
        "set sandboxed=True"
    )


def test_reports_every_problem_with_its_field() -> None:
    args = dataclasses.replace(
        ARGS,
        pool=NodePool(name="gvisor", sandboxed=True, image_type="UBUNTU_CONTAINERD"),
        cluster="Shared_Cluster",
        service_account="nodes",
    )
    with pytest.raises(SpecError) as error:
        add(args)
    assert [p.field for p in error.value.problems] == [
        "pool.image_type",
        "cluster",
        "service_account",
    ]
