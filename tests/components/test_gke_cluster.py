"""SandboxedGkeCluster under the mock engine: GKE Sandbox settings, hardening and drift options."""

from __future__ import annotations

import dataclasses

import pytest

from kubesandbox import (
    GkeCluster,
    NodePool,
    Regional,
    ReleaseChannel,
    SandboxedGkeCluster,
    SandboxedGkeClusterArgs,
    SpecError,
)
from kubesandbox.gke_cluster import CLUSTER_IGNORE_CHANGES, NODE_POOL_IGNORE_CHANGES
from tests.conftest import run
from tools.engine import Plan

SPEC = GkeCluster(
    name="sandbox",
    release_channel=ReleaseChannel.STABLE,
    node_pools=[
        NodePool(name="system", machine_type="e2-standard-2", min_nodes=1, max_nodes=2),
        NodePool(name="gvisor", sandboxed=True, min_nodes=0, max_nodes=5, spot=True),
    ],
)


def create(spec: GkeCluster = SPEC) -> Plan:
    return run(
        lambda: SandboxedGkeCluster(
            "c", SandboxedGkeClusterArgs(spec=spec, project="test-project", region="europe-west4")
        )
    )


def test_children_are_parented_to_the_component() -> None:
    plan = create()
    component = plan.named("c")
    assert component.type == "kubesandbox:index:SandboxedGkeCluster"
    assert sorted(r.name for r in plan.resources if r.parent == component.urn) == [
        "c-cluster",
        "c-gvisor",
        "c-kubernetes",
        "c-network",
        "c-nodes",
        "c-nodes-artifactregistry.reader",
        "c-nodes-container.defaultNodeServiceAccount",
        "c-subnet",
        "c-system",
    ]


def test_cluster_settings() -> None:
    cluster = create().named("c-cluster").inputs
    assert cluster["location"] == "europe-west4-a"
    assert "nodeLocations" not in cluster
    assert cluster["removeDefaultNodePool"] is True
    assert cluster["initialNodeCount"] == 1
    assert cluster["releaseChannel"] == {"channel": "STABLE"}
    assert cluster["datapathProvider"] == "ADVANCED_DATAPATH"
    assert cluster["workloadIdentityConfig"] == {"workloadPool": "test-project.svc.id.goog"}
    assert cluster["enableShieldedNodes"] is True
    assert cluster["networkingMode"] == "VPC_NATIVE"
    assert cluster["minMasterVersion"] == "1.34"
    assert "privateClusterConfig" not in cluster
    assert cluster["nodeConfig"]["workloadMetadataConfig"] == {"mode": "GKE_METADATA"}


def test_sandbox_pool_runs_gvisor_on_cos_containerd() -> None:
    pool = create().named("c-gvisor").inputs
    assert pool["nodeConfig"]["sandboxConfig"] == {"type": "GVISOR"}
    assert pool["nodeConfig"]["imageType"] == "COS_CONTAINERD"
    assert pool["nodeConfig"]["spot"] is True
    assert pool["autoscaling"] == {
        "minNodeCount": 0,
        "maxNodeCount": 5,
        "locationPolicy": "BALANCED",
    }
    # A pool allowed to scale to zero still starts with a node, so the first rollout can land.
    assert pool["initialNodeCount"] == 1
    assert pool["nodeConfig"]["taints"] == []


def test_system_pool_is_not_sandboxed() -> None:
    pool = create().named("c-system").inputs
    assert "sandboxConfig" not in pool["nodeConfig"]
    assert pool["autoscaling"]["minNodeCount"] == 1


@pytest.mark.parametrize("pool", ["c-system", "c-gvisor"])
def test_every_pool_is_hardened(pool: str) -> None:
    config = create().named(pool).inputs["nodeConfig"]
    assert config["workloadMetadataConfig"] == {"mode": "GKE_METADATA"}
    assert config["shieldedInstanceConfig"] == {
        "enableSecureBoot": True,
        "enableIntegrityMonitoring": True,
    }
    assert config["oauthScopes"] == ["https://www.googleapis.com/auth/cloud-platform"]
    assert config["metadata"] == {"disable-legacy-endpoints": "true"}


