"""Bad input through the whole program: one readable line per mistake, nothing registered."""

from __future__ import annotations

import dataclasses

import pytest

import stacks
from kubesandbox import GKE_GVISOR, SpecError, Taint, Workload
from stacks import dev
from stacks.program import deploy
from stacks.spec import GkeStandard, StackSpec
from tests.conftest import TEST_CONFIG
from tools import engine


def _gke_standard() -> GkeStandard:
    platform = dev.STACK.platform
    assert isinstance(platform, GkeStandard)
    return platform


PLATFORM = _gke_standard()
CLUSTER = PLATFORM.cluster
SYSTEM, SANDBOX = CLUSTER.node_pools
RUNNER = Workload(name="runner", image="registry.example/runner:1.0.0", runtime=GKE_GVISOR)


def attempt(spec: StackSpec, monkeypatch: pytest.MonkeyPatch, config: dict[str, str]) -> str:
    """Deploy `spec` as stack "broken"; return the error, after checking nothing registered."""
    monkeypatch.setitem(stacks.STACKS, "broken", spec)
    seen: list[engine.Plan] = []

    def program() -> None:
        deploy("broken")

    monitor_plans: list[engine.RecordingMonitor] = []
    original = engine.RecordingMonitor.__init__

    def keep(self: engine.RecordingMonitor, disabled: frozenset[str]) -> None:
        original(self, disabled)
        monitor_plans.append(self)

    monkeypatch.setattr(engine.RecordingMonitor, "__init__", keep)
    with pytest.raises(SpecError) as raised:
        seen.append(engine.run(program, project="kubesandbox", stack="broken", config=config))
    assert seen == []
    assert monitor_plans[0].plan.resources == []
    return str(raised.value)


def with_cluster(**changes: object) -> StackSpec:
    cluster = dataclasses.replace(CLUSTER, **changes)  # type: ignore[arg-type]
    return dataclasses.replace(dev.STACK, platform=dataclasses.replace(PLATFORM, cluster=cluster))


def with_workloads(*workloads: Workload) -> StackSpec:
    return dataclasses.replace(dev.STACK, workloads=list(workloads))


