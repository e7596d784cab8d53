"""The kubeconfig authenticates through gke-gcloud-auth-plugin and carries no credential."""

from __future__ import annotations

import yaml
from pulumi_gcp.container.outputs import (
    ClusterMasterAuth,
    ClusterMasterAuthClientCertificateConfig,
)

from kubesandbox.kubeconfig import render


def test_renders_an_exec_kubeconfig_named_like_gcloud() -> None:
    text = render(
        "proj",
        "europe-west4-a",
        "sandbox",
        "203.0.113.7",
        ClusterMasterAuth(
            client_certificate_config=ClusterMasterAuthClientCertificateConfig(
                issue_client_certificate=False
            ),
            cluster_ca_certificate="Q0E=",
        ),
    )
    document = yaml.safe_load(text)
    context = "gke_proj_europe-west4-a_sandbox"
    assert document["current-context"] == context
    assert document["clusters"] == [
        {
            "name": context,
            "cluster": {"server": "https://203.0.113.7", "certificate-authority-data": "Q0E="},
        }
    ]
    exec_ = document["users"][0]["user"]["exec"]
    assert exec_["command"] == "gke-gcloud-auth-plugin"
    assert exec_["apiVersion"] == "client.authentication.k8s.io/v1beta1"
    assert exec_["provideClusterInfo"] is True
    assert "token" not in document["users"][0]["user"]
