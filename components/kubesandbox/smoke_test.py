"""A Job that proves, during `pulumi up`, that pods of a RuntimeClass really run in its sandbox.

A RuntimeClass whose handler points at the wrong containerd runtime still admits and starts pods;
they just run on the node's kernel. Nothing in the API shows it. This Job asks the kernel from
inside a pod (see smoke/check-sandbox.sh) and fails when the answer is the node's, and
pulumi-kubernetes fails the update when a Job fails.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from importlib import resources
from typing import Any

import pulumi
import pulumi_kubernetes as k8s

from kubesandbox.errors import Problem, raise_if_any
from kubesandbox.labels import MANAGED_BY
from kubesandbox.pod_template import (
    container_security_context,
    pod_security_context,
    runtime_placement,
)
from kubesandbox.runtime import Isolation, Runtime
from kubesandbox.workload_spec import Resources, image_problems, resource_problems

__all__ = [
    "CHECK_RESOURCES",
    "DEFAULT_IMAGE",
    "SandboxSmokeTest",
    "SandboxSmokeTestArgs",
    "check_script",
    "job_name",
    "outcome",
    "pod_template",
    "problems",
]

DEFAULT_IMAGE = "busybox:1.37.0"
"""Small image with every command the check needs (sh, uname, cat, dmesg, head)."""

CHECK_RESOURCES = Resources(cpu="50m", memory="64Mi")
"""Requests and limits of the check: a shell and four small commands."""

# nobody: busybox's unprivileged user. gVisor answers syslog(2) reads from any user.
_NOBODY = 65534
# Pulumi waits this much longer than the Job's own deadline, so Kubernetes' reason surfaces.
_AWAIT_MARGIN_SECONDS = 60
_NAME_LABEL = {"app.kubernetes.io/name": "sandbox-smoke-test"}


def check_script() -> str:
    """The POSIX sh check the Job runs: `check-sandbox.sh gvisor|kata [NODE_KERNEL]`."""
    return resources.files("kubesandbox").joinpath("smoke/check-sandbox.sh").read_text()


@dataclass(frozen=True)
class SandboxSmokeTestArgs:
    """Inputs of a SandboxSmokeTest."""

    namespace: pulumi.Input[str]
    """Sandboxed namespace the Job runs in; it must allow the runtime's RuntimeClass."""
    runtime: Runtime
    """RuntimeClass under test; the check follows its isolation (gVisor or Kata)."""
    image: str = DEFAULT_IMAGE
    """Image with sh, uname, cat, dmesg and head, pinned by tag or digest."""
    timeout_seconds: int = 300
    """The Job's activeDeadlineSeconds, image pull and node scale-up included."""
    node_kernel: str | None = None
    """The nodes' `uname -r`, if known; a Kata check then also fails when the pod reports it."""
    resources: Resources = CHECK_RESOURCES
    """Requests and limits of the check's container."""
    triggers: Mapping[str, str] = field(default_factory=dict)
    """Extra values that re-run the check when they change, e.g. the node pool's version."""
    wait_for: Sequence[pulumi.Resource] = ()
    """Resources to finish first, such as the workload's Deployment, so the nodes exist."""


