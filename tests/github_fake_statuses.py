"""Commit statuses in the fake GitHub, for any repository: one store per repository
(`Repo.statuses`, sha -> records oldest first) that CI's checks (`Repo.report_check`, which drive
auto-merge) and Flux's statuses share, served as GitHub serves them:

    POST /repos/{owner}/{repo}/statuses/{sha}           create a status (needs `statuses: write`)
    GET  /repos/{owner}/{repo}/commits/{ref}/status     the combined status: the latest per context
    GET  /repos/{owner}/{repo}/commits/{ref}/statuses   every status, newest first
    GET  /repos/{owner}/{repo}/pulls/{pull_number}      one pull request (with merged_by)

The GETs send an ETag and answer a matching If-None-Match with a bodiless 304, which costs no rate
limit; GraphQL's `Commit.status { state contexts { ... } }` reads the same store
(tests/github_graphql.py).

`flux_reconciles(repo, "my-team-staging", ...)` posts a status as Flux's notification-controller
does with a `github` Provider (context `kustomization/<name>/<uid8>`, lowercased; state success or
failure), on a given commit or on the branch's head at that moment (Flux reconciles the newest
commit), after a number of requests, not of seconds: `after=1` is "on the next poll".
`later(n, action)` runs any action (CI reporting a check, a commit landing on the base) the same way.
"""

from __future__ import annotations

import datetime
import hashlib
import itertools
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar

if TYPE_CHECKING:
    from github_fake import Repo

EPOCH = datetime.datetime(2026, 1, 1, 1, 0, tzinfo=datetime.UTC)
STATUS_READ = {"statuses": "read"}  # add to a token's permissions for it to read statuses
_ids = itertools.count(5_000_000)


@dataclass
class StatusRecord:
    id: int
    context: str
    state: str  # error, failure, pending or success
    description: str | None
    target_url: str | None
    created_at: str
    creator: str


def record_status(
    repo: Repo,
    sha: str,
    context: str,
    state: str,
    description: str | None = None,
    target_url: str | None = None,
    creator: str = "ci-bot",
) -> StatusRecord:
    """Keep one status on `sha` of `repo`; its time is the order of statuses, a second apart."""
    seq = next(_ids)
    when = (EPOCH + datetime.timedelta(seconds=seq - 5_000_000)).strftime("%Y-%m-%dT%H:%M:%SZ")
    record = StatusRecord(seq, context, state, description, target_url, when, creator)
    repo.statuses.setdefault(sha, []).append(record)
    return record


def latest(records: list[StatusRecord]) -> list[StatusRecord]:
    """The latest status of each context, newest first (as the combined status lists them)."""
    seen: dict[str, StatusRecord] = {}
    for record in records:
        seen[record.context] = record
    return sorted(seen.values(), key=lambda r: -r.id)


def latest_states(records: list[StatusRecord]) -> dict[str, str]:
    return {r.context: r.state for r in latest(records)}


def combined_state(records: list[StatusRecord]) -> str:
    states = {r.state for r in latest(records)}
    if states & {"error", "failure"}:
        return "failure"
    return "success" if states and states == {"success"} else "pending"


@dataclass
class _Scheduled:
    remaining: int
    ready: Callable[[], bool]
    action: Callable[[], None]
    done: bool = field(default=False)


def _answer(status: int, message: str) -> Exception:
    from github_fake import Answer  # github_fake imports this module: its names only at call time

    return Answer(status, message)


