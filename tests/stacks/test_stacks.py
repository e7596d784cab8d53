"""Each stack's whole program (the real __main__.py and its stack file) under the mock engine."""

from __future__ import annotations

from functools import cache
from pathlib import Path

import kubernetes_validate
import pytest

from stacks import STACKS
from tools import engine, render

STACK_NAMES = sorted(STACKS)
STANDARD = ["dev", "prod", "staging"]
GKE = ["autopilot", *STANDARD]
# Per stack: 7 objects per workload, a smoke Job and its NetworkPolicy per workload, and the
# admission policy and binding; local adds the gVisor installer, its RuntimeClasses and Kata's.
MANIFEST_COUNTS = {"autopilot": 20, "dev": 20, "local": 29, "prod": 20, "staging": 20}


@cache
def plan(stack: str) -> engine.Plan:
    return engine.run_stack(stack)


@pytest.mark.parametrize("stack", STANDARD)
def test_creates_cluster_pools_provider_and_gvisor_workloads(stack: str) -> None:
    result = plan(stack)
    assert [r.name for r in result.of_type("gcp:container/cluster:Cluster")] == [f"{stack}-cluster"]
    pools = {r.inputs["name"]: r.inputs for r in result.of_type("gcp:container/nodePool:NodePool")}
    assert sorted(pools) == ["gvisor", "system"]
    assert pools["gvisor"]["nodeConfig"]["sandboxConfig"] == {"type": "GVISOR"}
    assert "sandboxConfig" not in pools["system"]["nodeConfig"]
    assert [r.name for r in result.of_type("pulumi:providers:kubernetes")] == [
        f"{stack}-kubernetes"
    ]
    deployments = result.of_type("kubernetes:apps/v1:Deployment")
    assert sorted(d.inputs["metadata"]["name"] for d in deployments) == ["code-runner", "nginx"]
    for deployment in deployments:
        assert deployment.inputs["spec"]["template"]["spec"]["runtimeClassName"] == "gvisor"
        assert result.named(f"{stack}-gvisor").urn in deployment.dependencies


@pytest.mark.parametrize("stack", GKE)
def test_never_declares_gkes_runtime_class(stack: str) -> None:
    classes = plan(stack).of_type("kubernetes:node.k8s.io/v1:RuntimeClass")
    assert [c for c in classes if c.inputs["metadata"]["name"] == "gvisor"] == []


@pytest.mark.parametrize("stack", STACK_NAMES)
def test_kubernetes_objects_use_only_the_cluster_provider(stack: str) -> None:
    result = plan(stack)
    provider = result.named(f"{stack}-kubernetes").urn
    kubernetes = [r for r in result.resources if r.custom and r.type.startswith("kubernetes:")]
    assert kubernetes
    assert {r.provider for r in kubernetes} == {provider}
    assert result.default_provider_uses == []


def test_stack_files_disable_the_default_kubernetes_provider() -> None:
    for stack in STACK_NAMES:
        config = engine.stack_config(stack)
        assert config["pulumi:disable-default-providers"] == '["kubernetes"]'


def test_dev_is_zonal_spot_from_zero_and_unprotected() -> None:
    result = plan("dev")
    cluster = result.named("dev-cluster")
    assert cluster.inputs["location"] == "us-central1-a"
    assert cluster.inputs["deletionProtection"] is False
    assert cluster.protect is False
    sandbox = result.named("dev-gvisor").inputs
    assert sandbox["nodeConfig"]["spot"] is True
    assert sandbox["autoscaling"]["minNodeCount"] == 0


def test_staging_is_regional_and_unprotected() -> None:
    cluster = plan("staging").named("staging-cluster")
    assert cluster.inputs["location"] == "us-central1"
    assert cluster.inputs["nodeLocations"] == ["us-central1-a", "us-central1-b"]
    assert cluster.protect is False


def test_prod_is_regional_stable_private_and_protected() -> None:
    result = plan("prod")
    cluster = result.named("prod-cluster")
    assert cluster.inputs["location"] == "us-central1"
    assert cluster.inputs["nodeLocations"] == ["us-central1-a", "us-central1-b", "us-central1-c"]
    assert cluster.inputs["releaseChannel"] == {"channel": "STABLE"}
    assert cluster.inputs["privateClusterConfig"]["enablePrivateNodes"] is True
    assert cluster.inputs["deletionProtection"] is True
    assert cluster.protect is True
    assert result.named("prod-gvisor").inputs["nodeConfig"]["spot"] is False
    assert result.of_type("gcp:compute/routerNat:RouterNat") != []


@pytest.mark.parametrize("stack", GKE)
def test_exports(stack: str) -> None:
    outputs = plan(stack).outputs
    assert outputs["cluster_name"] == f"sandbox-{stack}"
    assert outputs["kubeconfig"] == engine.UNKNOWN
    assert outputs["workloads"] == {
        "nginx": {"namespace": "nginx", "runtime_class": "gvisor"},
        "code-runner": {"namespace": "code-runner", "runtime_class": "gvisor"},
    }


