"""Preview or deploy several stacks in promotion order with the Pulumi Automation API.

    python -m tools.deploy preview --all
    python -m tools.deploy up --stack dev --stack staging [--keep-going]

Stacks run one at a time, dev before staging before prod, so a change reaches prod only after
the earlier environments took it. The first failure stops the run unless --keep-going is given;
the stacks it did not reach are listed as skipped. A summary table ends the output, and the
exit code is 1 if any stack failed.

The Automation API drives the `pulumi` CLI, which must be on PATH and logged in to the backend.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, Protocol

import pulumi.automation as auto

__all__ = [
    "CHANGE_KINDS",
    "PROMOTION_ORDER",
    "Outcome",
    "StackHandle",
    "Workspace",
    "format_summary",
    "main",
    "order_stacks",
    "run",
    "select_stack",
]

PROMOTION_ORDER = ("dev", "staging", "prod")
"""The environments a change is promoted through; `--all` means these."""

CHANGE_KINDS = ("create", "update", "replace", "delete", "same")
"""The change counts shown in the summary, in column order."""

REPO_ROOT = Path(__file__).resolve().parent.parent

Operation = Literal["preview", "up"]
OnOutput = Callable[[str], object]


class StackHandle(Protocol):
    """The part of `auto.Stack` this script uses."""

    def preview(self, *, on_output: OnOutput) -> auto.PreviewResult: ...

    def up(self, *, on_output: OnOutput) -> auto.UpResult: ...


Workspace = Callable[[str, Path], StackHandle]
"""Opens a stack by name in a project directory; tests replace it with a fake."""


def select_stack(stack_name: str, work_dir: Path) -> StackHandle:
    """Open the stack of the Pulumi project in work_dir, creating it if it does not exist."""
    return auto.create_or_select_stack(stack_name=stack_name, work_dir=str(work_dir))


@dataclass(frozen=True)
class Outcome:
    """How one stack's operation ended."""

    stack: str
    operation: Operation
    result: Literal["succeeded", "failed", "skipped"]
    changes: Mapping[str, int]
    seconds: float | None


def order_stacks(names: Iterable[str]) -> list[str]:
    """Put the promotion environments first and in order; keep other stacks in given order."""
    unique = list(dict.fromkeys(names))
    known = [name for name in PROMOTION_ORDER if name in unique]
    return known + [name for name in unique if name not in PROMOTION_ORDER]


def _counts(changes: Mapping[auto.OpType, int] | Mapping[str, int] | None) -> dict[str, int]:
    # The SDK types the keys as OpType, but the engine's JSON arrives as plain strings; OpType's
    # hash is its member name, so look-ups by "create" would miss OpType keys without this step.
    counts: dict[str, int] = {}
    for key, value in (changes or {}).items():
        counts[str(getattr(key, "value", key))] = int(value)
    return counts


def run(
    operation: Operation,
    stacks: Sequence[str],
    *,
    workspace: Workspace = select_stack,
    work_dir: Path = REPO_ROOT,
    keep_going: bool = False,
    clock: Callable[[], float] = time.monotonic,
    out: Callable[[str], object] = print,
    err: Callable[[str], object] = lambda text: print(text, file=sys.stderr),
) -> list[Outcome]:
    """Run the operation on each stack in turn and return one outcome per stack."""
    outcomes: list[Outcome] = []
    failed = False
    for name in stacks:
        if failed and not keep_going:
            outcomes.append(Outcome(name, operation, "skipped", {}, None))
            continue
        out(f"==> pulumi {operation} on stack {name}")
        started = clock()

        def stream(line: str, name: str = name) -> None:
            out(f"[{name}] {line}")

        try:
            stack = workspace(name, work_dir)
            if operation == "preview":
                changes = _counts(stack.preview(on_output=stream).change_summary)
            else:
                changes = _counts(stack.up(on_output=stream).summary.resource_changes)
        except auto.CommandError as error:
            failed = True
            err(f"pulumi {operation} on stack {name} failed:\n{error}")
            outcomes.append(Outcome(name, operation, "failed", {}, clock() - started))
            continue
        outcomes.append(Outcome(name, operation, "succeeded", changes, clock() - started))
    return outcomes


def format_summary(outcomes: Sequence[Outcome]) -> str:
    """A plain-text table with one row per stack, columns padded to the widest cell."""
    header = ["stack", "operation", "result", *CHANGE_KINDS, "duration"]
    rows = [header]
    for o in outcomes:
        if o.result == "succeeded":
            counts = [str(o.changes.get(kind, 0)) for kind in CHANGE_KINDS]
        else:
            counts = ["-"] * len(CHANGE_KINDS)
        duration = "-" if o.seconds is None else f"{o.seconds:.1f}s"
        rows.append([o.stack, o.operation, o.result, *counts, duration])
    widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
    # Names and words align left, numbers right, as a reader scans them.
    numeric = {i for i, column in enumerate(header) if column in (*CHANGE_KINDS, "duration")}
    lines = []
    for row in rows:
        cells = [
            cell.rjust(widths[i]) if i in numeric else cell.ljust(widths[i])
            for i, cell in enumerate(row)
        ]
        lines.append("  ".join(cells).rstrip())
    return "\n".join(lines)


def main(
    argv: Sequence[str] | None = None,
    workspace: Workspace = select_stack,
    clock: Callable[[], float] = time.monotonic,
) -> int:
    """Command-line entry point; returns the exit code."""
    parser = argparse.ArgumentParser(
        prog="python -m tools.deploy",
        description="Preview or deploy stacks in promotion order (dev, staging, prod).",
    )
    parser.add_argument("operation", choices=["preview", "up"])
    parser.add_argument(
        "--stack", action="append", default=[], help="a stack to run; repeat for more"
    )
    parser.add_argument("--all", action="store_true", help="run dev, staging and prod")
    parser.add_argument(
        "--keep-going", action="store_true", help="run the remaining stacks after a failure"
    )
    parser.add_argument(
        "--work-dir", type=Path, default=REPO_ROOT, help="the Pulumi project directory"
    )
    args = parser.parse_args(argv)

    names = [*args.stack, *(PROMOTION_ORDER if args.all else ())]
    if not names:
        parser.error("name a stack with --stack, or use --all")

    outcomes = run(
        args.operation,
        order_stacks(names),
        workspace=workspace,
        work_dir=args.work_dir,
        keep_going=args.keep_going,
        clock=clock,
    )
    print()
    print(format_summary(outcomes))
    return 1 if any(o.result != "succeeded" for o in outcomes) else 0


if __name__ == "__main__":
    sys.exit(main())
