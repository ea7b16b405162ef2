"""`promotion.HealthFacts` on GitHub: what the promotion gate reads.

Flux      one GraphQL request: the base branch's last commits with their first parents and their
          commit statuses (statuses.py's fields), from which each app's first-parent line back to
          the commit that brought its version is taken; a version that came earlier than those
          commits costs one more request (statuses.py's batched read) for its bringing commit.
Deploys   the GitHub Deployment of each app's source commit in the source environment, in its
          source repository (deployments.py, with the credentials that write them: two requests an
          app), asked only for the apps Flux did not find healthy; a repository the token cannot
          read answers "none".
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from autodeploy import deployment, report
from autodeploy.errors import GitHubError, InputError
from autodeploy.flux import CommitStatus
from autodeploy.github import statuses
from autodeploy.github.api import RepoApi
from autodeploy.github.deployments import Deployments
from autodeploy.github.graphql import graphql_data
from autodeploy.promotion import Candidate

CHAIN = 50  # the base's newest commits read with their statuses


class GitHubHealth:
    def __init__(self, api: RepoApi, base: str | None, deployments: Callable[[str], Deployments]) -> None:
        self.api = api
        self.base = base  # None: the default branch
        self.deployments = deployments  # an application repository's, opened once per command

    def flux_statuses(
        self, asked: Sequence[Candidate]
    ) -> Mapping[str, tuple[tuple[str, tuple[CommitStatus, ...]], ...]]:
        brought = {c.app: c.source.arrival.commit for c in asked if c.source.arrival is not None}
        if not brought:
            return {}
        line, found = self._first_parent_line()
        missing = sorted({sha for sha in brought.values() if sha not in line})
        if missing:
            found.update(statuses.statuses_of(self.api.client, self.api.repo, missing))
        out = {}
        for app, sha in brought.items():
            held = line[: line.index(sha) + 1] if sha in line else [*line, sha]
            out[app] = tuple((commit, found.get(commit, ())) for commit in held)
        return out

    def _first_parent_line(self) -> tuple[list[str], dict[str, tuple[CommitStatus, ...]]]:
        """The base's first-parent line from its head, newest first, as far as its last CHAIN commits
        reach, and each listed commit's statuses."""
        owner, name = self.api.repo.split("/", 1)
        variables: dict[str, Any] = {"owner": owner, "name": name}
        if self.base:
            declared, ref = ", $ref: String!", "ref(qualifiedName: $ref)"
            variables["ref"] = f"refs/heads/{self.base}"
        else:
            declared, ref = "", "defaultBranchRef"
        query = (
            f"query($owner: String!, $name: String!{declared}) {{ repository(owner: $owner, name: $name) {{ "
            f"base: {ref} {{ target {{ ... on Commit {{ history(first: {CHAIN}) {{ nodes {{ oid "
            f"parents(first: 1) {{ nodes {{ oid }} }} {statuses.CONTEXTS_FIELDS} }} }} }} }} }} }} }}"
        )
        doing = f"reading the commit statuses of the base branch of {self.api.repo}"
        got = self.api.client.graphql(query, variables, doing=doing, needs=statuses.NEEDS)
        repository = graphql_data(got.data, doing).get("repository")
        if not isinstance(repository, dict):
            raise InputError(f"{doing}: the repository does not exist or the token cannot see it")
        target = (repository.get("base") or {}).get("target") or {}
        nodes = [n for n in (target.get("history") or {}).get("nodes") or () if isinstance(n, dict)]
        if not nodes:
            raise GitHubError(f"{doing}: GitHub's answer has no history")
        by_oid = {str(n["oid"]): n for n in nodes}
        found = {oid: statuses.graphql_statuses(node, doing) for oid, node in by_oid.items()}
        line: list[str] = []
        current: str | None = str(nodes[0]["oid"])
        while current is not None and current in by_oid and current not in line:
            line.append(current)
            parents = (by_oid[current].get("parents") or {}).get("nodes") or ()
            current = str(parents[0]["oid"]) if parents and isinstance(parents[0], dict) else None
        return line, found

    def deployment_states(
        self, asked: Sequence[Candidate], *, env: str, environment: str
    ) -> Mapping[str, str | None]:
        states: dict[str, str | None] = {}
        unreadable: list[str] = []
        for candidate in asked:
            block = candidate.source.block
            if block is None or not block.commit or not block.source_repo:
                states[candidate.app] = None
                continue
            name = deployment.environment_name(environment, app=candidate.app, env=env)
            try:
                reader = self.deployments(block.source_repo)
                states[candidate.app] = reader.latest_state(sha=block.commit, environment=name)
            except (InputError, GitHubError):  # 404 or 403: the token cannot see the repository
                states[candidate.app] = None
                unreadable.append(block.source_repo)
        if unreadable:
            report.warn(
                "the GitHub Deployments of " + ", ".join(sorted(set(unreadable))) + " could not be read "
                "(the token cannot see the repository); only Flux's statuses were asked"
            )
        return states