def test_nodes_use_their_own_least_privilege_account() -> None:
    plan = create()
    account = plan.named("c-nodes")
    assert account.inputs["accountId"] == "sandbox-nodes"
    roles = sorted(r.inputs["role"] for r in plan.of_type("gcp:projects/iAMMember:IAMMember"))
    assert roles == ["roles/artifactregistry.reader", "roles/container.defaultNodeServiceAccount"]
    for pool in ("c-system", "c-gvisor"):
        assert account.urn in plan.named(pool).dependencies


def test_drift_options_ignore_what_gke_owns() -> None:
    plan = create()
    assert plan.named("c-cluster").ignore_changes == tuple(CLUSTER_IGNORE_CHANGES)
    assert CLUSTER_IGNORE_CHANGES == ["nodeConfig", "nodePools", "initialNodeCount"]
    for pool in ("c-system", "c-gvisor"):
        registration = plan.named(pool)
        assert registration.ignore_changes == ("initialNodeCount", "nodeCount")
        assert registration.inputs["ignoreNodeCountChanges"] is True
        assert registration.delete_before_replace is True
        assert registration.inputs["location"] == "europe-west4-a"
    assert NODE_POOL_IGNORE_CHANGES == ["initialNodeCount", "nodeCount"]


def test_unprotected_cluster_can_be_destroyed() -> None:
    cluster = create(dataclasses.replace(SPEC, deletion_protection=False)).named("c-cluster")
    assert cluster.protect is False
    assert cluster.inputs["deletionProtection"] is False


def test_protected_cluster_is_protected_twice() -> None:
    cluster = create(dataclasses.replace(SPEC, deletion_protection=True)).named("c-cluster")
    assert cluster.protect is True
    assert cluster.inputs["deletionProtection"] is True


def test_private_regional_cluster() -> None:
    spec = dataclasses.replace(
        SPEC,
        topology=Regional(zones=("a", "b", "c")),
        private_nodes=True,
        authorized_networks={"vpn": "198.51.100.0/24"},
    )
    plan = create(spec)
    cluster = plan.named("c-cluster").inputs
    assert cluster["location"] == "europe-west4"
    assert cluster["nodeLocations"] == ["europe-west4-a", "europe-west4-b", "europe-west4-c"]
    assert cluster["privateClusterConfig"] == {
        "enablePrivateNodes": True,
        "enablePrivateEndpoint": False,
        "masterIpv4CidrBlock": "172.16.0.0/28",
    }
    assert cluster["masterAuthorizedNetworksConfig"] == {
        "cidrBlocks": [{"displayName": "vpn", "cidrBlock": "198.51.100.0/24"}]
    }
    nat = plan.named("c-nat").inputs
    assert nat["sourceSubnetworkIpRangesToNat"] == "ALL_SUBNETWORKS_ALL_IP_RANGES"


def test_public_cluster_has_no_nat() -> None:
    assert create().of_type("gcp:compute/routerNat:RouterNat") == []


def test_subnet_carries_pod_and_service_ranges() -> None:
    subnet = create().named("c-subnet").inputs
    assert subnet["privateIpGoogleAccess"] is True
    assert subnet["secondaryIpRanges"] == [
        {"rangeName": "pods", "ipCidrRange": "10.20.0.0/14"},
        {"rangeName": "services", "ipCidrRange": "10.30.0.0/20"},
    ]


def test_kubernetes_provider_uses_the_cluster_kubeconfig() -> None:
    plan = create()
    provider = plan.named("c-kubernetes")
    assert provider.type == "pulumi:providers:kubernetes"
    assert plan.named("c-cluster").urn in provider.dependencies


def test_bad_spec_registers_nothing() -> None:
    bad = dataclasses.replace(SPEC, node_pools=[NodePool(name="gvisor", sandboxed=True)])
    with pytest.raises(SpecError) as raised:
        create(bad)
    assert str(raised.value).startswith("cluster \"c\": node_pools = ['gvisor']: GKE Sandbox")
