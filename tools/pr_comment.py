"""Post or update the one pull-request comment that shows a stack's offline plan diff.

Each stack owns a single comment, found again on later pushes by a hidden marker in its first
line, so a pull request carries one up-to-date comment per stack instead of one per push.

    python -m tools.pr_comment --stack dev --body-file diff.md

Reads GITHUB_TOKEN, GITHUB_REPOSITORY and PR_NUMBER from the environment, and optionally
GITHUB_API_URL, GITHUB_SERVER_URL and GITHUB_RUN_ID (GitHub Actions sets these) to link the run.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

__all__ = [
    "MAX_BODY_CHARS",
    "GitHubError",
    "Request",
    "Response",
    "Transport",
    "UpsertResult",
    "find_comment",
    "main",
    "marker",
    "render_body",
    "upsert_comment",
    "urllib_transport",
]

MAX_BODY_CHARS = 65_536
"""GitHub rejects an issue comment whose body is longer than this many characters."""

BOT_LOGIN = "github-actions[bot]"
"""The author of comments made with a workflow's GITHUB_TOKEN."""

_PAGE_SIZE = 100


@dataclass(frozen=True)
class Request:
    """One call to the GitHub REST API, relative to the API root."""

    method: str
    path: str
    payload: Mapping[str, object] | None = None


@dataclass(frozen=True)
class Response:
    """Status code and decoded JSON body of one call."""

    status: int
    body: object


Transport = Callable[[Request], Response]
"""Sends a request and returns the response; tests replace it with a fake."""


class GitHubError(Exception):
    """The API answered with a status other than 2xx."""

    def __init__(self, request: Request, response: Response) -> None:
        message = ""
        if isinstance(response.body, dict):
            message = str(response.body.get("message", ""))
        super().__init__(
            f"GitHub API {request.method} {request.path} answered {response.status}: {message}"
        )
        self.status = response.status


@dataclass(frozen=True)
class UpsertResult:
    """What `upsert_comment` did."""

    action: Literal["created", "updated"]
    comment_id: int


def marker(stack: str) -> str:
    """The hidden HTML comment that identifies a stack's plan comment."""
    return f"<!-- kubesandbox-plan:{stack} -->"


def render_body(stack: str, diff: str, run_url: str | None = None) -> str:
    """Build the comment text, cutting the diff at a line boundary if the whole would not fit.

    The cut keeps whole lines so a truncated Markdown table or fence does not swallow the note.
    """
    head = f"{marker(stack)}\n### Offline plan: `{stack}`\n\n"
    where = f"the [workflow run log]({run_url})" if run_url else "the workflow run log"
    foot = f"\n\n<sub>Rendered offline with `./plan {stack}`. The full diff is in {where}.</sub>\n"
    text = diff.rstrip("\n")
    if len(head) + len(text) + len(foot) <= MAX_BODY_CHARS:
        return head + text + foot

    lines = text.split("\n")
    note_template = "\n\n> **Diff truncated:** showing {kept} of {total} lines."
    # Reserve room for the longest note this diff can produce.
    budget = (
        MAX_BODY_CHARS
        - len(head)
        - len(foot)
        - len(note_template.format(kept=len(lines), total=len(lines)))
    )
    kept: list[str] = []
    used = 0
    for line in lines:
        cost = len(line) + (1 if kept else 0)
        if used + cost > budget:
            break
        kept.append(line)
        used += cost
    if not kept:
        # A single line longer than the budget: keep its start rather than nothing.
        kept = [lines[0][:budget]]
    note = note_template.format(kept=len(kept), total=len(lines))
    return head + "\n".join(kept) + note + foot