CASES = {
    "no ordinary pool with a node": (
        with_cluster(node_pools=[dataclasses.replace(SYSTEM, min_nodes=0), SANDBOX]),
        "platform.cluster.node_pools = ['system', 'gvisor']: GKE Sandbox needs a pool with "
        "sandboxed=False and min_nodes >= 1 for system pods; add one",
    ),
    "sandbox on ubuntu": (
        with_cluster(node_pools=[SYSTEM, dataclasses.replace(SANDBOX, image_type="UBUNTU")]),
        "platform.cluster.node_pools[\"gvisor\"].image_type = 'UBUNTU': GKE Sandbox runs only on "
        'COS_CONTAINERD nodes; set image_type="COS_CONTAINERD"',
    ),
    "gke sandbox taint": (
        with_cluster(
            node_pools=[
                SYSTEM,
                dataclasses.replace(SANDBOX, taints=[Taint("sandbox.gke.io/runtime", "gvisor")]),
            ]
        ),
        'platform.cluster.node_pools["gvisor"].taints["sandbox.gke.io/runtime"] = \'gvisor\': '
        "GKE manages the sandbox.gke.io/runtime taint and rejects pools that declare it; "
        "remove it",
    ),
    "gke sandbox label": (
        with_cluster(
            node_pools=[
                SYSTEM,
                dataclasses.replace(SANDBOX, labels={"sandbox.gke.io/runtime": "gvisor"}),
            ]
        ),
        'platform.cluster.node_pools["gvisor"].labels["sandbox.gke.io/runtime"] = \'gvisor\': '
        "GKE sets sandbox.gke.io labels itself on sandbox pools; remove it",
    ),
    "min above max": (
        with_cluster(node_pools=[SYSTEM, dataclasses.replace(SANDBOX, min_nodes=5)]),
        'platform.cluster.node_pools["gvisor"].min_nodes = 5: is above max_nodes (3); '
        "lower min_nodes or raise max_nodes",
    ),
    "bad cluster name": (
        with_cluster(name="Sandbox_Dev"),
        "platform.cluster.name = 'Sandbox_Dev': must be a GKE name: 1-40 lowercase letters, "
        "digits or '-', starting with a letter and ending with a letter or digit",
    ),
    "duplicate pools": (
        with_cluster(node_pools=[SYSTEM, dataclasses.replace(SANDBOX, name="system")]),
        "platform.cluster.node_pools[].name = 'system': appears 2 times; each must be unique",
    ),
    "hostPath": (
        with_workloads(dataclasses.replace(RUNNER, host_paths={"/data": "/mnt/data"})),
        "workloads[\"runner\"].host_paths = {'/data': '/mnt/data'}: GKE Sandbox rejects hostPath "
        "volumes; use writable_paths (emptyDir) or a PersistentVolumeClaim",
    ),
    "privileged": (
        with_workloads(dataclasses.replace(RUNNER, privileged=True)),
        'workloads["runner"].privileged = True: a privileged container defeats the sandbox; '
        "remove it",
    ),
    "host network": (
        with_workloads(dataclasses.replace(RUNNER, host_network=True)),
        'workloads["runner"].host_network = True: host namespaces bypass the sandbox and Pod '
        "Security restricted; remove it",
    ),
    "sysctls": (
        with_workloads(dataclasses.replace(RUNNER, sysctls={"kernel.shm_rmid_forced": "1"})),
        "workloads[\"runner\"].sysctls = {'kernel.shm_rmid_forced': '1'}: GKE Sandbox does not "
        "support sysctls",
    ),
    "bad workload name": (
        with_workloads(dataclasses.replace(RUNNER, name="Runner", namespace="runner")),
        "workloads[\"Runner\"].name = 'Runner': must be a DNS-1035 label: at most 63 lowercase "
        "letters, digits or '-', starting with a letter and ending with a letter or digit",
    ),
    "duplicate workloads": (
        with_workloads(RUNNER, dataclasses.replace(RUNNER, namespace="other")),
        "workloads[].name = 'runner': appears 2 times; each must be unique",
    ),
    "shared namespace": (
        with_workloads(RUNNER, dataclasses.replace(RUNNER, name="second", namespace="runner")),
        "workloads[].namespace = 'runner': appears 2 times; each must be unique",
    ),
}


@pytest.mark.parametrize("case", CASES)
def test_bad_stack_fails_with_one_line(case: str, monkeypatch: pytest.MonkeyPatch) -> None:
    spec, expected = CASES[case]
    assert attempt(spec, monkeypatch, TEST_CONFIG) == f'stack "broken": {expected}'


def test_missing_project(monkeypatch: pytest.MonkeyPatch) -> None:
    config = {k: v for k, v in TEST_CONFIG.items() if k != "gcp:project"}
    assert attempt(dev.STACK, monkeypatch, config) == (
        'stack "broken": gcp:project = None: is not set; run `pulumi config set gcp:project '
        "<project> --stack broken` or add it to stacks/Pulumi.broken.yaml"
    )


def test_unknown_stack_lists_the_known_ones() -> None:
    with pytest.raises(SpecError) as raised:
        engine.run(lambda: deploy("qa"), project="kubesandbox", stack="qa", config=TEST_CONFIG)
    assert str(raised.value) == (
        "stack \"qa\": name = 'qa': no stack of that name is declared; known stacks: dev, "
        "staging, prod, autopilot, local (add one in stacks/ and register it in stacks/__init__.py)"
    )


def test_every_problem_is_reported_each_on_its_own_line(monkeypatch: pytest.MonkeyPatch) -> None:
    spec = with_workloads(dataclasses.replace(RUNNER, privileged=True, host_pid=True))
    lines = attempt(spec, monkeypatch, TEST_CONFIG).splitlines()
    assert [line.split(" = ")[0] for line in lines] == [
        'stack "broken": workloads["runner"].privileged',
        'stack "broken": workloads["runner"].host_pid',
    ]


def test_sound_stack_passes(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(stacks.STACKS, "sound", with_workloads(RUNNER))
    plan = engine.run(
        lambda: deploy("sound"), project="kubesandbox", stack="sound", config=TEST_CONFIG
    )
    assert plan.named("runner-deployment").type == "kubernetes:apps/v1:Deployment"
