"""The Pulumi program: checks the selected stack, then builds its cluster and workloads."""

from __future__ import annotations

import pulumi

from kubesandbox import (
    SandboxedGkeCluster,
    SandboxedGkeClusterArgs,
    SandboxedWorkload,
    SandboxedWorkloadArgs,
)
from kubesandbox.errors import raise_if_any
from stacks import settings, spec, stack_spec


def deploy(stack_name: str) -> None:
    """Deploy the named stack. Every check runs before the first resource is registered."""
    stack = stack_spec(stack_name)
    config, config_problems = settings.read(stack_name)
    raise_if_any(f'stack "{stack_name}"', config_problems + spec.problems(stack))

    cluster = SandboxedGkeCluster(
        stack_name,
        SandboxedGkeClusterArgs(
            spec=stack.platform.cluster, project=config.project, region=config.region
        ),
    )

    for workload in stack.workloads:
        SandboxedWorkload(
            workload.name,
            SandboxedWorkloadArgs(workload=workload, wait_for=cluster.sandbox_node_pools),
            opts=pulumi.ResourceOptions(providers=[cluster.provider]),
        )

    pulumi.export("cluster_name", cluster.cluster.name)
    pulumi.export("kubeconfig", cluster.kubeconfig)
    pulumi.export(
        "workloads",
        {
            w.name: {"namespace": w.namespace_name, "runtime_class": w.runtime.class_name}
            for w in stack.workloads
        },
    )
