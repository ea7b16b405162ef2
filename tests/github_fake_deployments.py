"""GitHub Deployments and their statuses, in any repository of the fake: a mixin of FakeGitHub.

Answers as GitHub's REST API documents it (docs.github.com/rest/deployments):
- POST /repos/{o}/{r}/deployments: `ref` a branch or a commit (422 "No ref found for: x" otherwise);
  `task` "deploy", `environment` "production" by default; `production_environment` defaults to
  true for "production" only; `auto_merge` (default true) merges the default branch into a branch
  ref that is behind it and answers 202 instead of creating anything (409 on a conflict);
  `required_contexts` omitted: every commit status context on the commit must be success, a list:
  those must be, [] skips the check (409 "Conflict: Commit status checks failed for <ref>.").
- GET .../deployments: newest first, filtered by sha, ref, task and environment; per_page, page.
- POST .../deployments/{id}/statuses: the seven states; `log_url` also sets `target_url`; a
  description over 140 characters is 422; `environment` renames the deployment's environment;
  `auto_inactive` (default true) gives a new success an `inactive` status on every earlier
  deployment of the same environment that is neither transient nor production and whose latest
  state is success, as GitHub documents.
- GET .../deployments/{id}/statuses: newest first; 404 for a deployment of another repository.
Reading needs the `deployments: read` permission, writing `deployments: write`; a token scoped to
other repositories gets 404 (FakeGitHub._authorize).

FakeGitHub routes the requests its ROUTES name to it (after faults and `before_request`, as
elsewhere), so the one change to github_fake.py is naming it among FakeGitHub's bases.
"""

from __future__ import annotations

import functools
import itertools
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, ClassVar

DEPLOYMENTS = "/repos/{owner}/{repo}/deployments"
STATUSES = "/repos/{owner}/{repo}/deployments/{deployment_id}/statuses"
# (method, template) -> (handler, the permission it needs)
DEPLOYMENT_ROUTES: dict[tuple[str, str], tuple[str, tuple[str, str]]] = {
    ("POST", DEPLOYMENTS): ("h_post_deployment", ("deployments", "write")),
    ("GET", DEPLOYMENTS): ("h_list_deployments", ("deployments", "read")),
    ("POST", STATUSES): ("h_post_deployment_status", ("deployments", "write")),
    ("GET", STATUSES): ("h_list_deployment_statuses", ("deployments", "read")),
}
STATES = ("error", "failure", "inactive", "in_progress", "queued", "pending", "success")
DESCRIPTION_LIMIT = 140


@dataclass
class DeploymentStatus:
    id: int
    state: str
    description: str
    environment: str
    log_url: str
    environment_url: str


@dataclass
class Deployment:
    id: int
    repo: str  # full name
    sha: str
    ref: str
    task: str
    environment: str
    original_environment: str
    payload: Any
    description: str | None
    transient: bool
    production: bool
    creator: str
    statuses: list[DeploymentStatus] = field(default_factory=list)  # oldest first

    @property
    def state(self) -> str | None:
        return self.statuses[-1].state if self.statuses else None


def _handler(method: Callable[..., tuple[int, Any]]) -> Callable[..., tuple[int, Any, dict[str, str]]]:
    """A handler as FakeGitHub calls a mixin's: under the fake's lock, with a body, no headers back."""

    @functools.wraps(method)
    def handle(
        self: Any, repo: Any, params: Any, query: Any, body: Any, headers: Any
    ) -> tuple[int, Any, dict[str, str]]:
        with self.lock:
            status, answer = method(self, repo, params, query, body or {})
        return status, answer, {}

    return handle


def _answer(status: int, message: str, **kwargs: Any) -> Exception:
    from github_fake import Answer  # here: github_fake imports this module while it loads

    return Answer(status, message, **kwargs)


