"""A GKE Sandbox (gVisor) node pool added to a GKE Standard cluster this program does not own."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_gcp as gcp

from kubesandbox import gke_spec, names
from kubesandbox.children import Child
from kubesandbox.errors import Problem, raise_if_any
from kubesandbox.gke_nodes import node_pool
from kubesandbox.gke_spec import NodePool

__all__ = ["SandboxNodePool", "SandboxNodePoolArgs"]

POOL = Child("pool")


@dataclass(frozen=True)
class SandboxNodePoolArgs:
    """Inputs of a SandboxNodePool."""

    pool: NodePool
    """The pool to add; it must have sandboxed=True."""
    cluster: pulumi.Input[str]
    """Name of the existing GKE Standard cluster."""
    location: pulumi.Input[str]
    """The cluster's location: its zone, or its region for a regional cluster."""
    project: pulumi.Input[str]
    """Google Cloud project that holds the cluster."""
    service_account: pulumi.Input[str]
    """Email of the service account the nodes run as, usually the one the cluster's other pools
    use. Required: GKE would otherwise use the Compute Engine default account, which commonly
    holds Editor on the whole project."""


class SandboxNodePool(pulumi.ComponentResource):
    """A gVisor node pool in an existing GKE cluster, hardened like SandboxedGkeCluster's pools.

    GKE creates RuntimeClass `gvisor` once the pool exists; run workloads on it with
    `Workload(runtime=GKE_GVISOR, ...)` and pass this component in `wait_for`."""

    node_pool: gcp.container.NodePool
    """The GKE node pool."""
    name: pulumi.Output[str]
    """GKE name of the node pool, once it exists."""

    def __init__(
        self,
        name: str,
        args: SandboxNodePoolArgs,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        raise_if_any(f'node pool "{name}"', problems(args))
        super().__init__("kubesandbox:index:SandboxNodePool", name, None, opts)

        self.node_pool = node_pool(
            POOL.name(name),
            args.pool,
            project=args.project,
            cluster=args.cluster,
            location=args.location,
            service_account=args.service_account,
            opts=POOL.options(self, name),
        )
        self.name = self.node_pool.name

        self.register_outputs({"name": self.name, "cluster": args.cluster})


def problems(args: SandboxNodePoolArgs) -> list[Problem]:
    """Every way the pool breaks GKE's or GKE Sandbox's rules. Values only known at deploy time
    (outputs of other resources) are left to GKE."""
    found = [p.within("pool") for p in gke_spec.pool_problems(args.pool)]
    if not args.pool.sandboxed:
        found.append(
            Problem(
                "pool.sandboxed",
                False,
                "a SandboxNodePool runs pods in gVisor; set sandboxed=True",
            )
        )
    if isinstance(args.cluster, str):
        found += names.gke_name("cluster", args.cluster)
    if isinstance(args.service_account, str) and "@" not in args.service_account:
        found.append(
            Problem(
                "service_account",
                args.service_account,
                "must be a service account email, e.g. nodes@my-project.iam.gserviceaccount.com",
            )
        )
    return found
