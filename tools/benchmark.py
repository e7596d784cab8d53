"""Offline plan cost: wall time and peak memory per stack, and the cost per resource of the real
program against the bare SDK registering the same resources in the same run.

    python -m tools.benchmark [--rounds 5] [STACK ...]

The bare-SDK baseline replays the stack's own registrations with the provider SDKs' own classes:
the same resources, classes, inputs and dependencies, in a flat program under the same engine (a
test checks that the replay registers exactly the same inputs). The ratios are therefore the cost
of what the project adds on top: stack objects, validation, components and outputs. `time` is
total wall time over total; `per resource` divides each side by what it registered, components
included on the project's side. Run it on an idle machine; it measures, it does not assert.
"""

from __future__ import annotations

import argparse
import importlib
import json
import re
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from typing import Any

import pulumi
import pulumi_kubernetes
from pulumi.runtime import rpc

from stacks import STACKS
from tools import engine


def replay(plan: engine.Plan) -> Callable[[], None]:
    """A flat program that registers the plan's resources with the bare provider SDKs: the same
    classes, inputs and dependencies, but no stack objects, validation, components or outputs."""
    recorded = [r for r in plan.resources if r.custom]

    def program() -> None:
        registered: dict[str, pulumi.Resource] = {}
        for r in recorded:
            opts = pulumi.ResourceOptions(
                depends_on=[registered[urn] for urn in r.dependencies if urn in registered]
            )
            kwargs = {_snake(k): v for k, v in r.inputs.items() if k not in ("apiVersion", "kind")}
            registered[r.urn] = sdk_class(r.type)(r.name, opts=opts, **kwargs)

    return program


def sdk_class(type_: str) -> Callable[..., pulumi.Resource]:
    """The provider SDK's Python class for a type token, as the SDK registered it."""
    package, module_name, _ = type_.split(":")
    if (package, module_name) == ("pulumi", "providers"):
        provider: Callable[..., pulumi.Resource] = pulumi_kubernetes.Provider
        return provider
    module = rpc.get_resource_module(package, module_name, "")
    if module is None:
        raise LookupError(f"no SDK class is registered for {type_}")
    info = module.mod_info  # type: ignore[attr-defined]
    cls: Callable[..., pulumi.Resource] = getattr(
        importlib.import_module(info["fqn"]), info["classes"][type_]
    )
    return cls


def _snake(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


def timed(run: Callable[[], engine.Plan]) -> tuple[float, int]:
    start = time.perf_counter()
    plan = run()
    return time.perf_counter() - start, len(plan.resources)


def measure(stack: str, rounds: int) -> dict[str, Any]:
    config = engine.stack_config(stack)
    project = engine.project_name()
    plan = engine.run_stack(stack)
    bare = replay(plan)
    ours_times, bare_times = [], []
    ours_count = bare_count = 0
    for _ in range(rounds):
        # Interleaved, so that a slow moment of the machine hits both sides alike.
        seconds, ours_count = timed(lambda: engine.run_stack(stack))
        ours_times.append(seconds)
        seconds, bare_count = timed(
            lambda: engine.run(bare, project=project, stack=stack, config=config)
        )
        bare_times.append(seconds)
    ours, baseline = statistics.median(ours_times), statistics.median(bare_times)
    return {
        "stack": stack,
        "resources": ours_count,
        "bare_resources": bare_count,
        "plan_seconds": ours,
        "bare_seconds": baseline,
        "ours_ms_per_resource": 1000 * ours / ours_count,
        "bare_ms_per_resource": 1000 * baseline / bare_count,
        "time_ratio": ours / baseline,
        "ratio": (ours / ours_count) / (baseline / bare_count),
    }


def peak_memory_mib(stack: str, mode: str) -> float:
    """Peak resident memory of a fresh process that renders the stack once (`mode` = ours|bare)."""
    code = (
        "import resource, sys\n"
        "from tools import engine, benchmark\n"
        f"stack, mode = {stack!r}, {mode!r}\n"
        "plan = engine.run_stack(stack)\n"
        "if mode == 'bare':\n"
        "    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss\n"
        "    engine.run(benchmark.replay(plan), project=engine.project_name(), stack=stack,\n"
        "               config=engine.stack_config(stack))\n"
        "print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)\n"
    )
    # Both modes import the same SDKs and run the real program once (the bare side needs its
    # registrations), so the difference between them is what the program itself holds on to.
    output = subprocess.run(
        [sys.executable, "-c", code], check=True, capture_output=True, text=True
    ).stdout
    return int(output.split()[-1]) / 1024


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("stacks", nargs="*", default=sorted(STACKS), help="stacks to measure")
    parser.add_argument("--rounds", type=int, default=5, help="timed rounds per side (median)")
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")
    args = parser.parse_args(argv)

    rows = []
    for stack in args.stacks:
        row = measure(stack, args.rounds)
        row["peak_rss_mib"] = peak_memory_mib(stack, "ours")
        rows.append(row)
    if args.json:
        print(json.dumps(rows, indent=2))
        return 0
    header = (
        f"{'stack':<10}{'resources':>10}{'plan s':>9}{'bare s':>9}"
        f"{'ms/res':>9}{'bare ms/res':>13}{'time':>7}{'per res':>9}{'peak MiB':>10}"
    )
    print(header)
    for r in rows:
        print(
            f"{r['stack']:<10}{r['resources']:>10}{r['plan_seconds']:>9.3f}"
            f"{r['bare_seconds']:>9.3f}{r['ours_ms_per_resource']:>9.2f}"
            f"{r['bare_ms_per_resource']:>13.2f}{r['time_ratio']:>7.2f}{r['ratio']:>9.2f}"
            f"{r['peak_rss_mib']:>10.1f}"
        )
    print(f"(median of {args.rounds} interleaved rounds; peak is the whole process, SDKs included)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
