"""A consumer's program: it knows kubesandbox only as an installed package."""

import pulumi
import pulumi_kubernetes as k8s

from kubesandbox import (
    GKE_GVISOR,
    NodePool,
    SandboxedWorkload,
    SandboxedWorkloadArgs,
    SandboxNodePool,
    SandboxNodePoolArgs,
    Workload,
)

pool = SandboxNodePool(
    "sandbox",
    SandboxNodePoolArgs(
        pool=NodePool(name="gvisor", sandboxed=True, min_nodes=0),
        cluster="their-cluster",
        location="europe-west4-a",
        project="their-project",
        service_account="nodes@their-project.iam.gserviceaccount.com",
    ),
)
provider = k8s.Provider("theirs", kubeconfig="apiVersion: v1\nkind: Config\n")
SandboxedWorkload(
    "web",
    SandboxedWorkloadArgs(
        workload=Workload(
            name="web", image="registry.example/web:1.0.0", runtime=GKE_GVISOR, namespace="team"
        ),
        wait_for=[pool],
        create_namespace=False,
    ),
    opts=pulumi.ResourceOptions(providers=[provider]),
)
