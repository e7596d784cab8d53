"""The Pulumi program: checks the selected stack, then builds its platform and workloads."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass, field

import pulumi
import pulumi_kubernetes as k8s

from kubesandbox import (
    SandboxedGkeCluster,
    SandboxedGkeClusterArgs,
    SandboxedWorkload,
    SandboxedWorkloadArgs,
)
from kubesandbox.admission import SandboxAdmission, SandboxAdmissionArgs
from kubesandbox.errors import raise_if_any
from kubesandbox.kata import KataContainers, KataContainersArgs
from kubesandbox.node_installer import GvisorNodeInstaller, GvisorNodeInstallerArgs
from kubesandbox.runtime import GKE_GVISOR
from kubesandbox.runtime_classes import RuntimeClasses, RuntimeClassesArgs
from kubesandbox.smoke_test import SandboxSmokeTest, SandboxSmokeTestArgs
from stacks import settings, spec, stack_spec
from stacks.spec import ExistingCluster, GkeAutopilot


@dataclass
class _Target:
    """What workloads deploy into: the provider, and what each RuntimeClass needs first."""

    provider: k8s.Provider
    needs: dict[str, Sequence[pulumi.Resource]] = field(default_factory=dict)
    runtime_scheduling: bool = True


def deploy(stack_name: str) -> None:
    """Deploy the named stack. Every check runs before the first resource is registered."""
    stack = stack_spec(stack_name)
    config, config_problems = settings.read(stack_name, stack.platform)
    raise_if_any(f'stack "{stack_name}"', config_problems + spec.problems(stack))

    platform = stack.platform
    if isinstance(platform, ExistingCluster):
        target = _existing_cluster(stack_name, platform, config)
        pulumi.export("kube_context", config.kube_context)
    else:
        target = _gke(stack_name, platform, config)

    on_cluster = pulumi.ResourceOptions(providers=[target.provider])
    # In force before any workload, so that the API server itself refuses a pod template in a
    # sandboxed namespace that names no allowed RuntimeClass, whoever applies it.
    admission = SandboxAdmission(f"{stack_name}-admission", SandboxAdmissionArgs(), opts=on_cluster)

    smoke_results: dict[str, pulumi.Output[str]] = {}
    for workload in stack.workloads:
        deployed = SandboxedWorkload(
            workload.name,
            SandboxedWorkloadArgs(
                workload=workload,
                wait_for=[*target.needs.get(workload.runtime.class_name, ()), admission],
                runtime_scheduling=target.runtime_scheduling,
            ),
            opts=on_cluster,
        )
        if stack.smoke_tests:
            runtime = workload.runtime
            if not target.runtime_scheduling:
                runtime = dataclasses.replace(runtime, node_selector={}, tolerations=())
            smoke = SandboxSmokeTest(
                f"{workload.name}-smoke-test",
                SandboxSmokeTestArgs(
                    namespace=workload.namespace_name,
                    runtime=runtime,
                    wait_for=[deployed],
                ),
                opts=on_cluster,
            )
            smoke_results[workload.name] = smoke.result

    if smoke_results:
        pulumi.export("smoke_tests", smoke_results)
    pulumi.export(
        "workloads",
        {
            w.name: {"namespace": w.namespace_name, "runtime_class": w.runtime.class_name}
            for w in stack.workloads
        },
    )


def _gke(
    stack_name: str, platform: spec.GkeStandard | GkeAutopilot, config: settings.Settings
) -> _Target:
    cluster = SandboxedGkeCluster(
        stack_name,
        SandboxedGkeClusterArgs(
            spec=platform.cluster, project=config.project, region=config.region
        ),
    )
    pulumi.export("cluster_name", cluster.cluster.name)
    pulumi.export("kubeconfig", cluster.kubeconfig)

    if isinstance(platform, GkeAutopilot):
        # Autopilot reads runtimeClassName and provisions a GKE Sandbox node for the pod. GKE's
        # class brings its own scheduling; stating GKE's node label and taint on the pod as well
        # gains nothing there and risks Autopilot's checks on user-set node selectors.
        return _Target(provider=cluster.provider, runtime_scheduling=False)

    target = _Target(
        provider=cluster.provider, needs={GKE_GVISOR.class_name: cluster.sandbox_node_pools}
    )
    if platform.kata is not None:
        kata = KataContainers(
            f"{stack_name}-kata-containers",
            KataContainersArgs(
                kata=platform.kata, gke_managed=True, wait_for=cluster.kata_node_pools
            ),
            opts=pulumi.ResourceOptions(providers=[cluster.provider]),
        )
        for class_name, runtime_class in kata.runtime_classes.runtime_classes.items():
            target.needs[class_name] = [runtime_class, *cluster.kata_node_pools]
    return target


def _existing_cluster(
    stack_name: str, platform: ExistingCluster, config: settings.Settings
) -> _Target:
    # The context is named explicitly, so the stack never follows the kubeconfig's current one.
    provider = k8s.Provider(
        f"{stack_name}-kubernetes", context=config.kube_context, kubeconfig=config.kubeconfig
    )
    target = _Target(provider=provider)
    on_cluster = pulumi.ResourceOptions(providers=[provider])

    if platform.gvisor is not None:
        installer = GvisorNodeInstaller(
            f"{stack_name}-gvisor",
            GvisorNodeInstallerArgs(nodes=platform.gvisor),
            opts=on_cluster,
        )
        classes = RuntimeClasses(
            f"{stack_name}-runtime-classes",
            RuntimeClassesArgs(classes=[platform.gvisor.runtime_class], wait_for=[installer]),
            opts=on_cluster,
        )
        for class_name, runtime_class in classes.runtime_classes.items():
            target.needs[class_name] = [runtime_class]

    if platform.kata is not None:
        kata = KataContainers(
            f"{stack_name}-kata-containers", KataContainersArgs(kata=platform.kata), opts=on_cluster
        )
        for class_name, runtime_class in kata.runtime_classes.runtime_classes.items():
            target.needs[class_name] = [runtime_class]
    return target
