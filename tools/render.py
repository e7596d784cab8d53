"""Writes a recorded plan as files a reviewer reads: a tree of resources with the settings that
matter, every Kubernetes manifest as YAML, and a JSON form that `plan_diff` compares."""

from __future__ import annotations

import json
import re
import shutil
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import yaml

from tools.engine import Plan, Registration

# Settings shown in the tree, by resource type, as paths into the resource's inputs.
KEY_SETTINGS: Mapping[str, Sequence[str]] = {
    "gcp:container/cluster:Cluster": (
        "name",
        "location",
        "nodeLocations",
        "releaseChannel.channel",
        "minMasterVersion",
        "datapathProvider",
        "workloadIdentityConfig.workloadPool",
        "privateClusterConfig.enablePrivateNodes",
        "masterAuthorizedNetworksConfig.cidrBlocks",
        "deletionProtection",
        "removeDefaultNodePool",
    ),
    "gcp:container/nodePool:NodePool": (
        "name",
        "nodeConfig.sandboxConfig.type",
        "nodeConfig.imageType",
        "nodeConfig.machineType",
        "nodeConfig.spot",
        "autoscaling.minNodeCount",
        "autoscaling.maxNodeCount",
        "nodeConfig.workloadMetadataConfig.mode",
        "nodeConfig.shieldedInstanceConfig.enableSecureBoot",
        "nodeConfig.serviceAccount",
    ),
    "gcp:compute/subnetwork:Subnetwork": ("ipCidrRange", "privateIpGoogleAccess"),
    "gcp:serviceaccount/account:Account": ("accountId",),
    "gcp:projects/iAMMember:IAMMember": ("role",),
    "kubernetes:core/v1:Namespace": (
        "metadata.name",
        'metadata.labels["pod-security.kubernetes.io/enforce"]',
        'metadata.labels["kubesandbox.io/sandboxed"]',
    ),
    "kubernetes:apps/v1:Deployment": (
        "metadata.namespace",
        "spec.replicas",
        "spec.template.spec.runtimeClassName",
        "spec.template.spec.containers[0].image",
        "spec.progressDeadlineSeconds",
    ),
    "kubernetes:core/v1:ServiceAccount": ("automountServiceAccountToken",),
    "kubernetes:networking.k8s.io/v1:NetworkPolicy": ("metadata.name", "spec.policyTypes"),
    "kubernetes:node.k8s.io/v1:RuntimeClass": ("metadata.name", "handler"),
}


def write(plan: Plan, stack: str, out: Path) -> None:
    """Replace `out` with the rendered plan."""
    if out.exists():
        shutil.rmtree(out)
    (out / "manifests").mkdir(parents=True)
    (out / "resources.json").write_text(json.dumps(as_json(plan), indent=2, sort_keys=True) + "\n")
    (out / "tree.txt").write_text(tree(plan, stack))
    for path, manifest in manifests(plan).items():
        target = out / "manifests" / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(yaml.safe_dump(manifest, sort_keys=False))


def as_json(plan: Plan) -> dict[str, Any]:
    """The plan as plain data, keyed by URN so that two renders can be compared."""
    return {
        "outputs": plan.outputs,
        "resources": {
            r.urn: {
                "type": r.type,
                "name": r.name,
                "parent": r.parent,
                "provider": r.provider,
                "inputs": r.inputs,
                "options": options(r),
            }
            for r in plan.resources
        },
    }


def options(resource: Registration) -> dict[str, Any]:
    """The resource options that change what an update does, leaving out the defaults."""
    found: dict[str, Any] = {}
    if resource.protect:
        found["protect"] = True
    if resource.delete_before_replace:
        found["deleteBeforeReplace"] = True
    if resource.ignore_changes:
        found["ignoreChanges"] = list(resource.ignore_changes)
    if resource.replace_on_changes:
        found["replaceOnChanges"] = list(resource.replace_on_changes)
    if resource.custom_timeouts:
        found["customTimeouts"] = dict(resource.custom_timeouts)
    if resource.dependencies:
        found["dependsOn"] = sorted(_short(urn) for urn in resource.dependencies)
    if resource.aliases:
        found["aliases"] = list(resource.aliases)
    return found


def tree(plan: Plan, stack: str) -> str:
    """Resources nested under their parents, each with its key settings and options."""
    children: dict[str, list[Registration]] = {}
    for resource in plan.resources:
        children.setdefault(resource.parent, []).append(resource)
    lines = [f"stack {stack}: {len(plan.resources)} resources"]

    def walk(parent: str, indent: str) -> None:
        siblings = sorted(children.get(parent, []), key=lambda r: (r.type, r.name))
        for i, resource in enumerate(siblings):
            last = i == len(siblings) - 1
            branch, below = ("└─ ", "   ") if last else ("├─ ", "│  ")
            lines.append(f"{indent}{branch}{resource.type}  {resource.name}")
            detail = indent + below + ("   " if resource.urn not in children else "│  ")
            if resource.provider:
                lines.append(f"{detail}provider: {_short(resource.provider)}")
            for path in KEY_SETTINGS.get(resource.type, ()):
                value = lookup(resource.inputs, path)
                if value is not None:
                    lines.append(f"{detail}{path}: {json.dumps(value)}")
            for key, value in options(resource).items():
                if key == "aliases":
                    # The SDKs alias every resource to its type's older names; show only ours.
                    ours = [a for a in value if '"name"' in a]
                    if ours:
                        lines.append(f"{detail}{key}: {json.dumps(ours)}")
                    continue
                lines.append(f"{detail}{key}: {json.dumps(value)}")
            walk(resource.urn, indent + below)

    walk(plan.stack_urn, "")
    if plan.outputs:
        lines.append("outputs:")
        lines += [f"  {k}: {json.dumps(v)}" for k, v in sorted(plan.outputs.items())]
    return "\n".join(lines) + "\n"


def manifests(plan: Plan) -> dict[str, dict[str, Any]]:
    """Kubernetes objects by file path: `<namespace or _cluster>/<kind>-<name>.yaml`."""
    found: dict[str, dict[str, Any]] = {}
    for resource in plan.resources:
        if not resource.custom or not resource.type.startswith("kubernetes:"):
            continue
        manifest = dict(resource.inputs)
        if "apiVersion" not in manifest or "kind" not in manifest:
            continue
        metadata = manifest.get("metadata", {})
        folder = metadata.get("namespace", "_cluster")
        name = metadata.get("name", resource.name)
        found[f"{folder}/{manifest['kind'].lower()}-{name}.yaml"] = manifest
    return found


def lookup(data: Mapping[str, Any], path: str) -> Any:
    """A value by a dotted path with `[index]` and `["key"]` steps, or None."""
    current: Any = data
    for step in _steps(path):
        if isinstance(step, int):
            if not isinstance(current, list) or step >= len(current):
                return None
            current = current[step]
        else:
            if not isinstance(current, Mapping) or step not in current:
                return None
            current = current[step]
    return current


def _steps(path: str) -> list[str | int]:
    steps: list[str | int] = []
    for match in _STEP.finditer(path):
        key, index, name = match.groups()
        steps.append(key if key is not None else int(index) if index is not None else name)
    return steps


_STEP = re.compile(r'\["([^"]+)"\]|\[(\d+)\]|\.?([^.\[]+)')


def _short(urn: str) -> str:
    """The logical name at the end of a URN."""
    return urn.rsplit("::", 1)[-1]