class SandboxSmokeTest(pulumi.ComponentResource):
    """A Job that fails `pulumi up` unless its pod runs inside the runtime's sandbox, and a
    NetworkPolicy that keeps that pod off the network.

    Pass the Kubernetes provider in `opts.providers`. `result` reads "passed: ..." once the Job
    has completed; in a preview it is unknown.
    """

    job: k8s.batch.v1.Job
    result: pulumi.Output[str]

    def __init__(
        self,
        name: str,
        args: SandboxSmokeTestArgs,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        raise_if_any(f'smoke test "{name}"', problems(args))
        super().__init__("kubesandbox:index:SandboxSmokeTest", name, None, opts)

        child = pulumi.ResourceOptions(parent=self)
        template = pod_template(args)
        labels = {**_NAME_LABEL, **MANAGED_BY}
        timeout = f"{args.timeout_seconds + _AWAIT_MARGIN_SECONDS}s"

        # The check needs no network at all. The workload's namespace usually denies everything
        # already; this policy keeps the pod closed, from its start, in a namespace that does not.
        fence = k8s.networking.v1.NetworkPolicy(
            f"{name}-network-policy",
            metadata={
                "name": f"{_name_prefix(args.runtime)}-deny-all",
                "namespace": args.namespace,
                "labels": labels,
            },
            spec={
                "podSelector": {"matchLabels": _NAME_LABEL},
                "policyTypes": ["Ingress", "Egress"],
            },
            opts=child,
        )

        self.job = k8s.batch.v1.Job(
            f"{name}-job",
            metadata={
                "name": job_name(args.runtime, template, args.triggers),
                "namespace": args.namespace,
                "labels": labels,
            },
            spec={
                # One attempt: a sandbox that is not there will not appear on a retry, and a
                # failed pod fails the Job, and so the update, at once.
                "backoffLimit": 0,
                "activeDeadlineSeconds": args.timeout_seconds,
                # No ttlSecondsAfterFinished: the finished Job is the record of the proof, and
                # a Job deleted behind Pulumi's back would be recreated, and re-run, by the
                # next `pulumi up --refresh`.
                "template": {"metadata": {"labels": labels}, "spec": template},
            },
            opts=pulumi.ResourceOptions(
                parent=self,
                depends_on=[fence, *args.wait_for],
                custom_timeouts=pulumi.CustomTimeouts(create=timeout, update=timeout),
            ),
        )

        runtime = args.runtime
        self.result = pulumi.Output.all(args.namespace, self.job.status).apply(
            lambda values: outcome(runtime, str(values[0]), values[1])
        )
        self.register_outputs(
            {"job": self.job.metadata.apply(lambda m: m["name"]), "result": self.result}
        )


def problems(args: SandboxSmokeTestArgs) -> list[Problem]:
    """Every way the arguments would make a Job that cannot run or cannot prove anything."""
    found = image_problems(args.image)
    found += [p.within("resources") for p in resource_problems(args.resources)]
    if args.timeout_seconds < 30:
        found.append(
            Problem(
                "timeout_seconds",
                args.timeout_seconds,
                "must be at least 30 so that an image pull is not reported as a failed check",
            )
        )
    if args.node_kernel is not None and args.runtime.isolation is not Isolation.KATA:
        found.append(
            Problem(
                "node_kernel",
                args.node_kernel,
                "only a Kata check compares kernels; gVisor's is told by its kernel log, "
                "so remove it",
            )
        )
    return found


def pod_template(args: SandboxSmokeTestArgs) -> dict[str, Any]:
    """The Job's pod spec, as the Kubernetes API spells it."""
    runtime = args.runtime
    check_args = [runtime.isolation.value]
    if args.node_kernel is not None:
        check_args.append(args.node_kernel)
    container: dict[str, Any] = {
        "name": "check",
        "image": args.image,
        "imagePullPolicy": "Always",
        # `sh -c SCRIPT NAME ARGS...`: NAME becomes $0, the arguments $1 and on.
        "command": ["/bin/sh", "-c", check_script(), "check-sandbox"],
        "args": check_args,
        "resources": {"requests": args.resources.requests, "limits": args.resources.limits},
        "securityContext": container_security_context(_NOBODY),
        # The check's last lines become the pod's termination message, shown by
        # `kubectl describe` next to the Job's failure.
        "terminationMessagePolicy": "FallbackToLogsOnError",
    }
    return {
        "runtimeClassName": runtime.class_name,
        "restartPolicy": "Never",
        "automountServiceAccountToken": False,
        "enableServiceLinks": False,
        "securityContext": pod_security_context(_NOBODY),
        "containers": [container],
        **runtime_placement(runtime),
    }


def job_name(runtime: Runtime, template: Mapping[str, Any], triggers: Mapping[str, str]) -> str:
    """`smoke-<class>-<hash>`, the hash taken over everything the check depends on.

    A finished Job never runs again, and pulumi-kubernetes replaces a Job only for some changes.
    A new name for every change of script, image, runtime or trigger makes each such deploy
    create a fresh Job and wait for it; the old one is deleted only once the new one passed.
    """
    checked = json.dumps({"pod": template, "triggers": dict(triggers)}, sort_keys=True)
    digest = hashlib.sha256(checked.encode()).hexdigest()[:10]
    return f"{_name_prefix(runtime)}-{digest}"


def _name_prefix(runtime: Runtime) -> str:
    return "smoke-" + re.sub(r"[^a-z0-9-]", "-", runtime.class_name)[:40].strip("-")


def outcome(runtime: Runtime, namespace: str, status: Any) -> str:
    """One line for the stack output, read from the Job's status.

    `pulumi up` returns only once the Job completed (or fails), so a deployed stack reads
    "passed: ...". The other lines appear only where the await was skipped or the status came
    from a refresh.
    """
    where = f"{runtime.class_name} ({runtime.isolation.value}) in {namespace}"
    conditions = status.get("conditions") if isinstance(status, Mapping) else None
    for condition in conditions or []:
        if condition.get("status") != "True":
            continue
        if condition.get("type") == "Complete":
            return f"passed: {where}"
        if condition.get("type") == "Failed":
            return f"failed: {where}: {condition.get('reason') or 'no reason given'}"
    return f"not finished: {where}"
