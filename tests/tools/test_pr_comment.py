"""The plan comment is found by marker, edited in place, and cut to fit GitHub's limit."""

from __future__ import annotations

from pathlib import Path

import pytest

from tools import pr_comment
from tools.pr_comment import (
    BOT_LOGIN,
    MAX_BODY_CHARS,
    GitHubError,
    Request,
    Response,
    find_comment,
    marker,
    render_body,
    upsert_comment,
)

REPO = "example/kubesandbox"


class FakeGitHub:
    """Serves issue comments from memory and records every request."""

    def __init__(self, comments: list[dict[str, object]], fail: int | None = None) -> None:
        self.comments = comments
        self.requests: list[Request] = []
        self.fail = fail
        self.next_id = 9000

    def __call__(self, request: Request) -> Response:
        self.requests.append(request)
        if self.fail is not None:
            return Response(self.fail, {"message": "Resource not accessible by integration"})
        if request.method == "GET":
            query = dict(part.split("=") for part in request.path.split("?")[1].split("&"))
            size, page = int(query["per_page"]), int(query["page"])
            return Response(200, self.comments[(page - 1) * size : page * size])
        assert request.payload is not None
        if request.method == "PATCH":
            comment_id = int(request.path.rsplit("/", 1)[1])
            for comment in self.comments:
                if comment["id"] == comment_id:
                    comment["body"] = request.payload["body"]
            return Response(200, {"id": comment_id})
        self.next_id += 1
        self.comments.append(
            {"id": self.next_id, "body": request.payload["body"], "user": {"login": BOT_LOGIN}}
        )
        return Response(201, {"id": self.next_id})


def comment(comment_id: int, body: str, login: str = BOT_LOGIN) -> dict[str, object]:
    return {"id": comment_id, "body": body, "user": {"login": login}}


def test_marker_names_the_stack() -> None:
    assert marker("prod") == "<!-- kubesandbox-plan:prod -->"


def test_render_body_keeps_a_short_diff_whole() -> None:
    body = render_body("dev", "no changes\n", "https://github.example/r/actions/runs/7")

    assert body == (
        "<!-- kubesandbox-plan:dev -->\n"
        "### Offline plan: `dev`\n"
        "\n"
        "no changes\n"
        "\n"
        "<sub>Rendered offline with `./plan dev`. The full diff is in the "
        "[workflow run log](https://github.example/r/actions/runs/7).</sub>\n"
    )


def test_render_body_cuts_a_long_diff_at_a_line_and_says_so() -> None:
    lines = [f"+ resource {n:05d} " + "x" * 80 for n in range(2000)]

    body = render_body("staging", "\n".join(lines))

    assert len(body) <= MAX_BODY_CHARS
    assert body.startswith("<!-- kubesandbox-plan:staging -->\n")
    kept = body.split("\n\n", 1)[1].split("\n\n> **Diff truncated:**")[0].split("\n")
    assert kept == lines[: len(kept)]
    # 65,536 less a 63-char head, a 95-char foot and a 51-char note leaves 65,327 characters:
    # one 97-char line plus 665 more at 98 with their newlines.
    assert len(kept) == 666
    assert "> **Diff truncated:** showing 666 of 2000 lines." in body
    assert body.endswith("The full diff is in the workflow run log.</sub>\n")


def test_render_body_fills_exactly_to_the_limit_without_cutting() -> None:
    head = len(render_body("dev", ""))
    diff = "y" * (MAX_BODY_CHARS - head)

    body = render_body("dev", diff)

    assert len(body) == MAX_BODY_CHARS
    assert "Diff truncated" not in body


def test_render_body_keeps_the_start_of_one_oversized_line() -> None:
    body = render_body("dev", "z" * (MAX_BODY_CHARS * 2))

    assert len(body) <= MAX_BODY_CHARS
    assert "showing 1 of 1 lines." in body


