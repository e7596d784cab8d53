"""What a sandboxed GKE cluster is: node pools, topology and protection, and GKE Sandbox's rules."""

from __future__ import annotations

import enum
import ipaddress
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from kubesandbox import names
from kubesandbox.errors import Problem
from kubesandbox.runtime import GKE_SANDBOX_KEY, Toleration

SANDBOX_IMAGE_TYPE = "COS_CONTAINERD"
KATA_IMAGE_TYPE = "UBUNTU_CONTAINERD"
# Machine families whose GKE nodes offer nested virtualization, which Kata's VMs need. Compute
# Engine exposes only Intel VT-x (no AMD or Arm: N2D, C2D, T2A, T2D are out) and not on E2; N2 is
# the family GKE's nested virtualization pools are known to run Kata on. C2 and C3 are Intel
# too, but no source at hand shows them working on GKE, so they stay out until one does.
NESTED_VIRTUALIZATION_FAMILIES = ("n2",)
TAINT_EFFECTS = ("NO_SCHEDULE", "PREFER_NO_SCHEDULE", "NO_EXECUTE")
_KUBERNETES_VERSION = re.compile(r"^1\.[0-9]{2}$")


class ReleaseChannel(enum.Enum):
    """GKE release channels: how soon the cluster receives new Kubernetes versions."""

    RAPID = "RAPID"
    REGULAR = "REGULAR"
    STABLE = "STABLE"


@dataclass(frozen=True)
class Zonal:
    """A single-zone cluster: cheaper, but the control plane has no zone redundancy."""

    zone: str = "a"
    """Zone suffix within the stack's `gcp:region`, e.g. "a" for us-central1-a."""


@dataclass(frozen=True)
class Regional:
    """A regional cluster: control plane replicated and nodes spread over several zones."""

    zones: Sequence[str] = ("a", "b", "c")
    """Zone suffixes within the stack's `gcp:region` where nodes run."""


@dataclass(frozen=True)
class Taint:
    """A node taint in GKE's terms (effects NO_SCHEDULE, PREFER_NO_SCHEDULE, NO_EXECUTE)."""

    key: str
    """Taint key."""
    value: str
    """Taint value."""
    effect: str = "NO_SCHEDULE"
    """Taint effect, as GKE spells it."""

    def toleration(self) -> Toleration:
        """The pod toleration that matches this taint, in Kubernetes' spelling."""
        words = self.effect.lower().split("_")
        return Toleration(self.key, self.value, "".join(w.capitalize() for w in words))


@dataclass(frozen=True)
class NodePool:
    """A GKE node pool. Counts are per zone, as GKE's autoscaler counts them."""

    name: str
    """GKE node pool name, unique within the cluster."""
    sandboxed: bool = False
    """Run every pod on these nodes in gVisor (GKE Sandbox)."""
    machine_type: str = "e2-standard-4"
    """Compute Engine machine type."""
    image_type: str = SANDBOX_IMAGE_TYPE
    """Node image; GKE Sandbox requires COS_CONTAINERD."""
    min_nodes: int = 1
    """Autoscaler minimum per zone; 0 lets an idle pool cost nothing."""
    max_nodes: int = 3
    """Autoscaler maximum per zone."""
    spot: bool = False
    """Use Spot VMs: much cheaper, reclaimable at any time."""
    disk_size_gb: int = 100
    """Boot disk size."""
    labels: Mapping[str, str] = field(default_factory=dict)
    """Kubernetes labels on the nodes."""
    taints: Sequence[Taint] = ()
    """Kubernetes taints on the nodes, beyond those GKE adds itself."""
    kata: bool = False
    """Enable nested virtualization for Kata Containers; needs N2 and UBUNTU_CONTAINERD."""
    threads_per_core: int = 1
    """Kata pools only: 1 turns SMT off, so no two VMs share a core's sibling threads; or 2."""


@dataclass(frozen=True, kw_only=True)
class ClusterSettings:
    """What every GKE cluster of this project declares, Standard or Autopilot."""

    name: str
    """GKE cluster name."""
    release_channel: ReleaseChannel = ReleaseChannel.REGULAR
    """How soon GKE upgrades the cluster."""
    kubernetes_version: str = "1.34"
    """Minimum Kubernetes minor version; manifests are validated against its API schema."""
    private_nodes: bool = False
    """Give nodes internal addresses only; egress then goes through Cloud NAT."""
    master_ipv4_cidr_block: str = "172.16.0.0/28"
    """The control plane's /28 peering range, used when nodes are private."""
    authorized_networks: Mapping[str, str] = field(default_factory=dict)
    """Display name to CIDR allowed to reach the control plane; empty leaves it open."""
    deletion_protection: bool = True
    """Refuse to delete the cluster, both in GKE and in Pulumi (protect)."""
    subnet_cidr: str = "10.10.0.0/20"
    """Primary range of the cluster's subnet, for nodes."""
    pods_cidr: str = "10.20.0.0/14"
    """Secondary range for pod addresses."""
    services_cidr: str = "10.30.0.0/20"
    """Secondary range for Service addresses."""


