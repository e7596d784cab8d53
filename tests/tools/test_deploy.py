"""The deploy script runs stacks in promotion order, stops or goes on after a failure, and sums up.

Only the workspace layer is replaced: a fake stack returns the SDK's own result objects and raises
the SDK's own CommandError, so the script's handling of them is what runs.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from datetime import datetime
from pathlib import Path

import pulumi.automation as auto
import pytest

from tools import deploy
from tools.deploy import OnOutput, StackHandle, format_summary, order_stacks

STARTED = datetime(2026, 1, 1, 12, 0, 0)


def up_result(changes: Mapping[str, int]) -> auto.UpResult:
    summary = auto.UpdateSummary(
        kind="update",
        start_time=STARTED,
        message="",
        environment={},
        config={},
        result="succeeded",
        resource_changes=dict(changes),  # type: ignore[arg-type]  # the engine sends strings
    )
    return auto.UpResult(stdout="", stderr="", summary=summary, outputs={})


def command_error(stack: str) -> auto.CommandError:
    result = auto.CommandResult(stdout="", stderr=f"error: {stack} quota exceeded", code=255)
    return auto.CommandError(result)


class FakeStack:
    def __init__(self, name: str, calls: list[tuple[str, str]], fail: bool) -> None:
        self.name = name
        self.calls = calls
        self.fail = fail

    def preview(self, *, on_output: OnOutput) -> auto.PreviewResult:
        self.calls.append(("preview", self.name))
        on_output(f"Previewing update ({self.name})")
        if self.fail:
            raise command_error(self.name)
        return auto.PreviewResult(
            stdout="", stderr="", change_summary={auto.OpType.UPDATE: 2, auto.OpType.SAME: 9}
        )

    def up(self, *, on_output: OnOutput) -> auto.UpResult:
        self.calls.append(("up", self.name))
        on_output(f"Updating ({self.name})")
        if self.fail:
            raise command_error(self.name)
        return up_result({"create": 3, "replace": 1, "same": 14})


class FakeWorkspace:
    """Hands out fake stacks and records which stack was opened in which directory."""

    def __init__(self, failing: tuple[str, ...] = ()) -> None:
        self.failing = failing
        self.opened: list[tuple[str, Path]] = []
        self.calls: list[tuple[str, str]] = []

    def __call__(self, name: str, work_dir: Path) -> StackHandle:
        self.opened.append((name, work_dir))
        return FakeStack(name, self.calls, name in self.failing)


def ticking_clock(step: float = 1.5) -> Iterator[float]:
    now = 100.0
    while True:
        yield now
        now += step


def clock_of(ticks: Iterator[float]) -> Callable[[], float]:
    return lambda: next(ticks)


def test_order_stacks_puts_promotion_first_and_drops_repeats() -> None:
    assert order_stacks(["prod", "local", "dev", "prod", "staging"]) == [
        "dev",
        "staging",
        "prod",
        "local",
    ]


def test_up_all_runs_dev_then_staging_then_prod_in_the_repo_root(
    capsys: pytest.CaptureFixture[str],
) -> None:
    workspace = FakeWorkspace()

    code = deploy.main(["up", "--all"], workspace, clock_of(ticking_clock()))

    assert code == 0
    root = Path(deploy.__file__).resolve().parent.parent
    assert workspace.opened == [("dev", root), ("staging", root), ("prod", root)]
    assert workspace.calls == [
        ("up", "dev"),
        ("up", "staging"),
        ("up", "prod"),
    ]
    assert capsys.readouterr().out == (
        "==> pulumi up on stack dev\n"
        "[dev] Updating (dev)\n"
        "==> pulumi up on stack staging\n"
        "[staging] Updating (staging)\n"
        "==> pulumi up on stack prod\n"
        "[prod] Updating (prod)\n"
        "\n"
        "stack    operation  result     create  update  replace  delete  same  duration\n"
        "dev      up         succeeded       3       0        1       0    14      1.5s\n"
        "staging  up         succeeded       3       0        1       0    14      1.5s\n"
        "prod     up         succeeded       3       0        1       0    14      1.5s\n"
    )


def test_a_failure_stops_the_run_and_skips_the_later_stacks(
    capsys: pytest.CaptureFixture[str],
) -> None:
    workspace = FakeWorkspace(failing=("staging",))

    code = deploy.main(
        ["up", "--stack", "prod", "--stack", "staging", "--stack", "dev"],
        workspace,
        clock_of(ticking_clock(2.0)),
    )

    assert code == 1
    assert [name for name, _ in workspace.opened] == ["dev", "staging"]
    captured = capsys.readouterr()
    assert captured.out.endswith(
        "\n"
        "stack    operation  result     create  update  replace  delete  same  duration\n"
        "dev      up         succeeded       3       0        1       0    14      2.0s\n"
        "staging  up         failed          -       -        -       -     -      2.0s\n"
        "prod     up         skipped         -       -        -       -     -         -\n"
    )
    assert captured.err.startswith("pulumi up on stack staging failed:\n")
    assert "error: staging quota exceeded" in captured.err


def test_keep_going_runs_every_stack_and_still_fails(capsys: pytest.CaptureFixture[str]) -> None:
    workspace = FakeWorkspace(failing=("dev",))

    code = deploy.main(
        ["preview", "--all", "--keep-going"], workspace, clock_of(ticking_clock(0.5))
    )

    assert code == 1
    assert [name for name, _ in workspace.opened] == ["dev", "staging", "prod"]
    summary = capsys.readouterr().out.split("\n\n")[-1]
    assert summary == (
        "stack    operation  result     create  update  replace  delete  same  duration\n"
        "dev      preview    failed          -       -        -       -     -      0.5s\n"
        "staging  preview    succeeded       0       2        0       0     9      0.5s\n"
        "prod     preview    succeeded       0       2        0       0     9      0.5s\n"
    )


def test_format_summary_widens_columns_for_long_names() -> None:
    outcome = deploy.Outcome("autopilot", "preview", "succeeded", {"create": 12345}, 61.04)

    assert format_summary([outcome]) == (
        "stack      operation  result     create  update  replace  delete  same  duration\n"
        "autopilot  preview    succeeded   12345       0        0       0     0     61.0s"
    )


def test_no_stack_named_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as raised:
        deploy.main(["up"], FakeWorkspace())

    assert raised.value.code == 2
    assert "name a stack with --stack, or use --all" in capsys.readouterr().err


def test_an_unknown_operation_is_refused(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as raised:
        deploy.main(["destroy", "--all"], FakeWorkspace())

    assert raised.value.code == 2
    assert "invalid choice: 'destroy'" in capsys.readouterr().err