class StatusesMixin:
    """FakeGitHub's commit statuses (and the single pull request GET the wait polls)."""

    ROUTES: ClassVar[dict[tuple[str, str], tuple[str, tuple[str, str]]]] = {
        ("POST", "/repos/{owner}/{repo}/statuses/{sha}"): ("h_post_status", ("statuses", "write")),
        ("GET", "/repos/{owner}/{repo}/commits/{ref}/status"): (
            "h_get_combined_status",
            ("statuses", "read"),
        ),
        ("GET", "/repos/{owner}/{repo}/commits/{ref}/statuses"): ("h_get_statuses", ("statuses", "read")),
        ("GET", "/repos/{owner}/{repo}/pulls/{pull_number}"): ("h_get_pull", ("pull_requests", "read")),
    }

    if TYPE_CHECKING:
        api_url: str
        web: str
        lock: Any

        def _complete(self, method: str, template: str, status: int, partial: Any) -> Any: ...
        def _pull_json(self, repo: Repo, pull: Any, template: str, method: str, status: int) -> Any: ...
        def _repo_json(self, repo: Repo) -> dict[str, Any]: ...

    # -- scheduling ------------------------------------------------------------------------------

    @property
    def _scheduled(self) -> list[_Scheduled]:
        found: list[_Scheduled] = self.__dict__.setdefault("_scheduled_actions", [])
        return found

    def later(
        self, after: int, action: Callable[[], None], *, ready: Callable[[], bool] | None = None
    ) -> None:
        """Run `action` just before the `after`-th request from now is answered (0: now), counting
        only requests made once `ready()` holds."""
        item = _Scheduled(after, ready or (lambda: True), action)
        with self.lock:
            self._scheduled.append(item)
        if after <= 0 and item.ready():
            item.done = True
            action()

    def run_scheduled(self) -> None:
        """Called by the fake before each request is carried out."""
        due = []
        with self.lock:
            for item in self._scheduled:
                if item.done or not item.ready():
                    continue
                item.remaining -= 1
                if item.remaining <= 0:
                    item.done = True
                    due.append(item.action)
        for action in due:
            action()

    def flux_reconciles(
        self,
        repo: Repo,
        name: str,
        *,
        state: str = "success",
        description: str | None = None,
        kind: str = "kustomization",
        uid: str = "0c9c2e41",
        on: str | None = None,
        branch: str | None = None,
        after: int = 1,
        pull: int | None = None,
    ) -> None:
        """Flux's notification-controller posts its verdict on a GitOps commit: `on` that commit, or
        on the head of `branch` (the default branch) when it posts; after `after` more requests
        (counted once pull request `pull`, when given, has merged: Flux sees only the branch)."""
        context = f"{kind}/{name}/{uid}".lower()
        text = description or ("reconciliation succeeded" if state == "success" else "health check failed")

        def post() -> None:
            with self.lock:
                sha = on or repo.refs[branch or repo.default_branch]
                record_status(repo, sha, context, state, text, None, "flux-notification-controller")

        ready = (lambda: pull in repo.pulls and repo.pulls[pull].merged) if pull is not None else None
        self.later(after, post, ready=ready)

    # -- handlers --------------------------------------------------------------------------------

    def _conditional(self, answer: Any, headers: Mapping[str, str]) -> tuple[int, Any, dict[str, str]]:
        return _conditional(answer, headers, etags=self.__dict__.get("etags", True))

    def _status_json(self, repo: Repo, record: StatusRecord) -> dict[str, Any]:
        return {
            "url": f"{self.api_url}/repos/{repo.full_name}/statuses/{record.id}",
            "avatar_url": None,
            "id": record.id,
            "node_id": f"SC_{record.id}",
            "state": record.state,
            "description": record.description,
            "target_url": record.target_url,
            "context": record.context,
            "created_at": record.created_at,
            "updated_at": record.created_at,
        }

    def _sha_of(self, repo: Repo, ref: str) -> str:
        sha = repo.resolve(ref)
        if sha is None:
            raise _answer(404, f"No commit found for SHA: {ref}")
        return sha

    def h_post_status(
        self, repo: Repo, params: dict[str, str], query: dict[str, str], body: Any, headers: Mapping[str, str]
    ) -> tuple[int, Any, dict[str, str]]:
        with self.lock:
            sha = params["sha"]
            if sha not in repo.commits:
                raise _answer(422, f"No commit found for SHA: {sha}")
            record = record_status(
                repo,
                sha,
                str(body.get("context") or "default"),
                str(body["state"]),
                body.get("description"),
                body.get("target_url"),
            )
            answer = self._status_json(repo, record) | {"creator": {"login": record.creator, "id": 11}}
            template = "/repos/{owner}/{repo}/statuses/{sha}"
            return 201, self._complete("POST", template, 201, answer), {}

    def h_get_combined_status(
        self, repo: Repo, params: dict[str, str], query: dict[str, str], body: Any, headers: Mapping[str, str]
    ) -> tuple[int, Any, dict[str, str]]:
        with self.lock:
            sha = self._sha_of(repo, params["ref"])
            records = repo.statuses.get(sha, [])
            shown = latest(records)
            answer = {
                "state": combined_state(records),
                "statuses": [self._status_json(repo, r) for r in shown],
                "sha": sha,
                "total_count": len(shown),
                "repository": {"id": repo.id, "node_id": f"R_{repo.id}", "name": repo.name},
                "commit_url": f"{self.api_url}/repos/{repo.full_name}/commits/{sha}",
                "url": f"{self.api_url}/repos/{repo.full_name}/commits/{sha}/status",
            }
            template = "/repos/{owner}/{repo}/commits/{ref}/status"
            return self._conditional(self._complete("GET", template, 200, answer), headers)

    def h_get_statuses(
        self, repo: Repo, params: dict[str, str], query: dict[str, str], body: Any, headers: Mapping[str, str]
    ) -> tuple[int, Any, dict[str, str]]:
        with self.lock:
            sha = self._sha_of(repo, params["ref"])
            records = sorted(repo.statuses.get(sha, []), key=lambda r: -r.id)
            per_page, page = int(query.get("per_page", 30)), int(query.get("page", 1))
            chosen = records[(page - 1) * per_page : page * per_page]
            answer = [
                self._status_json(repo, r) | {"creator": {"login": r.creator, "id": 11}} for r in chosen
            ]
            template = "/repos/{owner}/{repo}/commits/{ref}/statuses"
            return self._conditional(self._complete("GET", template, 200, answer), headers)

    def h_get_pull(
        self, repo: Repo, params: dict[str, str], query: dict[str, str], body: Any, headers: Mapping[str, str]
    ) -> tuple[int, Any, dict[str, str]]:
        import github_openapi as oas

        with self.lock:
            pull = repo.pulls.get(int(params["pull_number"]))
            if pull is None:
                raise _answer(404, "Not Found")
            template = "/repos/{owner}/{repo}/pulls/{pull_number}"
            answer = self._pull_json(repo, pull, template, "PATCH", 200)  # the same schema as GET's
            merged_by = getattr(pull, "merged_by", None) if pull.merged else None
            answer["merged_by"] = (
                oas.complete({"$ref": "#/components/schemas/simple-user"}, {"login": merged_by, "id": 21})
                if merged_by
                else None
            )
            return self._conditional(answer, headers)


def _conditional(
    answer: Any, headers: Mapping[str, str], *, etags: bool = True
) -> tuple[int, Any, dict[str, str]]:
    """200 with an ETag, or a bodiless 304 when the client already holds this answer (never, when
    `etags` is off: a server that ignores If-None-Match, for the benchmark's comparison)."""
    if not etags:
        return 200, answer, {}
    etag = 'W/"' + hashlib.sha256(json.dumps(answer, sort_keys=True).encode()).hexdigest()[:32] + '"'
    asked = next((v for k, v in headers.items() if k.lower() == "if-none-match"), None)
    if asked is not None and etag in {t.strip() for t in asked.split(",")}:
        return 304, None, {"etag": etag}
    return 200, answer, {"etag": etag}