@dataclass(frozen=True, kw_only=True)
class GkeCluster(ClusterSettings):
    """A GKE Standard cluster whose untrusted workloads run on GKE Sandbox node pools."""

    node_pools: Sequence[NodePool]
    """At least one ordinary pool for system pods and at least one sandboxed pool."""
    topology: Zonal | Regional = Zonal()
    """Where the control plane and the nodes run."""

    @property
    def sandbox_pools(self) -> list[NodePool]:
        """The pools with sandboxed=True."""
        return [p for p in self.node_pools if p.sandboxed]

    @property
    def kata_pools(self) -> list[NodePool]:
        return [p for p in self.node_pools if p.kata]

    def location(self, region: str) -> str:
        """The cluster's GKE location: its zone when zonal, else the region."""
        if isinstance(self.topology, Zonal):
            return f"{region}-{self.topology.zone}"
        return region

    def node_locations(self, region: str) -> list[str] | None:
        """The zones nodes run in for a regional cluster; None for a zonal one."""
        if isinstance(self.topology, Regional):
            return [f"{region}-{zone}" for zone in self.topology.zones]
        return None


@dataclass(frozen=True, kw_only=True)
class AutopilotCluster(ClusterSettings):
    """A GKE Autopilot cluster: GKE runs the nodes, and gives a pod gVisor when it asks for it."""

    @property
    def sandbox_pools(self) -> list[NodePool]:
        return []

    @property
    def kata_pools(self) -> list[NodePool]:
        return []

    def location(self, region: str) -> str:
        # Autopilot clusters are always regional.
        return region

    def node_locations(self, region: str) -> list[str] | None:
        return None


def autopilot_problems(cluster: AutopilotCluster) -> list[Problem]:
    """Every way the Autopilot cluster spec breaks GKE's rules."""
    found = names.gke_name("name", cluster.name)
    if not _KUBERNETES_VERSION.match(cluster.kubernetes_version):
        found.append(
            Problem("kubernetes_version", cluster.kubernetes_version, 'must be a minor like "1.34"')
        )
    found += _network_problems(cluster)
    return found


def problems(cluster: GkeCluster) -> list[Problem]:
    """Every way the cluster spec breaks GKE's or GKE Sandbox's rules."""
    found = names.gke_name("name", cluster.name)
    found += names.duplicates("node_pools[].name", (p.name for p in cluster.node_pools))
    for pool in cluster.node_pools:
        found += [p.within(f'node_pools["{pool.name}"]') for p in pool_problems(pool)]
    ordinary = [p for p in cluster.node_pools if not p.sandboxed and not p.kata]
    if not any(p.min_nodes >= 1 for p in ordinary):
        found.append(
            Problem(
                "node_pools",
                [p.name for p in cluster.node_pools],
                "GKE Sandbox needs a pool with sandboxed=False and min_nodes >= 1 for system "
                "pods; add one",
            )
        )
    if not cluster.sandbox_pools:
        found.append(
            Problem(
                "node_pools",
                [p.name for p in cluster.node_pools],
                "no pool has sandboxed=True, so nothing could run in gVisor; add one",
            )
        )
    if not _KUBERNETES_VERSION.match(cluster.kubernetes_version):
        found.append(
            Problem("kubernetes_version", cluster.kubernetes_version, 'must be a minor like "1.34"')
        )
    if isinstance(cluster.topology, Regional):
        if not cluster.topology.zones:
            found.append(Problem("topology.zones", [], "a regional cluster needs a zone"))
        found += names.duplicates("topology.zones", cluster.topology.zones)
    found += _network_problems(cluster)
    return found