@pytest.mark.parametrize("stack", STACK_NAMES)
def test_manifests_match_the_openapi_schema_of_the_target_version(stack: str) -> None:
    version = STACKS[stack].platform.kubernetes_version
    manifests = render.manifests(plan(stack))
    assert len(manifests) == MANIFEST_COUNTS[stack]
    for path, manifest in manifests.items():
        try:
            kubernetes_validate.validate(manifest, version, strict=True)
        except kubernetes_validate.ValidationError as error:  # pragma: no cover - reported
            pytest.fail(f"{stack}: {path}: {error.message}")


def test_schema_validation_catches_a_wrong_field() -> None:
    manifest = dict(render.manifests(plan("dev"))["nginx/deployment-nginx.yaml"])
    manifest["spec"] = {**manifest["spec"], "replica": 2}
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(manifest, "1.34", strict=True)


def test_every_stack_has_a_config_file() -> None:
    folder = Path(engine.PROJECT_ROOT) / "stacks"
    assert sorted(p.name for p in folder.glob("Pulumi.*.yaml")) == sorted(
        f"Pulumi.{s}.yaml" for s in STACK_NAMES
    )


def test_autopilot_creates_an_autopilot_cluster_without_node_pools() -> None:
    result = plan("autopilot")
    cluster = result.named("autopilot-cluster")
    assert cluster.inputs["enableAutopilot"] is True
    assert cluster.inputs["location"] == "us-central1"
    assert cluster.inputs["clusterAutoscaling"]["autoProvisioningDefaults"]["oauthScopes"] == [
        "https://www.googleapis.com/auth/cloud-platform"
    ]
    for absent in ("nodeConfig", "removeDefaultNodePool", "initialNodeCount", "nodeLocations"):
        assert absent not in cluster.inputs
    assert result.of_type("gcp:container/nodePool:NodePool") == []
    assert result.of_type("kubernetes:node.k8s.io/v1:RuntimeClass") == []


def test_autopilot_pods_name_gvisor_and_leave_scheduling_to_gke() -> None:
    deployments = plan("autopilot").of_type("kubernetes:apps/v1:Deployment")
    assert len(deployments) == 2
    for deployment in deployments:
        pod = deployment.inputs["spec"]["template"]["spec"]
        assert pod["runtimeClassName"] == "gvisor"
        assert "nodeSelector" not in pod
        assert "tolerations" not in pod


def test_local_targets_the_kind_context_without_a_cloud() -> None:
    result = plan("local")
    assert [r.name for r in result.of_type("pulumi:providers:kubernetes")] == ["local-kubernetes"]
    assert result.named("local-kubernetes").inputs["context"] == "kind-kubesandbox"
    assert "kubeconfig" not in result.named("local-kubernetes").inputs
    assert [r for r in result.resources if r.type.startswith("gcp:")] == []
    assert result.outputs["kube_context"] == "kind-kubesandbox"
    assert result.outputs["workloads"] == {
        "nginx": {"namespace": "nginx", "runtime_class": "gvisor"},
        "code-runner": {"namespace": "code-runner", "runtime_class": "kata-qemu"},
    }


def test_local_declares_its_own_classes_and_workloads_wait_for_them() -> None:
    result = plan("local")
    classes = {
        r.inputs["metadata"]["name"]: r
        for r in result.of_type("kubernetes:node.k8s.io/v1:RuntimeClass")
    }
    assert sorted(classes) == ["gvisor", "kata-qemu"]
    assert classes["gvisor"].inputs["handler"] == "runsc"
    assert classes["gvisor"].inputs["scheduling"] == {
        "nodeSelector": {"kubesandbox.io/gvisor-ready": "true"}
    }
    assert classes["kata-qemu"].inputs["handler"] == "kata-qemu"
    assert result.named("local-gvisor-daemon-set").urn in classes["gvisor"].dependencies
    assert (
        result.named("local-kata-containers-kata-deploy").urn in classes["kata-qemu"].dependencies
    )
    nginx = result.named("nginx-deployment")
    runner = result.named("code-runner-deployment")
    assert classes["gvisor"].urn in nginx.dependencies
    assert classes["kata-qemu"].urn in runner.dependencies
    assert nginx.inputs["spec"]["template"]["spec"]["nodeSelector"] == {
        "kubesandbox.io/gvisor-ready": "true"
    }
    assert runner.inputs["spec"]["template"]["spec"]["nodeSelector"] == {
        "katacontainers.io/kata-runtime": "true"
    }


def test_local_installers_run_privileged_outside_the_sandboxed_namespaces() -> None:
    result = plan("local")
    namespaces = {
        r.inputs["metadata"]["name"]: r.inputs["metadata"]["labels"]
        for r in result.of_type("kubernetes:core/v1:Namespace")
    }
    for installer in ("kubesandbox-gvisor", "kata-deploy"):
        assert namespaces[installer]["pod-security.kubernetes.io/enforce"] == "privileged"
        assert "kubesandbox.io/sandboxed" not in namespaces[installer]
    for workload in ("nginx", "code-runner"):
        assert namespaces[workload]["pod-security.kubernetes.io/enforce"] == "restricted"
