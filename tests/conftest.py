"""Shared helpers: run a program or a component under the recording mock engine."""

from __future__ import annotations

from collections.abc import Callable

from tools import engine

TEST_CONFIG = {
    "gcp:project": "test-project",
    "gcp:region": "europe-west4",
    "pulumi:disable-default-providers": '["kubernetes"]',
}


def run(program: Callable[[], object], stack: str = "test") -> engine.Plan:
    """Register what `program` creates, as a preview of a new stack would."""
    return engine.run(program, project="kubesandbox", stack=stack, config=TEST_CONFIG)
