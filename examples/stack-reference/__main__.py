"""Adds one sandboxed workload to a cluster that another stack owns.

The cluster stack exports `kubeconfig` (kubesandbox's own program does). This stack reads it
through a StackReference and talks to the cluster through its own Kubernetes provider.
"""

import pulumi
import pulumi_kubernetes as k8s

from kubesandbox import GKE_GVISOR, SandboxedWorkload, SandboxedWorkloadArgs, Workload

config = pulumi.Config()
cluster_stack = pulumi.StackReference(config.require("clusterStack"))

provider = k8s.Provider(
    "cluster",
    kubeconfig=cluster_stack.require_output("kubeconfig").apply(str),
)

api = SandboxedWorkload(
    "api",
    SandboxedWorkloadArgs(
        workload=Workload(
            name="api",
            image="registry.example/api:1.4.0",
            runtime=GKE_GVISOR,
            namespace="api-sandboxed",
        ),
    ),
    opts=pulumi.ResourceOptions(providers=[provider]),
)

pulumi.export("namespace", api.namespace_name)
