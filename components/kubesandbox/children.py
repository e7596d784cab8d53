"""Names of a component's children, and the aliases that keep their URNs when a name changes.

A child's URN holds its name, so renaming a child would make the engine delete the old resource
and create a new one. Each child is therefore named here from its component's name and a suffix;
a suffix the child had before goes into `previous`, and becomes an alias that tells the engine
the renamed child is the resource it already manages.

Mock tests can show which URN an alias names; only the real engine, reading a real state file,
resolves it. `tests/components/test_children.py` proves the first half.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pulumi

__all__ = ["Child"]


@dataclass(frozen=True)
class Child:
    """One child of a component, named `<component name>-<suffix>`."""

    suffix: str
    """What follows the component's name, e.g. "deployment" for "web-deployment"."""
    previous: Sequence[str] = ()
    """Suffixes the child was registered under before; each becomes an alias."""

    def name(self, component: str) -> str:
        """The child's resource name under the component named `component`."""
        return f"{component}-{self.suffix}"

    def options(
        self,
        parent: pulumi.Resource,
        component: str,
        opts: pulumi.ResourceOptions | None = None,
    ) -> pulumi.ResourceOptions:
        """`opts` with the component as parent and an alias for every previous name. Each alias
        keeps the child's type and parent and changes only its name."""
        own = pulumi.ResourceOptions(
            parent=parent,
            aliases=[pulumi.Alias(name=f"{component}-{old}") for old in self.previous] or None,
        )
        return pulumi.ResourceOptions.merge(own, opts)
