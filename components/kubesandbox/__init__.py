"""Pulumi components for Kubernetes clusters that run untrusted workloads in a sandbox."""

from kubesandbox.admission import SandboxAdmission, SandboxAdmissionArgs
from kubesandbox.children import Child
from kubesandbox.errors import Problem, SpecError
from kubesandbox.gke_cluster import SandboxedGkeCluster, SandboxedGkeClusterArgs
from kubesandbox.gke_spec import GkeCluster, NodePool, Regional, ReleaseChannel, Taint, Zonal
from kubesandbox.runtime import GKE_GVISOR, Isolation, Runtime, Toleration
from kubesandbox.sandbox_node_pool import SandboxNodePool, SandboxNodePoolArgs
from kubesandbox.smoke_test import SandboxSmokeTest, SandboxSmokeTestArgs
from kubesandbox.workload import SandboxedWorkload, SandboxedWorkloadArgs
from kubesandbox.workload_spec import Egress, Resources, Workload

__all__ = [
    "GKE_GVISOR",
    "Child",
    "Egress",
    "GkeCluster",
    "Isolation",
    "NodePool",
    "Problem",
    "Regional",
    "ReleaseChannel",
    "Resources",
    "Runtime",
    "SandboxAdmission",
    "SandboxAdmissionArgs",
    "SandboxNodePool",
    "SandboxNodePoolArgs",
    "SandboxSmokeTest",
    "SandboxSmokeTestArgs",
    "SandboxedGkeCluster",
    "SandboxedGkeClusterArgs",
    "SandboxedWorkload",
    "SandboxedWorkloadArgs",
    "SpecError",
    "Taint",
    "Toleration",
    "Workload",
    "Zonal",
]
