"""What changed between two offline plan renders: resources added, removed and changed, with the
changed settings. Prints "no changes" when there are none.

    python -m tools.plan_diff EARLIER_RENDER LATER_RENDER
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

NO_CHANGES = "no changes"


def load(render: Path) -> dict[str, Any]:
    """The JSON form of a render folder."""
    path = render / "resources.json"
    if not path.is_file():
        raise SystemExit(f"{render} is not an offline plan render: {path} is missing")
    data: dict[str, Any] = json.loads(path.read_text())
    return data


def diff(before: dict[str, Any], after: dict[str, Any]) -> list[str]:
    """Lines describing every difference; empty when the renders plan the same thing."""
    old, new = before["resources"], after["resources"]
    lines: list[str] = []
    for urn in sorted(new.keys() - old.keys()):
        lines.append(f"+ {_label(new[urn])}")
    for urn in sorted(old.keys() - new.keys()):
        lines.append(f"- {_label(old[urn])}")
    for urn in sorted(old.keys() & new.keys()):
        changes = list(_changes(old[urn], new[urn]))
        if changes:
            lines.append(f"~ {_label(new[urn])}")
            lines += [f"    {change}" for change in changes]
    output_changes = list(_changes(before.get("outputs", {}), after.get("outputs", {})))
    if output_changes:
        lines.append("~ stack outputs")
        lines += [f"    {change}" for change in output_changes]
    return lines


def summary(lines: Sequence[str]) -> str:
    counts = {sign: sum(1 for line in lines if line.startswith(sign)) for sign in "+-~"}
    return f"{counts['+']} to add, {counts['~']} to change, {counts['-']} to delete"


def _label(resource: dict[str, Any]) -> str:
    return f"{resource['type']}  {resource['name']}"


def _changes(old: Any, new: Any, path: str = "") -> Iterator[str]:
    if isinstance(old, dict) and isinstance(new, dict):
        for key in sorted(old.keys() | new.keys()):
            child = f"{path}.{key}" if path else key
            if key not in new:
                yield f"{child}: {json.dumps(old[key])} → (removed)"
            elif key not in old:
                yield f"{child}: (none) → {json.dumps(new[key])}"
            else:
                yield from _changes(old[key], new[key], child)
    elif isinstance(old, list) and isinstance(new, list) and len(old) == len(new):
        for i, (a, b) in enumerate(zip(old, new, strict=True)):
            yield from _changes(a, b, f"{path}[{i}]")
    elif old != new:
        yield f"{path}: {json.dumps(old)} → {json.dumps(new)}"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("before", type=Path, help="earlier render folder")
    parser.add_argument("after", type=Path, help="later render folder")
    args = parser.parse_args(argv)
    lines = diff(load(args.before), load(args.after))
    print("\n".join([*lines, summary(lines)]) if lines else NO_CHANGES)
    return 0


if __name__ == "__main__":
    sys.exit(main())
