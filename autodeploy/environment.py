"""The variables autodeploy reads, as one typed value. Pure: each entrypoint passes `os.environ` to
`Environment.read` once, and hands the result down; nothing else looks at the environment.

GITHUB_* are what an Actions runner sets (also read by the CLI, so a step that runs it gets the
same defaults); AUTODEPLOY_* are autodeploy's own. The event payload (GITHUB_EVENT_PATH) is read
here and nowhere else.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field

ZERO_COMMIT = "0" * 40


@dataclass(frozen=True)
class PushEvent:
    """The push that triggered a workflow run: the downgrade guard can answer from it for free."""

    repo: str
    before: str
    after: str
    commits: frozenset[str]
    forced: bool

    def proves_newer(self, repo: str, old: str, new: str) -> bool:
        """True when the push moved `repo` from (or past) `old` to `new` without a force."""
        if self.forced or repo.lower() != self.repo or not _same(new, self.after) or _same(old, self.after):
            return False
        return (self.before != ZERO_COMMIT and _same(old, self.before)) or any(
            _same(old, c) for c in self.commits
        )


@dataclass(frozen=True)
class Environment:
    # The workflow run (Actions sets these; a person may too).
    sha: str | None = None  # GITHUB_SHA
    repository: str | None = None  # GITHUB_REPOSITORY
    repository_owner: str | None = None  # GITHUB_REPOSITORY_OWNER
    ref: str | None = None  # GITHUB_REF
    server_url: str | None = None  # GITHUB_SERVER_URL
    run_id: str | None = None  # GITHUB_RUN_ID
    actor: str | None = None  # GITHUB_ACTOR
    api_url: str | None = None  # GITHUB_API_URL
    graphql_url: str | None = None  # GITHUB_GRAPHQL_URL
    default_branch: str | None = None  # from the event payload
    push: PushEvent | None = None  # from the event payload of a push
    output_path: str | None = None  # GITHUB_OUTPUT
    summary_path: str | None = None  # GITHUB_STEP_SUMMARY
    runner_debug: bool = False  # RUNNER_DEBUG=1
    # Credentials, never printed.
    github_token: str | None = field(default=None, repr=False)  # AUTODEPLOY_GITHUB_TOKEN
    actions_token: str | None = field(default=None, repr=False)  # GITHUB_TOKEN
    app_id: str | None = None  # AUTODEPLOY_APP_ID
    app_private_key: str | None = field(default=None, repr=False)  # AUTODEPLOY_APP_PRIVATE_KEY
    deployment_token: str | None = field(default=None, repr=False)  # AUTODEPLOY_DEPLOYMENT_TOKEN
    registry_username: str | None = None  # AUTODEPLOY_REGISTRY_USERNAME
    registry_password: str | None = field(default=None, repr=False)  # AUTODEPLOY_REGISTRY_PASSWORD
    docker_config: str | None = None  # DOCKER_CONFIG
    # Defaults for flags.
    gitops_repo: str | None = None  # AUTODEPLOY_GITOPS_REPO
    base_branch: str | None = None  # AUTODEPLOY_BASE_BRANCH
    deadline: str | None = None  # AUTODEPLOY_DEADLINE

    @property
    def run_url(self) -> str | None:
        """The workflow run's page, when this runs in one."""
        if not (self.run_id and self.repository):
            return None
        return f"{(self.server_url or 'https://github.com').rstrip('/')}/{self.repository}/actions/runs/{self.run_id}"

    @property
    def origin(self) -> str:
        """Who and which run, for a pull request: "@alice in https://.../actions/runs/42"."""
        parts = [f"@{self.actor}" if self.actor else "", f"in {self.run_url}" if self.run_url else ""]
        return " ".join(part for part in parts if part)

    @classmethod
    def read(cls, env: Mapping[str, str]) -> Environment:
        def get(name: str) -> str | None:
            return env.get(name, "").strip() or None

        payload = _event(get("GITHUB_EVENT_PATH"))
        return cls(
            sha=get("GITHUB_SHA"),
            repository=get("GITHUB_REPOSITORY"),
            repository_owner=get("GITHUB_REPOSITORY_OWNER"),
            ref=get("GITHUB_REF"),
            server_url=get("GITHUB_SERVER_URL"),
            run_id=get("GITHUB_RUN_ID"),
            actor=get("GITHUB_ACTOR"),
            api_url=get("GITHUB_API_URL"),
            graphql_url=get("GITHUB_GRAPHQL_URL"),
            default_branch=_default_branch(payload),
            push=_push(payload) if get("GITHUB_EVENT_NAME") == "push" else None,
            output_path=get("GITHUB_OUTPUT"),
            summary_path=get("GITHUB_STEP_SUMMARY"),
            runner_debug=get("RUNNER_DEBUG") == "1",
            github_token=get("AUTODEPLOY_GITHUB_TOKEN"),
            actions_token=get("GITHUB_TOKEN"),
            app_id=get("AUTODEPLOY_APP_ID"),
            app_private_key=get("AUTODEPLOY_APP_PRIVATE_KEY"),
            deployment_token=get("AUTODEPLOY_DEPLOYMENT_TOKEN"),
            registry_username=get("AUTODEPLOY_REGISTRY_USERNAME"),
            registry_password=env.get("AUTODEPLOY_REGISTRY_PASSWORD") or None,
            docker_config=get("DOCKER_CONFIG"),
            gitops_repo=get("AUTODEPLOY_GITOPS_REPO"),
            base_branch=get("AUTODEPLOY_BASE_BRANCH"),
            deadline=get("AUTODEPLOY_DEADLINE"),
        )


def _event(path: str | None) -> dict[str, object]:
    """The event payload; an unreadable one is as good as none (it only ever refines defaults)."""
    if not path:
        return {}
    try:
        with open(path, encoding="utf-8") as handle:
            data = json.load(handle)
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def _default_branch(payload: Mapping[str, object]) -> str | None:
    repository = payload.get("repository")
    branch = repository.get("default_branch") if isinstance(repository, dict) else None
    return branch if isinstance(branch, str) and branch else None


def _push(payload: Mapping[str, object]) -> PushEvent | None:
    repository, commits = payload.get("repository"), payload.get("commits") or []
    if not isinstance(repository, dict) or not isinstance(commits, list):
        return None
    try:
        return PushEvent(
            repo=str(repository["full_name"]).lower(),
            before=str(payload["before"]).lower(),
            after=str(payload["after"]).lower(),
            commits=frozenset(str(c["id"]).lower() for c in commits),
            forced=bool(payload.get("forced")),
        )
    except (KeyError, TypeError):
        return None


def _same(a: str, b: str) -> bool:
    """Two commit ids name the same commit (one may be abbreviated, seven digits at least)."""
    a, b = a.lower(), b.lower()
    return len(a) >= 7 and len(b) >= 7 and (a.startswith(b) or b.startswith(a))
