"""Open the adapters a command's options name: a directory or a GitHub repository, the registry,
and the source history for the downgrade guard. The one place that knows which adapter serves
which option; PyGithub, requests and docker are imported only when an adapter needs them.
"""

from __future__ import annotations

import os
from dataclasses import replace
from typing import TYPE_CHECKING

from autodeploy.imageref import ImageRef
from autodeploy.options import GitHubOptions, Location, PullOptions
from autodeploy.pipeline import Adapters, GitopsRepo, SourceHistory
from autodeploy.plan import Relation
from autodeploy.registry.access import RegistryOptions
from autodeploy.request import Provenance
from autodeploy.retry import Deadline

if TYPE_CHECKING:
    from collections.abc import Iterator

    from autodeploy.deploys import FileHistory, FileVersion, Pending
    from autodeploy.github.api import RepoApi
    from autodeploy.github.client import Client
    from autodeploy.github.credentials import Credentials
    from autodeploy.github.deployments import Deployments
    from autodeploy.matrix import Fleet
    from autodeploy.promotion import HealthFacts
    from autodeploy.registry import Resolved
    from autodeploy.waiting import WatchSource


def open_adapters(
    location: Location,
    registry: RegistryOptions,
    *,
    pull: PullOptions | None = None,
    guard: bool = False,
    source_dir: str | None = None,
    deadline: Deadline | None = None,
    waits: bool = False,
) -> Adapters:
    """Adapters for one command; with `guard`, a source history for the downgrade guard: a local
    clone of the source repo (`source_dir`, or the current directory when it is one), then GitHub's
    compare API (a shallow clone that lacks a commit defers to GitHub). A command that `waits` reads
    commit statuses too: an App's token is minted with `statuses: read` as well."""
    images = RegistryImages(replace(registry, deadline=deadline))
    if location.github is not None:
        connection = Connection(location.github, deadline, waits=waits)
        repo: GitopsRepo = connection.repo(pull or PullOptions())
        files: FileHistory = connection.file_history()
        fleet: Fleet = connection.fleet()
        health: HealthFacts | None = connection.health()
    else:
        assert location.gitops_dir is not None
        from autodeploy.localdir import LocalDir
        from autodeploy.localfleet import LocalFleet

        repo = LocalDir(location.gitops_dir)
        files = LocalFiles(location.gitops_dir)
        fleet = LocalFleet(location.gitops_dir)
        health = None  # Flux's statuses and Deployments are on GitHub only
    history = None
    if guard:
        sources: list[SourceHistory] = [SourceClone(source_dir)]
        if location.github is not None:
            sources.append(connection.source_history())
        history = FirstKnown(sources)
    close = connection.close if location.github is not None else _nothing
    return Adapters(
        repo=repo,
        images=images,
        files=files,
        source_history=history,
        deadline=deadline,
        close=close,
        fleet=fleet,
        health=health,
        watch=connection.watch if location.github is not None else None,
        deployments=connection.deployments if location.github is not None else None,
        gitops_repo=location.github.repo if location.github is not None else None,
    )


def _nothing() -> None:
    pass


class SourceClone:
    """A local clone of the source repo: `source_dir`, else the current directory when it is in one.
    Asked on the first question only, in one git process, so a deploy that needs no answer starts no
    git, and a directory in no repository answers NO_HISTORY."""

    def __init__(self, source_dir: str | None) -> None:
        self.source_dir = source_dir

    def relation(self, repo: str, old: str, new: str) -> Relation:
        from autodeploy import gitlocal

        return gitlocal.relation(self.source_dir or os.getcwd(), old, new)


class LocalFiles:
    """A checkout's file history, through `git log` when asked (a plain directory has none)."""

    def __init__(self, root: str) -> None:
        self.root = root

    def versions(self, path: str, *, limit: int) -> Iterator[FileVersion]:
        from autodeploy.gitlocal import GitFileHistory

        return GitFileHistory(self.root).versions(path, limit=limit)

    def pending(self, path: str) -> tuple[Pending, ...]:
        return ()  # a directory has no pull requests


class FirstKnown:
    """Asks each source history in turn; the first that can tell wins. UNKNOWN when one was asked
    and could not tell, NO_HISTORY when there was none to ask."""

    def __init__(self, sources: list[SourceHistory]) -> None:
        self.sources = sources

    def relation(self, repo: str, old: str, new: str) -> Relation:
        answers = set()
        for source in self.sources:
            answer = source.relation(repo, old, new)
            if answer not in (Relation.UNKNOWN, Relation.NO_HISTORY):
                return answer
            answers.add(answer)
        return Relation.UNKNOWN if Relation.UNKNOWN in answers else Relation.NO_HISTORY