def test_find_comment_ignores_other_stacks_and_other_authors() -> None:
    fake = FakeGitHub(
        [
            comment(1, "looks good"),
            comment(2, marker("dev") + "\nold", login="someone"),
            comment(3, marker("prod") + "\nprod plan"),
            comment(4, marker("dev") + "\ndev plan"),
        ]
    )

    assert find_comment(fake, REPO, 12, "dev") == 4
    assert find_comment(fake, REPO, 12, "staging") is None


def test_find_comment_reads_every_page() -> None:
    filler = [comment(n, f"chatter {n}") for n in range(1, 201)]
    fake = FakeGitHub([*filler, comment(201, marker("dev") + "\nplan")])

    assert find_comment(fake, REPO, 5, "dev") == 201
    assert [r.path for r in fake.requests] == [
        f"/repos/{REPO}/issues/5/comments?per_page=100&page=1",
        f"/repos/{REPO}/issues/5/comments?per_page=100&page=2",
        f"/repos/{REPO}/issues/5/comments?per_page=100&page=3",
    ]


def test_upsert_creates_the_comment_once_then_edits_it() -> None:
    fake = FakeGitHub([comment(1, "first review")])

    first = upsert_comment(fake, REPO, 7, "dev", marker("dev") + "\nplan one")
    second = upsert_comment(fake, REPO, 7, "dev", marker("dev") + "\nplan two")

    assert (first.action, first.comment_id) == ("created", 9001)
    assert (second.action, second.comment_id) == ("updated", 9001)
    assert [(r.method, r.path) for r in fake.requests] == [
        ("GET", f"/repos/{REPO}/issues/7/comments?per_page=100&page=1"),
        ("POST", f"/repos/{REPO}/issues/7/comments"),
        ("GET", f"/repos/{REPO}/issues/7/comments?per_page=100&page=1"),
        ("PATCH", f"/repos/{REPO}/issues/comments/9001"),
    ]
    assert fake.comments == [
        comment(1, "first review"),
        comment(9001, marker("dev") + "\nplan two"),
    ]


def test_upsert_raises_with_the_status_and_message() -> None:
    fake = FakeGitHub([], fail=403)

    with pytest.raises(GitHubError) as raised:
        upsert_comment(fake, REPO, 7, "dev", "body")

    assert raised.value.status == 403
    assert str(raised.value) == (
        f"GitHub API GET /repos/{REPO}/issues/7/comments?per_page=100&page=1 answered 403: "
        "Resource not accessible by integration"
    )


def test_main_posts_the_rendered_body(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    diff = tmp_path / "diff.md"
    diff.write_text("no changes\n", encoding="utf-8")
    fake = FakeGitHub([])
    env = {
        "GITHUB_TOKEN": "t",
        "GITHUB_REPOSITORY": REPO,
        "PR_NUMBER": "42",
        "GITHUB_SERVER_URL": "https://github.example",
        "GITHUB_RUN_ID": "99",
    }

    code = pr_comment.main(["--stack", "prod", "--body-file", str(diff)], env, fake)

    assert code == 0
    assert capsys.readouterr().out == "pr_comment: created comment 9001 for stack prod\n"
    assert fake.comments[0]["body"] == render_body(
        "prod", "no changes\n", f"https://github.example/{REPO}/actions/runs/99"
    )


def test_main_names_missing_variables(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    diff = tmp_path / "diff.md"
    diff.write_text("x", encoding="utf-8")

    code = pr_comment.main(["--stack", "dev", "--body-file", str(diff)], {"GITHUB_TOKEN": "t"})

    assert code == 2
    assert capsys.readouterr().err == (
        "pr_comment: set GITHUB_REPOSITORY, PR_NUMBER in the environment.\n"
    )


def test_main_reports_an_api_failure(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    diff = tmp_path / "diff.md"
    diff.write_text("x", encoding="utf-8")
    env = {"GITHUB_TOKEN": "t", "GITHUB_REPOSITORY": REPO, "PR_NUMBER": "3"}

    code = pr_comment.main(
        ["--stack", "dev", "--body-file", str(diff)], env, FakeGitHub([], fail=404)
    )

    assert code == 1
    assert "answered 404" in capsys.readouterr().err
