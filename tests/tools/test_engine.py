"""The recording engine's StackReference support: outputs given per stack, refusal otherwise."""

from __future__ import annotations

import pulumi
import pytest

from tools import engine


def read(stack: str, *, export: bool = True) -> engine.Plan:
    def program() -> None:
        reference = pulumi.StackReference(stack)
        if export:
            pulumi.export("endpoint", reference.require_output("endpoint"))

    return engine.run(
        program,
        project="consumer",
        stack="dev",
        config={},
        stack_references={"org/cluster/dev": {"endpoint": "10.0.0.1"}},
    )


def test_stack_reference_yields_the_outputs_given_for_its_stack() -> None:
    # A StackReference is read, not registered, so only what the program makes of it shows.
    plan = read("org/cluster/dev")
    assert plan.resources == []
    assert plan.outputs == {"endpoint": "10.0.0.1"}


def test_stack_reference_to_a_stack_without_outputs_fails_and_says_how_to_fix() -> None:
    with pytest.raises(Exception, match=r"StackReference 'org/other/dev': no outputs given"):
        read("org/other/dev", export=False)
