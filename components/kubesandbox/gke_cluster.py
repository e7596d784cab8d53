"""A GKE cluster for untrusted workloads: its network, node identity, cluster, node pools
(Standard: an ordinary one for system pods, gVisor or Kata ones for the rest; Autopilot: none,
GKE runs the nodes) and a Kubernetes provider for it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_gcp as gcp
import pulumi_kubernetes as k8s

from kubesandbox import gke_spec
from kubesandbox.errors import raise_if_any
from kubesandbox.gke_nodes import (
    CLOUD_PLATFORM_SCOPE,
    NODE_POOL_IGNORE_CHANGES,
    node_config,
    node_pool,
)
from kubesandbox.gke_spec import AutopilotCluster, GkeCluster
from kubesandbox.kubeconfig import gke_kubeconfig

__all__ = [
    "CLUSTER_IGNORE_CHANGES",
    "NODE_POOL_IGNORE_CHANGES",
    "NODE_ROLES",
    "SandboxedGkeCluster",
    "SandboxedGkeClusterArgs",
]

# Values GKE changes after creation. Declaring them would plan a change, or a replacement, on every
# preview: the default pool's settings and size matter only until it is removed.
CLUSTER_IGNORE_CHANGES = ["nodeConfig", "nodePools", "initialNodeCount"]

# The node service account gets only what nodes need to log, report metrics and pull images.
NODE_ROLES = ("roles/container.defaultNodeServiceAccount", "roles/artifactregistry.reader")


@dataclass(frozen=True)
class SandboxedGkeClusterArgs:
    """Inputs of a SandboxedGkeCluster."""

    spec: GkeCluster | AutopilotCluster
    """The cluster as the stack declares it: Standard with node pools, or Autopilot."""
    project: str
    """Google Cloud project that holds the cluster."""
    region: str
    """Google Cloud region; zonal clusters use a zone in it."""


class SandboxedGkeCluster(pulumi.ComponentResource):
    """A GKE cluster with GKE Sandbox node pools and a Kubernetes provider that targets it."""

    cluster: gcp.container.Cluster
    node_pools: dict[str, gcp.container.NodePool]
    sandbox_node_pools: list[gcp.container.NodePool]
    kata_node_pools: list[gcp.container.NodePool]
    kubeconfig: pulumi.Output[str]
    provider: k8s.Provider

    def __init__(
        self,
        name: str,
        args: SandboxedGkeClusterArgs,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        spec = args.spec
        raise_if_any(
            f'cluster "{name}"',
            gke_spec.autopilot_problems(spec)
            if isinstance(spec, AutopilotCluster)
            else gke_spec.problems(spec),
        )
        super().__init__("kubesandbox:index:SandboxedGkeCluster", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        location = spec.location(args.region)

        network = gcp.compute.Network(
            f"{name}-network",
            project=args.project,
            name=spec.name,
            auto_create_subnetworks=False,
            opts=child,
        )
        subnet = gcp.compute.Subnetwork(
            f"{name}-subnet",
            project=args.project,
            name=spec.name,
            region=args.region,
            network=network.id,
            ip_cidr_range=spec.subnet_cidr,
            # Nodes reach Google APIs and Artifact Registry without public addresses.
            private_ip_google_access=True,
            secondary_ip_ranges=[
                {"range_name": "pods", "ip_cidr_range": spec.pods_cidr},
                {"range_name": "services", "ip_cidr_range": spec.services_cidr},
            ],
            opts=child,
        )
        if spec.private_nodes:
            router = gcp.compute.Router(
                f"{name}-router",
                project=args.project,
                name=spec.name,
                region=args.region,
                network=network.id,
                opts=child,
            )
            # Private nodes still pull public images; NAT gives them egress without addresses.
            gcp.compute.RouterNat(
                f"{name}-nat",
                project=args.project,
                name=spec.name,
                region=args.region,
                router=router.name,
                nat_ip_allocate_option="AUTO_ONLY",
                source_subnetwork_ip_ranges_to_nat="ALL_SUBNETWORKS_ALL_IP_RANGES",
                opts=child,
            )

        node_account = gcp.serviceaccount.Account(
            f"{name}-nodes",
            project=args.project,
            account_id=f"{spec.name[:24]}-nodes",
            display_name=f"Nodes of GKE cluster {spec.name}",
            opts=child,
        )
        for role in NODE_ROLES:
            gcp.projects.IAMMember(
                f"{name}-nodes-{role.split('/')[-1]}",
                project=args.project,
                role=role,
                member=node_account.email.apply(lambda email: f"serviceAccount:{email}"),
                opts=child,
            )

        shared: dict[str, Any] = {
            "project": args.project,
            "name": spec.name,
            "location": location,
            "network": network.id,
            "subnetwork": subnet.id,
            "networking_mode": "VPC_NATIVE",
            "ip_allocation_policy": {
                "cluster_secondary_range_name": "pods",
                "services_secondary_range_name": "services",
            },
            "release_channel": {"channel": spec.release_channel.value},
            "min_master_version": spec.kubernetes_version,
            "private_cluster_config": (
                {
                    "enable_private_nodes": True,
                    "enable_private_endpoint": False,
                    "master_ipv4_cidr_block": spec.master_ipv4_cidr_block,
                }
                if spec.private_nodes
                else None
            ),
            "master_authorized_networks_config": (
                {
                    "cidr_blocks": [
                        {"display_name": display_name, "cidr_block": cidr}
                        for display_name, cidr in spec.authorized_networks.items()
                    ]
                }
                if spec.authorized_networks
                else None
            ),
            "deletion_protection": spec.deletion_protection,
            "resource_labels": {"managed-by": "pulumi", "cluster": spec.name},
        }
        if isinstance(spec, AutopilotCluster):
            # Autopilot always runs Dataplane V2, Workload Identity and shielded nodes, and
            # creates nodes itself: only their identity is declared. A pod that names
            # runtimeClassName gvisor gets a GKE Sandbox node without any node pool.
            specific: dict[str, Any] = {
                "enable_autopilot": True,
                "cluster_autoscaling": {
                    "auto_provisioning_defaults": {
                        "service_account": node_account.email,
                        "oauth_scopes": [CLOUD_PLATFORM_SCOPE],
                    }
                },
            }
        else:
            specific = {
                "node_locations": spec.node_locations(args.region),
                # GKE Sandbox cannot run on the default pool; it is replaced by the pools below.
                "remove_default_node_pool": True,
                "initial_node_count": 1,
                # The short-lived default pool is hardened like the others all the same.
                "node_config": node_config(spec.node_pools[0], node_account.email, sandboxed=False),
                "datapath_provider": "ADVANCED_DATAPATH",
                "workload_identity_config": {"workload_pool": f"{args.project}.svc.id.goog"},
                "enable_shielded_nodes": True,
            }
        self.cluster = gcp.container.Cluster(
            f"{name}-cluster",
            **shared,
            **specific,
            opts=pulumi.ResourceOptions(
                parent=self,
                protect=spec.deletion_protection,
                ignore_changes=CLUSTER_IGNORE_CHANGES,
                custom_timeouts=pulumi.CustomTimeouts(create="45m", update="45m", delete="45m"),
            ),
        )

        self.node_pools = {
            pool.name: node_pool(
                f"{name}-{pool.name}",
                pool,
                project=args.project,
                cluster=self.cluster.name,
                # Taken from the cluster, not recomputed, so the pool is never replaced for it.
                location=self.cluster.location,
                service_account=node_account.email,
                opts=child,
            )
            for pool in ([] if isinstance(spec, AutopilotCluster) else spec.node_pools)
        }
        self.sandbox_node_pools = [self.node_pools[p.name] for p in spec.sandbox_pools]
        self.kata_node_pools = [self.node_pools[p.name] for p in spec.kata_pools]

        self.kubeconfig = gke_kubeconfig(self.cluster)
        self.provider = k8s.Provider(
            f"{name}-kubernetes",
            kubeconfig=self.kubeconfig,
            opts=child,
        )

        self.register_outputs(
            {
                "cluster_name": self.cluster.name,
                "endpoint": self.cluster.endpoint,
                "kubeconfig": self.kubeconfig,
                "sandbox_node_pools": [p.name for p in spec.sandbox_pools],
            }
        )
