"""How this package builds a GKE node pool: the hardened node config and the pool's lifecycle
settings, shared by SandboxedGkeCluster and SandboxNodePool so both create identical pools."""

from __future__ import annotations

from typing import Any

import pulumi
import pulumi_gcp as gcp

from kubesandbox.gke_spec import NodePool

# An autoscaled pool's size is the autoscaler's business; declaring it would plan a change on
# every preview.
NODE_POOL_IGNORE_CHANGES = ["initialNodeCount", "nodeCount"]

CLOUD_PLATFORM_SCOPE = "https://www.googleapis.com/auth/cloud-platform"


def node_config(
    pool: NodePool, service_account: pulumi.Input[str], *, sandboxed: bool
) -> dict[str, Any]:
    """The pool's `node_config`: Shielded VMs, GKE metadata server, no legacy endpoints, and
    GKE Sandbox (gVisor) when `sandboxed`."""
    config: dict[str, Any] = {
        "machine_type": pool.machine_type,
        "image_type": pool.image_type,
        "disk_size_gb": pool.disk_size_gb,
        "disk_type": "pd-balanced",
        "spot": pool.spot,
        "service_account": service_account,
        "oauth_scopes": [CLOUD_PLATFORM_SCOPE],
        # Pods see the GKE metadata server (Workload Identity), never the node's credentials.
        "workload_metadata_config": {"mode": "GKE_METADATA"},
        "shielded_instance_config": {
            "enable_secure_boot": True,
            "enable_integrity_monitoring": True,
        },
        "metadata": {"disable-legacy-endpoints": "true"},
        "labels": dict(pool.labels),
        "taints": [{"key": t.key, "value": t.value, "effect": t.effect} for t in pool.taints],
    }
    if sandboxed:
        config["sandbox_config"] = {"type": "GVISOR"}
    if pool.kata:
        # Kata starts a VM per pod; on Compute Engine that VM is nested in the node's own.
        config["advanced_machine_features"] = {
            "threads_per_core": pool.threads_per_core,
            "enable_nested_virtualization": True,
        }
    return config


def node_pool(
    resource_name: str,
    pool: NodePool,
    *,
    project: pulumi.Input[str],
    cluster: pulumi.Input[str],
    location: pulumi.Input[str],
    service_account: pulumi.Input[str],
    opts: pulumi.ResourceOptions,
) -> gcp.container.NodePool:
    """An autoscaled, auto-repaired, surge-upgraded GKE node pool in `cluster`."""
    # The SDK's overloads cannot type node_config's dict, so the call is typed here.
    created: gcp.container.NodePool = gcp.container.NodePool(
        resource_name,
        project=project,
        name=pool.name,
        cluster=cluster,
        location=location,
        initial_node_count=max(pool.min_nodes, 1),
        autoscaling={
            "min_node_count": pool.min_nodes,
            "max_node_count": pool.max_nodes,
            "location_policy": "BALANCED",
        },
        ignore_node_count_changes=True,
        management={"auto_repair": True, "auto_upgrade": True},
        upgrade_settings={"strategy": "SURGE", "max_surge": 1, "max_unavailable": 0},
        node_config=node_config(pool, service_account, sandboxed=pool.sandboxed),
        opts=pulumi.ResourceOptions.merge(
            pulumi.ResourceOptions(
                # Pool names are fixed, so a replacement must delete the old pool first.
                delete_before_replace=True,
                ignore_changes=NODE_POOL_IGNORE_CHANGES,
                custom_timeouts=pulumi.CustomTimeouts(create="30m", update="30m", delete="30m"),
            ),
            opts,
        ),
    )
    return created