def find_comment(transport: Transport, repo: str, pr: int, stack: str) -> int | None:
    """Return the id of the stack's comment on the pull request, or None.

    Only comments written by the workflow's own token count, so a person who pastes the marker
    into their own comment cannot have it overwritten.
    """
    wanted = marker(stack)
    page = 1
    while True:
        request = Request(
            "GET", f"/repos/{repo}/issues/{pr}/comments?per_page={_PAGE_SIZE}&page={page}"
        )
        response = _send(transport, request)
        comments = response.body if isinstance(response.body, list) else []
        for comment in comments:
            body = str(comment.get("body") or "")
            login = str((comment.get("user") or {}).get("login", ""))
            if login == BOT_LOGIN and body.startswith(wanted):
                return int(comment["id"])
        if len(comments) < _PAGE_SIZE:
            return None
        page += 1


def upsert_comment(transport: Transport, repo: str, pr: int, stack: str, body: str) -> UpsertResult:
    """Edit the stack's comment if it exists, otherwise create it."""
    existing = find_comment(transport, repo, pr, stack)
    if existing is not None:
        request = Request("PATCH", f"/repos/{repo}/issues/comments/{existing}", {"body": body})
        _send(transport, request)
        return UpsertResult("updated", existing)
    request = Request("POST", f"/repos/{repo}/issues/{pr}/comments", {"body": body})
    response = _send(transport, request)
    created = response.body if isinstance(response.body, dict) else {}
    return UpsertResult("created", int(created["id"]))


def urllib_transport(api_url: str, token: str) -> Transport:
    """A transport that talks to the GitHub REST API with the standard library."""

    def send(request: Request) -> Response:
        data = None if request.payload is None else json.dumps(request.payload).encode()
        http_request = urllib.request.Request(
            api_url.rstrip("/") + request.path,
            data=data,
            method=request.method,
            headers={
                "Accept": "application/vnd.github+json",
                "Authorization": f"Bearer {token}",
                "Content-Type": "application/json",
                "User-Agent": "kubesandbox-pr-comment",
                "X-GitHub-Api-Version": "2022-11-28",
            },
        )
        try:
            with urllib.request.urlopen(http_request, timeout=30) as reply:
                return Response(reply.status, _decode(reply.read()))
        except urllib.error.HTTPError as error:
            return Response(error.code, _decode(error.read()))

    return send


def _decode(raw: bytes) -> object:
    try:
        return json.loads(raw) if raw else None
    except json.JSONDecodeError:
        return raw.decode(errors="replace")


def _send(transport: Transport, request: Request) -> Response:
    response = transport(request)
    if not 200 <= response.status < 300:
        raise GitHubError(request, response)
    return response


def _run_url(env: Mapping[str, str]) -> str | None:
    server, repo, run = (
        env.get(k) for k in ("GITHUB_SERVER_URL", "GITHUB_REPOSITORY", "GITHUB_RUN_ID")
    )
    if server and repo and run:
        return f"{server}/{repo}/actions/runs/{run}"
    return None


def main(
    argv: Sequence[str] | None = None,
    env: Mapping[str, str] | None = None,
    transport: Transport | None = None,
) -> int:
    """Command-line entry point; returns the exit code."""
    parser = argparse.ArgumentParser(prog="python -m tools.pr_comment", description=__doc__)
    parser.add_argument("--stack", required=True, help="stack name, e.g. dev")
    parser.add_argument("--body-file", required=True, type=Path, help="diff text to post")
    args = parser.parse_args(argv)
    env = os.environ if env is None else env

    missing = [k for k in ("GITHUB_TOKEN", "GITHUB_REPOSITORY", "PR_NUMBER") if not env.get(k)]
    if missing:
        print(f"pr_comment: set {', '.join(missing)} in the environment.", file=sys.stderr)
        return 2
    if transport is None:
        api_url = env.get("GITHUB_API_URL", "https://api.github.com")
        transport = urllib_transport(api_url, env["GITHUB_TOKEN"])

    body = render_body(args.stack, args.body_file.read_text(encoding="utf-8"), _run_url(env))
    try:
        result = upsert_comment(
            transport, env["GITHUB_REPOSITORY"], int(env["PR_NUMBER"]), args.stack, body
        )
    except GitHubError as error:
        print(f"pr_comment: {error}", file=sys.stderr)
        return 1
    print(f"pr_comment: {result.action} comment {result.comment_id} for stack {args.stack}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