class DeploymentsMixin:
    """Deployments for FakeGitHub (see the module's docstring)."""

    ROUTES: ClassVar[dict[tuple[str, str], tuple[str, tuple[str, str]]]] = DEPLOYMENT_ROUTES

    # -- state, for tests ------------------------------------------------------------------------

    def deployments_of(self, repo: str) -> list[Deployment]:
        """The deployments of `repo`, oldest first."""
        return self._deployment_store().setdefault(repo.lower(), [])

    def environments(self, repo: str) -> dict[str, Deployment]:
        """What the repository's Environments page shows: each environment's newest deployment."""
        return {d.environment: d for d in self.deployments_of(repo)}

    def _deployment_store(self) -> dict[str, list[Deployment]]:
        store = self.__dict__.get("_deployments")
        if store is None:
            store = self.__dict__["_deployments"] = {}
            self.__dict__["_deployment_ids"] = itertools.count(4_000_000)
        return store

    def _next_deployment_id(self) -> int:
        self._deployment_store()
        return next(self.__dict__["_deployment_ids"])

    # -- handlers: (repo, params, query, body, request headers) -> (status, answer, headers) -------

    @_handler
    def h_post_deployment(self, repo: Any, params: dict[str, str], query: dict[str, str], body: Any) -> Any:
        ref = body["ref"]
        sha = repo.resolve(ref)
        if sha is None:
            raise _answer(422, f"No ref found for: {ref}")
        is_branch = ref not in repo.commits
        if body.get("auto_merge", True) and is_branch:
            default = repo.refs[repo.default_branch]
            branch = ref.removeprefix("refs/heads/")
            if default not in repo.ancestors(sha):
                tree = repo.merge_trees(repo.merge_base(sha, default), sha, default)
                if tree is None:
                    raise _answer(409, f"Conflict merging {repo.default_branch} into {branch}.")
                message = f"Auto-merged {repo.default_branch} into {branch} on deployment."
                repo.refs[branch] = repo.commit(tree, (sha, default), message)
                return 202, {"message": message}
        required = body.get("required_contexts")
        checks = repo.checks.get(sha, {})
        contexts = sorted(checks) if required is None else list(required)
        if any(checks.get(context) != "success" for context in contexts):
            raise _answer(
                409,
                f"Conflict: Commit status checks failed for {ref}.",
                errors=[
                    {
                        "contexts": [{"context": c, "state": checks.get(c, "missing")} for c in contexts],
                        "resource": "Deployment",
                        "field": "required_contexts",
                        "code": "invalid",
                    }
                ],
            )
        environment = body.get("environment", "production")
        deployment = Deployment(
            id=self._next_deployment_id(),
            repo=repo.full_name,
            sha=sha,
            ref=ref,
            task=body.get("task", "deploy"),
            environment=environment,
            original_environment=environment,
            payload=body.get("payload", {}),
            description=body.get("description", ""),
            transient=bool(body.get("transient_environment", False)),
            production=bool(body.get("production_environment", environment == "production")),
            creator="autodeploy[bot]",
        )
        self.deployments_of(repo.full_name).append(deployment)
        return 201, self._deployment_json(deployment, "POST", 201)

    @_handler
    def h_list_deployments(self, repo: Any, params: dict[str, str], query: dict[str, str], body: Any) -> Any:
        found = [
            d
            for d in reversed(self.deployments_of(repo.full_name))
            if all(
                query.get(name) in {None, getattr(d, name)} for name in ("sha", "ref", "task", "environment")
            )
        ]
        return 200, [self._deployment_json(d, "GET", 200) for d in _page(found, query)]

    @_handler
    def h_post_deployment_status(
        self, repo: Any, params: dict[str, str], query: dict[str, str], body: Any
    ) -> Any:
        deployment = self._deployment(repo, params["deployment_id"])
        state, description = body.get("state"), body.get("description", "")
        if state not in STATES:
            raise _answer(
                422,
                "Validation Failed",
                errors=[{"resource": "DeploymentStatus", "field": "state", "code": "invalid"}],
            )
        if len(description) > DESCRIPTION_LIMIT:
            raise _answer(
                422,
                "Validation Failed",
                errors=[
                    {
                        "resource": "DeploymentStatus",
                        "field": "description",
                        "code": "custom",
                        "message": f"description is too long (maximum is {DESCRIPTION_LIMIT} characters)",
                    }
                ],
            )
        if body.get("environment"):
            deployment.environment = body["environment"]
        log_url = body.get("log_url") or body.get("target_url") or ""
        status = self._add_deployment_status(
            deployment, state, description, log_url, body.get("environment_url", "")
        )
        if state == "success" and body.get("auto_inactive", True):
            for earlier in self.deployments_of(repo.full_name):
                if (
                    earlier.id < deployment.id
                    and earlier.environment == deployment.environment
                    and not earlier.transient
                    and not earlier.production
                    and earlier.state == "success"
                ):
                    self._add_deployment_status(earlier, "inactive", "", "", "")
        return 201, self._deployment_status_json(deployment, status, "POST", 201)

    @_handler
    def h_list_deployment_statuses(
        self, repo: Any, params: dict[str, str], query: dict[str, str], body: Any
    ) -> Any:
        deployment = self._deployment(repo, params["deployment_id"])
        newest_first = list(reversed(deployment.statuses))
        return 200, [
            self._deployment_status_json(deployment, s, "GET", 200) for s in _page(newest_first, query)
        ]

    # -- helpers ---------------------------------------------------------------------------------

    def _deployment(self, repo: Any, number: str) -> Deployment:
        found = next(
            (d for d in self.deployments_of(repo.full_name) if number.isdigit() and d.id == int(number)), None
        )
        if found is None:
            raise _answer(404, "Not Found")
        return found

    def _add_deployment_status(
        self, deployment: Deployment, state: str, description: str, log_url: str, environment_url: str
    ) -> DeploymentStatus:
        status = DeploymentStatus(
            self._next_deployment_id(), state, description, deployment.environment, log_url, environment_url
        )
        deployment.statuses.append(status)
        return status

    def _deployment_json(self, deployment: Deployment, method: str, status: int) -> Any:
        api: str = self.api_url  # type: ignore[attr-defined]
        base = f"{api}/repos/{deployment.repo}"
        partial = {
            "url": f"{base}/deployments/{deployment.id}",
            "id": deployment.id,
            "node_id": f"DE_{deployment.id}",
            "sha": deployment.sha,
            "ref": deployment.ref,
            "task": deployment.task,
            "payload": deployment.payload,
            "original_environment": deployment.original_environment,
            "environment": deployment.environment,
            "description": deployment.description,
            "creator": {"login": deployment.creator, "id": 3, "type": "Bot"},
            "statuses_url": f"{base}/deployments/{deployment.id}/statuses",
            "repository_url": base,
            "transient_environment": deployment.transient,
            "production_environment": deployment.production,
            "performed_via_github_app": None,
        }
        if method == "GET":
            return self._complete(method, DEPLOYMENTS, status, [partial])[0]  # type: ignore[attr-defined]
        return self._complete(method, DEPLOYMENTS, status, partial)  # type: ignore[attr-defined]

    def _deployment_status_json(
        self, deployment: Deployment, status: DeploymentStatus, method: str, code: int
    ) -> Any:
        api: str = self.api_url  # type: ignore[attr-defined]
        base = f"{api}/repos/{deployment.repo}"
        partial = {
            "url": f"{base}/deployments/{deployment.id}/statuses/{status.id}",
            "id": status.id,
            "node_id": f"DES_{status.id}",
            "state": status.state,
            "creator": {"login": deployment.creator, "id": 3, "type": "Bot"},
            "description": status.description,
            "environment": status.environment,
            "target_url": status.log_url,
            "log_url": status.log_url,
            "environment_url": status.environment_url,
            "deployment_url": f"{base}/deployments/{deployment.id}",
            "repository_url": base,
            "performed_via_github_app": None,
        }
        if method == "GET":
            return self._complete(method, STATUSES, code, [partial])[0]  # type: ignore[attr-defined]
        return self._complete(method, STATUSES, code, partial)  # type: ignore[attr-defined]


def _page(items: list[Any], query: dict[str, str]) -> list[Any]:
    per_page = min(int(query.get("per_page", 30)), 100)
    page = int(query.get("page", 1))
    return items[(page - 1) * per_page : page * per_page]
