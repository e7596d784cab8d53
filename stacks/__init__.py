"""The stacks this project deploys, by Pulumi stack name. Each is declared in a module of its own;
what a deployer sets (project, region) lives beside it in Pulumi.<stack>.yaml."""

from __future__ import annotations

from collections.abc import Mapping

from kubesandbox.errors import Problem, SpecError
from stacks import autopilot, dev, local, prod, staging
from stacks.spec import StackSpec

STACKS: Mapping[str, StackSpec] = {
    "dev": dev.STACK,
    "staging": staging.STACK,
    "prod": prod.STACK,
    "autopilot": autopilot.STACK,
    "local": local.STACK,
}


def stack_spec(name: str) -> StackSpec:
    """The declared stack of that name, or a SpecError that lists the known ones."""
    try:
        return STACKS[name]
    except KeyError:
        known = ", ".join(STACKS)
        raise SpecError(
            f'stack "{name}"',
            [
                Problem(
                    "name",
                    name,
                    f"no stack of that name is declared; known stacks: {known} "
                    "(add one in stacks/ and register it in stacks/__init__.py)",
                )
            ],
        ) from None
