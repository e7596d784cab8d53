"""Adds a GKE Sandbox node pool and one sandboxed workload to a GKE cluster another team owns.

The cluster is read, never managed: this stack owns only the pool and the workload.
"""

import pulumi
import pulumi_gcp as gcp
import pulumi_kubernetes as k8s

from kubesandbox import (
    GKE_GVISOR,
    Egress,
    NodePool,
    SandboxedWorkload,
    SandboxedWorkloadArgs,
    SandboxNodePool,
    SandboxNodePoolArgs,
    Workload,
)
from kubesandbox.kubeconfig import gke_kubeconfig

config = pulumi.Config()
project = pulumi.Config("gcp").require("project")
cluster_name = config.require("clusterName")
location = config.require("clusterLocation")

cluster = gcp.container.Cluster.get(
    "existing-cluster", f"projects/{project}/locations/{location}/clusters/{cluster_name}"
)

pool = SandboxNodePool(
    "gvisor",
    SandboxNodePoolArgs(
        pool=NodePool(name="gvisor", sandboxed=True, min_nodes=0, max_nodes=3),
        cluster=cluster_name,
        location=location,
        project=project,
        service_account=config.require("nodeServiceAccount"),
    ),
)

provider = k8s.Provider("existing-cluster", kubeconfig=gke_kubeconfig(cluster))

hello = SandboxedWorkload(
    "hello",
    SandboxedWorkloadArgs(
        workload=Workload(
            name="hello",
            image="us-docker.pkg.dev/google-samples/containers/gke/hello-app:1.0",
            runtime=GKE_GVISOR,
            replicas=2,
            port=8080,
            egress=Egress.DNS,
        ),
        wait_for=[pool],
    ),
    opts=pulumi.ResourceOptions(providers=[provider]),
)

pulumi.export("node_pool", pool.name)
pulumi.export("namespace", hello.namespace_name)