def pool_problems(pool: NodePool) -> list[Problem]:
    """Every way one node pool breaks GKE's or GKE Sandbox's rules."""
    found = names.gke_name("name", pool.name)
    if pool.kata:
        found += _kata_pool_problems(pool)
    if pool.sandboxed and pool.image_type != SANDBOX_IMAGE_TYPE:
        found.append(
            Problem(
                "image_type",
                pool.image_type,
                f'GKE Sandbox runs only on {SANDBOX_IMAGE_TYPE} nodes; set image_type="'
                f'{SANDBOX_IMAGE_TYPE}"',
            )
        )
    if pool.min_nodes < 0:
        found.append(Problem("min_nodes", pool.min_nodes, "must be 0 or more"))
    if pool.max_nodes < 1:
        found.append(Problem("max_nodes", pool.max_nodes, "must be at least 1"))
    if pool.min_nodes > pool.max_nodes:
        found.append(
            Problem(
                "min_nodes",
                pool.min_nodes,
                f"is above max_nodes ({pool.max_nodes}); lower min_nodes or raise max_nodes",
            )
        )
    if pool.disk_size_gb < 10:
        found.append(Problem("disk_size_gb", pool.disk_size_gb, "GKE needs at least 10 GB"))
    for key in pool.labels:
        if key.startswith("sandbox.gke.io/"):
            found.append(
                Problem(
                    f'labels["{key}"]',
                    pool.labels[key],
                    "GKE sets sandbox.gke.io labels itself on sandbox pools; remove it",
                )
            )
    for taint in pool.taints:
        if taint.key == GKE_SANDBOX_KEY or taint.key.startswith("sandbox.gke.io/"):
            found.append(
                Problem(
                    f'taints["{taint.key}"]',
                    taint.value,
                    "GKE manages the sandbox.gke.io/runtime taint and rejects pools that "
                    "declare it; remove it",
                )
            )
        if taint.effect not in TAINT_EFFECTS:
            found.append(
                Problem(
                    f'taints["{taint.key}"].effect',
                    taint.effect,
                    f"must be one of {', '.join(TAINT_EFFECTS)}",
                )
            )
    return found


def _kata_pool_problems(pool: NodePool) -> list[Problem]:
    """Kata runs each pod in a VM, so its nodes need nested virtualization and a writable host."""
    found: list[Problem] = []
    if pool.sandboxed:
        found.append(
            Problem(
                "kata",
                True,
                "a pool runs either GKE Sandbox (sandboxed=True) or Kata (kata=True); "
                "split it into two pools",
            )
        )
    family = pool.machine_type.split("-", 1)[0]
    if family not in NESTED_VIRTUALIZATION_FAMILIES:
        found.append(
            Problem(
                "machine_type",
                pool.machine_type,
                f"Kata needs nested virtualization, which {family.upper()} does not offer on GKE; "
                "use an N2 (Intel) type such as n2-standard-4",
            )
        )
    if pool.image_type != KATA_IMAGE_TYPE:
        found.append(
            Problem(
                "image_type",
                pool.image_type,
                "kata-deploy needs containerd on a writable root filesystem, which COS is not; "
                f'set image_type="{KATA_IMAGE_TYPE}"',
            )
        )
    if pool.threads_per_core not in (1, 2):
        found.append(
            Problem(
                "threads_per_core",
                pool.threads_per_core,
                "must be 1 (SMT off, the safe choice for untrusted VMs) or 2",
            )
        )
    return found


def _network_problems(cluster: GkeCluster | AutopilotCluster) -> list[Problem]:
    found: list[Problem] = []
    ranges: dict[str, ipaddress.IPv4Network] = {}
    for name in ("subnet_cidr", "pods_cidr", "services_cidr", "master_ipv4_cidr_block"):
        value = getattr(cluster, name)
        try:
            ranges[name] = ipaddress.IPv4Network(value)
        except ValueError:
            found.append(Problem(name, value, "must be an IPv4 CIDR such as 10.10.0.0/20"))
    master = ranges.get("master_ipv4_cidr_block")
    if cluster.private_nodes and master is not None and master.prefixlen != 28:
        found.append(
            Problem(
                "master_ipv4_cidr_block",
                cluster.master_ipv4_cidr_block,
                "GKE needs a /28 for the control plane of a private cluster",
            )
        )
    checked = [n for n in ranges if cluster.private_nodes or n != "master_ipv4_cidr_block"]
    for i, first in enumerate(checked):
        for second in checked[i + 1 :]:
            if ranges[first].overlaps(ranges[second]):
                found.append(
                    Problem(second, str(ranges[second]), f"overlaps {first}; pick a free range")
                )
    for display_name, cidr in cluster.authorized_networks.items():
        try:
            ipaddress.IPv4Network(cidr)
        except ValueError:
            found.append(
                Problem(f'authorized_networks["{display_name}"]', cidr, "must be an IPv4 CIDR")
            )
    return found
