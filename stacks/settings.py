"""What a deployer sets per stack with `pulumi config set`, read and checked in one place."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi

from kubesandbox.errors import Problem
from stacks.spec import ExistingCluster, Platform


@dataclass(frozen=True)
class Settings:
    """Deployer-provided settings of one stack; each platform reads only its own."""

    project: str = ""
    """Google Cloud project (`gcp:project`), on GKE."""
    region: str = ""
    """Google Cloud region (`gcp:region`), on GKE."""
    kube_context: str = ""
    """kubeconfig context of an existing cluster (`kubesandbox:kubeContext`)."""
    kubeconfig: str | None = None
    """Path of the kubeconfig file holding that context (`kubesandbox:kubeconfig`); None means
    the usual lookup ($KUBECONFIG, then ~/.kube/config)."""


def read(stack: str, platform: Platform) -> tuple[Settings, list[Problem]]:
    """The stack's settings, and a problem for each one that is missing."""
    if isinstance(platform, ExistingCluster):
        return _read_existing(stack)
    gcp = pulumi.Config("gcp")
    found: list[Problem] = []
    values: dict[str, str] = {}
    for key in ("project", "region"):
        value = gcp.get(key)
        if not value:
            found.append(_missing(f"gcp:{key}", value, key, stack))
        values[key] = value or ""
    return Settings(project=values["project"], region=values["region"]), found


def _read_existing(stack: str) -> tuple[Settings, list[Problem]]:
    config = pulumi.Config("kubesandbox")
    context = config.get("kubeContext")
    kubeconfig = config.get("kubeconfig") or None
    # The context is required: without it the provider would use whatever context happens to be
    # current on the deployer's machine, and could deploy into the wrong cluster.
    found = [] if context else [_missing("kubesandbox:kubeContext", context, "context", stack)]
    return Settings(kube_context=context or "", kubeconfig=kubeconfig), found


def _missing(key: str, value: str | None, placeholder: str, stack: str) -> Problem:
    return Problem(
        key,
        value,
        f"is not set; run `pulumi config set {key} <{placeholder}> --stack {stack}` "
        f"or add it to stacks/Pulumi.{stack}.yaml",
    )
