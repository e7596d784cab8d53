"""Offline plan: runs the real program for a stack against Pulumi's mock engine and writes what it
would create, without a Pulumi CLI, credentials or cluster.

    python -m tools.plan STACK [--out DIR] [--diff EARLIER_RENDER]
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

from kubesandbox.errors import SpecError
from tools import engine, plan_diff, render


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("stack", help="stack name, e.g. dev")
    parser.add_argument("--out", type=Path, help="render folder (default plans/STACK)")
    parser.add_argument(
        "--diff", type=Path, metavar="EARLIER", help="print what changed since an earlier render"
    )
    args = parser.parse_args(argv)
    out: Path = args.out or engine.PROJECT_ROOT / "plans" / args.stack

    try:
        plan = engine.run_stack(args.stack)
    except SpecError as error:
        print(error, file=sys.stderr)
        return 2
    if plan.default_provider_uses:
        for urn in plan.default_provider_uses:
            print(f"{urn}: uses a default provider this stack disables", file=sys.stderr)
        return 2

    # An earlier render in the output folder itself is kept aside before it is replaced.
    earlier = args.diff
    with tempfile.TemporaryDirectory() as scratch:
        if earlier is not None and earlier.resolve() == out.resolve():
            earlier = Path(scratch) / "earlier"
            shutil.copytree(out, earlier)
        render.write(plan, args.stack, out)
        if earlier is not None:
            plan_diff.main([str(earlier), str(out)])
        else:
            print(f"{args.stack}: {len(plan.resources)} resources rendered to {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
