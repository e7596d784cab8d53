"""Platforms beyond GKE Standard with gVisor: Kata pools on GKE, Autopilot and existing clusters.
Bad specs fail with one line each and register nothing; sound ones deploy."""

from __future__ import annotations

import dataclasses

import pytest

import stacks
from kubesandbox import GKE_GVISOR, NodePool, Taint
from kubesandbox.kata import KataDeploy, KataShim
from kubesandbox.runtime import Toleration
from stacks import autopilot, dev, local
from stacks.program import deploy
from stacks.spec import ExistingCluster, GkeStandard, StackSpec
from tests.conftest import TEST_CONFIG
from tests.stacks.test_validation import CLUSTER, SANDBOX, SYSTEM, attempt
from tools import engine

LOCAL_CONFIG = {
    "kubesandbox:kubeContext": "kind-test",
    "pulumi:disable-default-providers": '["kubernetes"]',
}
LOCAL = local.STACK.platform
assert isinstance(LOCAL, ExistingCluster)
KATA_POOL = NodePool(
    name="kata",
    kata=True,
    machine_type="n2-standard-4",
    image_type="UBUNTU_CONTAINERD",
    min_nodes=0,
    labels={"kubesandbox.io/kata": "true"},
    taints=[Taint("kubesandbox.io/kata", "true")],
)
KATA = KataDeploy(chart_version="4.1.0", tolerations=(Toleration("kubesandbox.io/kata", "true"),))


def gke_with_kata(pool: NodePool = KATA_POOL, kata: KataDeploy | None = KATA) -> StackSpec:
    cluster = dataclasses.replace(CLUSTER, node_pools=[SYSTEM, SANDBOX, pool])
    workloads = list(dev.STACK.workloads)
    if kata is not None:
        runner = dataclasses.replace(workloads[1], runtime=kata.runtime(KataShim.QEMU))
        workloads = [workloads[0], runner]
    return StackSpec(platform=GkeStandard(cluster=cluster, kata=kata), workloads=workloads)


def kata_pool(**changes: object) -> StackSpec:
    return gke_with_kata(dataclasses.replace(KATA_POOL, **changes))  # type: ignore[arg-type]


def existing(**changes: object) -> StackSpec:
    platform = dataclasses.replace(LOCAL, **changes)  # type: ignore[arg-type]
    return dataclasses.replace(local.STACK, platform=platform)


POOL = 'platform.cluster.node_pools["kata"]'
GKE_CASES = {
    "kata on AMD": (
        kata_pool(machine_type="n2d-standard-4"),
        f"{POOL}.machine_type = 'n2d-standard-4': Kata needs nested virtualization, which N2D "
        "does not offer on GKE; use an N2 (Intel) type such as n2-standard-4",
    ),
    "kata on E2": (
        kata_pool(machine_type="e2-standard-4"),
        f"{POOL}.machine_type = 'e2-standard-4': Kata needs nested virtualization, which E2 "
        "does not offer on GKE; use an N2 (Intel) type such as n2-standard-4",
    ),
    "kata on COS": (
        kata_pool(image_type="COS_CONTAINERD"),
        f"{POOL}.image_type = 'COS_CONTAINERD': kata-deploy needs containerd on a writable root "
        'filesystem, which COS is not; set image_type="UBUNTU_CONTAINERD"',
    ),
    "kata and gVisor on one pool": (
        kata_pool(sandboxed=True),
        f"{POOL}.kata = True: a pool runs either GKE Sandbox (sandboxed=True) or Kata (kata=True); "
        "split it into two pools\n"
        f"stack \"broken\": {POOL}.image_type = 'UBUNTU_CONTAINERD': GKE Sandbox runs only on "
        'COS_CONTAINERD nodes; set image_type="COS_CONTAINERD"',
    ),
    "threads per core": (
        kata_pool(threads_per_core=4),
        f"{POOL}.threads_per_core = 4: must be 1 (SMT off, the safe choice for untrusted VMs) or 2",
    ),
    "kata pool without the opt-in label": (
        kata_pool(labels={}),
        f"{POOL}.labels = {{}}: a Kata pool needs the label kubesandbox.io/kata=true so "
        "kata-deploy installs on it; add it",
    ),
    "kata pool taint not tolerated": (
        kata_pool(taints=[Taint("dedicated", "kata", "NO_EXECUTE")]),
        f"{POOL}.taints[\"dedicated\"] = 'kata': kata-deploy and Kata pods would not tolerate "
        'it; add Toleration("dedicated", "kata", "NoExecute") to kata.tolerations',
    ),
    "kata pool without kata": (
        gke_with_kata(kata=None),
        f"{POOL}.kata = True: nothing installs Kata on this pool; set platform "
        "kata=KataDeploy(...)",
    ),
    "kata without a kata pool": (
        dataclasses.replace(gke_with_kata(), platform=GkeStandard(cluster=CLUSTER, kata=KATA)),
        "platform.kata = '4.1.0': no node pool has kata=True, so Kata would run nowhere; add one",
    ),
    "kata runtime on autopilot": (
        dataclasses.replace(
            autopilot.STACK,
            workloads=[
                dataclasses.replace(
                    autopilot.STACK.workloads[0], runtime=KATA.runtime(KataShim.QEMU)
                )
            ],
        ),
        "workloads[\"nginx\"].runtime = 'kata-qemu': GkeAutopilot offers gvisor; pick one of those",
    ),
}
LOCAL_CASES = {
    "no runtime at all": (
        existing(gvisor=None, kata=None),
        "platform.gvisor = None: an existing cluster needs gvisor, kata or both; set one",
    ),
    "gke's runtime on an existing cluster": (
        dataclasses.replace(
            local.STACK,
            workloads=[dataclasses.replace(local.STACK.workloads[0], runtime=GKE_GVISOR)],
        ),
        "workloads[\"nginx\"].runtime = 'gvisor': ExistingCluster offers gvisor, kata-qemu; "
        "pick one of those",
    ),
    "shared installer namespace": (
        existing(kata=dataclasses.replace(local.KATA, namespace="kubesandbox-gvisor")),
        "platform.kata.namespace = 'kubesandbox-gvisor': is also gvisor.namespace; give each "
        "installer its own",
    ),
    "workload in an installer namespace": (
        dataclasses.replace(
            local.STACK,
            workloads=[dataclasses.replace(local.STACK.workloads[0], namespace="kata-deploy")],
        ),
        "workloads[\"nginx\"].namespace = 'kata-deploy': is the privileged namespace of a node "
        "installer; pick another",
    ),
    "kubernetes version": (
        existing(kubernetes_version="v1.34.0"),
        "platform.kubernetes_version = 'v1.34.0': must be a minor like \"1.34\"",
    ),
    "gvisor pin": (
        existing(
            gvisor=dataclasses.replace(
                local.GVISOR, release=dataclasses.replace(local.GVISOR.release, date="latest")
            )
        ),
        "platform.gvisor.release.date = 'latest': must be a gVisor release folder such as "
        '"20250512"; "latest" is not a pin',
    ),
    "kata chart": (
        existing(kata=dataclasses.replace(local.KATA, chart_version="3.2.0")),
        "platform.kata.chart_version = '3.2.0': is older than 3.23.0, whose values (shims, "
        "runtimeClasses) this program sets; pin 3.23.0 or later",
    ),
}