class RegistryImages:
    """The registry (or the Docker daemon) as the pipeline's ImageSource."""

    def __init__(self, options: RegistryOptions) -> None:
        self.options = options

    def lookup(self, image: ImageRef, *, with_labels: bool) -> Resolved:
        from autodeploy import registry

        return registry.resolve(image, self.options, with_labels=with_labels)

    def resolve(self, image: ImageRef, *, with_labels: bool) -> tuple[str, Provenance]:
        from autodeploy import registry

        found = self.lookup(image, with_labels=with_labels)
        labels = found.labels
        return found.digest, Provenance(
            labels.get(registry.REVISION_LABEL), labels.get(registry.SOURCE_LABEL)
        )


class Connection:
    """The clients of one command: one for the GitOps repo, one for the source repo (the downgrade
    guard), each made on first use, so a GitHub App mints one installation token per command."""

    def __init__(
        self, options: GitHubOptions, deadline: Deadline | None = None, *, waits: bool = False
    ) -> None:
        from autodeploy.github.connection import ClientOptions

        self.options = options
        self.client_options = ClientOptions(
            api_url=options.api_url,
            graphql_url=options.graphql_url,
            max_wait=options.max_wait,
            deadline=deadline,
        )
        self._client: Client | None = None
        self._guard: Client | None = None
        self._api: RepoApi | None = None
        self._deployments: dict[str, Deployments] = {}
        self.waits = waits

    def client(self) -> Client:
        from autodeploy.github import auth

        if self._client is None:
            permissions = auth.WAIT_PERMISSIONS if self.waits else auth.TOKEN_PERMISSIONS
            self._client = auth.client_for(
                self.options.credentials, self.options.repo, self.client_options, permissions=permissions
            )
        return self._client

    def guard_client(self) -> Client:
        from autodeploy.github import auth

        credentials = self.options.guard_credentials
        if credentials is None or credentials is self.options.credentials:
            return self.client()
        if self._guard is None:
            self._guard = auth.client_for(credentials, self.options.repo, self.client_options)
        return self._guard

    def deployments(self, repo: str, credentials: Credentials | None = None) -> Deployments:
        """GitHub Deployments of the application repository `repo` (for pipeline.Adapters.deployments),
        with `credentials`, else GitHubOptions.deployment_credentials; opened on first use: a GitHub
        App mints a token on `repo` with `deployments: write` alone, revoked by `close`."""
        from autodeploy.github.deployments import open_deployments

        chosen = credentials or self.options.deployment_credentials or self.options.credentials
        key = repo.lower()
        if key not in self._deployments:
            self._deployments[key] = open_deployments(
                chosen, repo, self.client_options, gitops_repo=self.options.repo
            )
        return self._deployments[key]

    def close(self) -> None:
        """Revoke the installation tokens this command minted, if it minted any."""
        from autodeploy import report
        from autodeploy.errors import AutodeployError
        from autodeploy.github import auth, deployments

        for opened in self._deployments.values():
            deployments.close(opened)
        if self._client is not None and self.options.credentials.app is not None:
            try:
                auth.revoke(self._client)
            except AutodeployError as exc:
                report.warn(
                    f"the installation token could not be revoked (it expires within the hour): {exc}"
                )

    def api(self) -> RepoApi:
        from autodeploy.github.api import RepoApi

        if self._api is None:
            self._api = RepoApi(self.client(), self.options.repo)
        return self._api

    def repo(self, pull: PullOptions) -> GitopsRepo:
        from autodeploy.github.repo import GitHubRepo

        return GitHubRepo(self.api(), base=self.options.base_branch, options=pull)

    def file_history(self) -> FileHistory:
        from autodeploy.github.files import GitHubFileHistory

        return GitHubFileHistory(self.api(), self.options.base_branch)

    def fleet(self) -> Fleet:
        from autodeploy.github.fleet import GitHubFleet

        return GitHubFleet(self.api(), self.options.base_branch)

    def health(self) -> HealthFacts:
        from autodeploy.github.health import GitHubHealth

        return GitHubHealth(self.api(), self.options.base_branch, self.deployments)

    def watch(self) -> WatchSource:
        from autodeploy.github.watch import GitHubWatch

        return GitHubWatch(self.client(), self.options.repo, self.options.base_branch)

    def source_history(self) -> SourceHistory:
        from autodeploy.github.guard import CompareHistory

        return CompareHistory(self.guard_client, event=self.options.push)
