"""The downgrade guard's question, answered by GitHub: is the new source commit newer than the one
deployed? One compare request (old...new) in the source repository, per pair, cached by the pipeline,
which overlaps the compares of a monorepo deploy (autodeploy.overlap).

A push-triggered run in GitHub Actions often knows the answer for free: the push event lists the
commit the branch was at before (`before`) and the commits it brought (`commits`), and a push that
was not forced moves the branch forward. When the deployed commit is one of those and the new one
is the push's `after`, the new commit is newer; no request needed.

When the token cannot read the source repository (403 or 404), the guard warns once and lets the
deploy go on (Relation.UNKNOWN), as the issue asks.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

from autodeploy import report
from autodeploy.environment import PushEvent
from autodeploy.github.client import Client
from autodeploy.plan import Relation

_RELATIONS = {
    "ahead": Relation.NEWER,
    "behind": Relation.OLDER,
    "identical": Relation.SAME,
    "diverged": Relation.DIVERGED,
}


class CompareHistory:
    """pipeline.SourceHistory through GitHub's compare API."""

    def __init__(self, client: Callable[[], Client], *, event: PushEvent | None = None) -> None:
        self._client = client  # made on first use: a run that never asks needs no token
        self.event = event
        self._warned: set[str] = set()
        self._lock = threading.Lock()  # questions may be asked from several threads (overlapped)

    def relation(self, repo: str, old: str, new: str) -> Relation:
        if self.event is not None and self.event.proves_newer(repo, old, new):
            return Relation.NEWER
        with self._lock:  # the client (and a GitHub App's token) is made once, by the first to ask
            client = self._client()
        got = client.request(
            "GET",
            f"/repos/{repo}/compare/{old}...{new}",
            params={"per_page": 1},
            doing=f"comparing {old[:12]}...{new[:12]} in {repo} (downgrade guard)",
            allow=(403, 404, 422),
        )
        if got.status >= 300:
            with self._lock:
                first = repo not in self._warned
                self._warned.add(repo)
            if first:
                report.warn(
                    f"the downgrade guard cannot compare commits in {repo} ({got.status} {got.message}): the "
                    "token cannot read that repository, or a commit is gone from it; deploying without the "
                    f"check (give the token `contents: read` on {repo}, or pass --source-dir)"
                )
            return Relation.UNKNOWN
        status = got.data.get("status") if isinstance(got.data, dict) else None
        return _RELATIONS.get(str(status), Relation.UNKNOWN)