@pytest.mark.parametrize("case", GKE_CASES)
def test_bad_gke_stack_fails_with_one_line(case: str, monkeypatch: pytest.MonkeyPatch) -> None:
    spec, expected = GKE_CASES[case]
    assert attempt(spec, monkeypatch, TEST_CONFIG) == f'stack "broken": {expected}'


@pytest.mark.parametrize("case", LOCAL_CASES)
def test_bad_existing_cluster_stack_fails_with_one_line(
    case: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    spec, expected = LOCAL_CASES[case]
    assert attempt(spec, monkeypatch, LOCAL_CONFIG) == f'stack "broken": {expected}'


def test_existing_cluster_needs_a_kube_context(monkeypatch: pytest.MonkeyPatch) -> None:
    config = {"pulumi:disable-default-providers": '["kubernetes"]'}
    assert attempt(local.STACK, monkeypatch, config) == (
        'stack "broken": kubesandbox:kubeContext = None: is not set; run `pulumi config set '
        "kubesandbox:kubeContext <context> --stack broken` or add it to "
        "stacks/Pulumi.broken.yaml"
    )


def test_existing_cluster_needs_no_gcp_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(stacks.STACKS, "sound", local.STACK)
    plan = engine.run(
        lambda: deploy("sound"),
        project="kubesandbox",
        stack="sound",
        config={**LOCAL_CONFIG, "kubesandbox:kubeconfig": "/tmp/kubeconfig-test"},
    )
    assert plan.named("sound-kubernetes").inputs["context"] == "kind-test"
    assert plan.named("sound-kubernetes").inputs["kubeconfig"] == "/tmp/kubeconfig-test"


def test_gke_standard_with_kata_pool_deploys(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(stacks.STACKS, "sound", gke_with_kata())
    plan = engine.run(
        lambda: deploy("sound"), project="kubesandbox", stack="sound", config=TEST_CONFIG
    )
    pool = plan.named("sound-kata").inputs["nodeConfig"]
    assert pool["advancedMachineFeatures"] == {
        "threadsPerCore": 1,
        "enableNestedVirtualization": True,
    }
    assert pool["imageType"] == "UBUNTU_CONTAINERD"
    assert "sandboxConfig" not in pool
    assert "advancedMachineFeatures" not in plan.named("sound-gvisor").inputs["nodeConfig"]
    release = plan.named("sound-kata-containers-kata-deploy")
    assert plan.named("sound-kata").urn in release.dependencies
    runner = plan.named("code-runner-deployment")
    assert runner.inputs["spec"]["template"]["spec"]["runtimeClassName"] == "kata-qemu"
    assert plan.named("sound-kata").urn in runner.dependencies
    assert plan.named("sound-kata-containers-classes-kata-qemu").urn in runner.dependencies
    assert [
        r.inputs["metadata"]["name"] for r in plan.of_type("kubernetes:node.k8s.io/v1:RuntimeClass")
    ] == ["kata-qemu"]
