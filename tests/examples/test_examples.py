"""The consumer examples, rendered offline: each registers what its README promises, through
its own provider, with the cluster it is pointed at."""

from __future__ import annotations

import runpy
from collections.abc import Mapping
from typing import Any

import yaml

from tools import engine
from tools.engine import Plan

EXAMPLES = engine.PROJECT_ROOT / "examples"
KUBECONFIG = "apiVersion: v1\nkind: Config\n"


def render(
    example: str,
    config: Mapping[str, str],
    stack_references: Mapping[str, Mapping[str, Any]] | None = None,
) -> Plan:
    folder = EXAMPLES / example
    project = str(yaml.safe_load((folder / "Pulumi.yaml").read_text())["name"])
    return engine.run(
        lambda: runpy.run_path(str(folder / "__main__.py"), run_name="__main__"),
        project=project,
        stack="dev",
        config={
            "pulumi:disable-default-providers": '["kubernetes"]',
            **{k if ":" in k else f"{project}:{k}": v for k, v in config.items()},
        },
        stack_references=stack_references,
    )


def existing_cluster() -> Plan:
    return render(
        "existing-cluster",
        {
            "gcp:project": "team-project",
            "clusterName": "shared",
            "clusterLocation": "europe-west4",
            "nodeServiceAccount": "nodes@team-project.iam.gserviceaccount.com",
        },
    )


def test_existing_cluster_reads_the_cluster_and_adds_a_gvisor_pool() -> None:
    plan = existing_cluster()
    assert [(r.type, r.name) for r in plan.resources if r.parent == ""] == []
    pool = plan.named("gvisor-pool")
    assert pool.parent == plan.named("gvisor").urn
    assert plan.named("gvisor").type == "kubesandbox:index:SandboxNodePool"
    assert pool.inputs["cluster"] == "shared"
    assert pool.inputs["location"] == "europe-west4"
    assert pool.inputs["project"] == "team-project"
    assert pool.inputs["nodeConfig"]["sandboxConfig"] == {"type": "GVISOR"}
    assert plan.of_type("gcp:container/cluster:Cluster") == []


def test_existing_cluster_workload_uses_its_provider_and_waits_for_the_pool() -> None:
    plan = existing_cluster()
    provider = plan.named("existing-cluster").urn
    deployment = plan.named("hello-deployment")
    assert deployment.provider == provider
    assert deployment.inputs["spec"]["template"]["spec"]["runtimeClassName"] == "gvisor"
    # Depending on the component means depending on its children: the pool itself.
    assert plan.named("gvisor-pool").urn in deployment.dependencies
    assert plan.default_provider_uses == []


def test_stack_reference_reads_the_kubeconfig_of_the_cluster_stack() -> None:
    plan = render(
        "stack-reference",
        {"clusterStack": "example-org/kubesandbox/dev"},
        {"example-org/kubesandbox/dev": {"kubeconfig": KUBECONFIG}},
    )
    provider = plan.named("cluster")
    assert provider.inputs["kubeconfig"] == KUBECONFIG
    kubernetes = [r for r in plan.resources if r.type.startswith("kubernetes:")]
    assert {r.provider for r in kubernetes} == {provider.urn}
    assert plan.named("api-namespace").inputs["metadata"]["name"] == "api-sandboxed"
    assert plan.outputs == {"namespace": "api-sandboxed"}
