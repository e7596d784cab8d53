"""The benchmark's bare-SDK baseline must register exactly what the program registers."""

from __future__ import annotations

import pytest

from stacks import STACKS
from tools import benchmark, engine


@pytest.mark.parametrize("stack", sorted(STACKS))
def test_replay_registers_the_same_resources_and_inputs(stack: str) -> None:
    plan = engine.run_stack(stack)
    replayed = engine.run(
        benchmark.replay(plan),
        project=engine.project_name(),
        stack=stack,
        config=engine.stack_config(stack),
    )
    ours = {r.name: (r.type, r.inputs) for r in plan.resources if r.custom}
    bare = {r.name: (r.type, r.inputs) for r in replayed.resources}
    assert bare == ours
    assert [r for r in replayed.resources if not r.custom] == []
