"""Spec mistakes, reported as one line each before any resource is registered."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pulumi


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a spec: where, what was given, and what to do instead."""

    field: str
    """Path of the offending field, e.g. `node_pools["sandbox"].image_type`."""
    value: object
    """The value that was given."""
    fix: str
    """Why it is wrong and what to set instead, as one sentence."""

    def within(self, prefix: str) -> Problem:
        """The same problem, with its field path placed under `prefix`."""
        joiner = "" if self.field.startswith("[") else "."
        return Problem(f"{prefix}{joiner}{self.field}", self.value, self.fix)

    def render(self, subject: str) -> str:
        """One line: subject, field, value and fix."""
        return f"{subject}: {self.field} = {self.value!r}: {self.fix}"


class SpecError(pulumi.RunError):
    """A spec cannot be deployed as written.

    It derives from `pulumi.RunError` so that `pulumi preview` prints the message alone, without a
    stack trace: the deployer made the mistake, not the program.
    """

    def __init__(self, subject: str, problems: Sequence[Problem]) -> None:
        self.subject = subject
        self.problems = tuple(problems)
        super().__init__("\n".join(p.render(subject) for p in self.problems))


def raise_if_any(subject: str, problems: Sequence[Problem]) -> None:
    """Raise a SpecError listing every problem, if there is at least one."""
    if problems:
        raise SpecError(subject, problems)
