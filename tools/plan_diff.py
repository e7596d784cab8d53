"""What changed between two offline plan renders: resources added, removed, renamed and changed,
with the changed settings. Prints "no changes" when there are none.

A resource registered under a new URN with an alias naming a URN of the earlier render is shown
as renamed (`>`), not as one deletion and one creation: that is how the engine treats it. The
mock engine only records aliases; matching them against the earlier URNs here mirrors what the
real engine does against its state, and is no proof that a real state holds those URNs.

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
_STACK_TYPE = "pulumi:pulumi:Stack"


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
    renamed = renames(old, new)
    lines: list[str] = []
    for urn in sorted(new.keys() - old.keys() - renamed.keys()):
        lines.append(f"+ {_label(new[urn])}")
    for urn in sorted(old.keys() - new.keys() - set(renamed.values())):
        lines.append(f"- {_label(old[urn])}")
    for urn, old_urn in sorted(renamed.items()):
        lines.append(f"> {_label(old[old_urn])} → {new[urn]['name']}")
        moved = _changes(_without_aliases(old[old_urn]), _without_aliases(new[urn]))
        lines += [f"    {change}" for change in moved if not change.startswith("name:")]
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
    counts = {sign: sum(1 for line in lines if line.startswith(sign)) for sign in "+-~>"}
    text = f"{counts['+']} to add, {counts['~']} to change, {counts['-']} to delete"
    return text + (f", {counts['>']} renamed" if counts[">"] else "")


def renames(old: dict[str, Any], new: dict[str, Any]) -> dict[str, str]:
    """New URN to the earlier URN it replaces, for each new resource one of whose aliases names
    a URN that only the earlier render has."""
    gone = old.keys() - new.keys()
    found: dict[str, str] = {}
    for urn in sorted(new.keys() - old.keys()):
        matches = [u for u in alias_urns(urn, new[urn]) if u in gone and u not in found.values()]
        if matches:
            found[urn] = matches[0]
    return found


def alias_urns(urn: str, resource: dict[str, Any]) -> list[str]:
    """The URNs a render's resource is aliased to. A field an alias leaves empty keeps the
    resource's own value, as the engine reads it."""
    stack, project, _, _ = _urn_parts(urn)
    found = []
    for text in resource.get("options", {}).get("aliases", []):
        alias = json.loads(text)
        if "urn" in alias:
            found.append(alias["urn"])
            continue
        spec = alias.get("spec", {})
        if spec.get("noParent"):
            chain = ""
        else:
            parent = spec.get("parentUrn") or resource["parent"]
            chain = _urn_parts(parent)[2] if parent else ""
            # The engine leaves the stack out of its resources' URNs; the mock monitor's parent
            # URNs keep it.
            chain = chain.removeprefix(_STACK_TYPE).removeprefix("$")
        type_ = spec.get("type") or resource["type"]
        found.append(
            f"urn:pulumi:{spec.get('stack') or stack}::{spec.get('project') or project}::"
            f"{chain + '$' if chain else ''}{type_}::{spec.get('name') or resource['name']}"
        )
    return found


def _urn_parts(urn: str) -> tuple[str, str, str, str]:
    """Stack, project, qualified type (parent types joined by "$") and name of a URN."""
    stack, project, qualified_type, name = urn.removeprefix("urn:pulumi:").split("::", 3)
    return stack, project, qualified_type, name


def _without_aliases(resource: dict[str, Any]) -> dict[str, Any]:
    options = {k: v for k, v in resource.get("options", {}).items() if k != "aliases"}
    return {**resource, "options": options}


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
