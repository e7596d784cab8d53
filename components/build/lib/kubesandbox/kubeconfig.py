"""Kubeconfig for a GKE cluster that authenticates through gke-gcloud-auth-plugin.

No token is written into it: the plugin fetches short-lived credentials from the deployer's gcloud
login each time, so the kubeconfig is safe to export and never goes stale.
"""

from __future__ import annotations

import pulumi
import pulumi_gcp as gcp
import yaml


def gke_kubeconfig(cluster: gcp.container.Cluster) -> pulumi.Output[str]:
    """The cluster's kubeconfig, once its endpoint and CA certificate are known."""
    return pulumi.Output.all(
        cluster.project, cluster.location, cluster.name, cluster.endpoint, cluster.master_auth
    ).apply(lambda values: render(*values))


def render(
    project: str,
    location: str,
    name: str,
    endpoint: str,
    master_auth: gcp.container.outputs.ClusterMasterAuth,
) -> str:
    """Kubeconfig text for one cluster, with its context named the way gcloud names it."""
    context = f"gke_{project}_{location}_{name}"
    ca_certificate = master_auth.cluster_ca_certificate
    document = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [
            {
                "name": context,
                "cluster": {
                    "server": f"https://{endpoint}",
                    "certificate-authority-data": ca_certificate,
                },
            }
        ],
        "contexts": [{"name": context, "context": {"cluster": context, "user": context}}],
        "current-context": context,
        "users": [
            {
                "name": context,
                "user": {
                    "exec": {
                        "apiVersion": "client.authentication.k8s.io/v1beta1",
                        "command": "gke-gcloud-auth-plugin",
                        "installHint": "Install gke-gcloud-auth-plugin: "
                        "gcloud components install gke-gcloud-auth-plugin",
                        "provideClusterInfo": True,
                        "interactiveMode": "IfAvailable",
                    }
                },
            }
        ],
    }
    return yaml.safe_dump(document, sort_keys=False)
