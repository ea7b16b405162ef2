"""What each command is asked to do, as frozen values: the CLI builds them from its flags, the Action
from its inputs, and the commands take nothing else. Pure: no parsing, no environment, no I/O.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from autodeploy.deployment import DEFAULT_ENVIRONMENT_TEMPLATE, DEFAULT_PRODUCTION
from autodeploy.environment import PushEvent
from autodeploy.imageref import ImageRef
from autodeploy.plan import Settings, Target
from autodeploy.registry.access import RegistryOptions

if TYPE_CHECKING:
    from autodeploy.github.credentials import Credentials

DEFAULT_GITHUB_MAX_WAIT = 300.0
DEFAULT_DEADLINE = 600.0  # seconds a whole command may take, waits and retries included


@dataclass(frozen=True)
class PullOptions:
    """What autodeploy adds to the pull requests it opens."""

    reviewers: tuple[str, ...] = ()  # users, or ORG/TEAM for teams
    merge_method: str = "merge"
    draft: bool = False
    body: str = ""  # a new pull request's text, above autodeploy's section
    assignees: tuple[str, ...] = ()  # users a new pull request is assigned to
    origin: str = ""  # who and which run wrote it: "@alice in https://github.com/o/r/actions/runs/42"


@dataclass(frozen=True)
class GitHubOptions:
    """The GitOps repo on GitHub and how to reach it."""

    repo: str  # OWNER/NAME
    credentials: Credentials
    api_url: str = "https://api.github.com"
    graphql_url: str | None = None  # GITHUB_GRAPHQL_URL, as runners set it
    base_branch: str | None = None  # None: the repository's default branch (one request)
    guard_credentials: Credentials | None = None  # for the source repo's history; None: `credentials`
    # for GitHub Deployments in the application repository (credentials.for_deployments); None: `credentials`
    deployment_credentials: Credentials | None = None
    push: PushEvent | None = None  # answers the downgrade guard without a request, when it can
    max_wait: float = DEFAULT_GITHUB_MAX_WAIT


@dataclass(frozen=True)
class DeploymentOptions:
    """GitHub Deployments in the application repository (--deployment, input deployment: true)."""

    credentials: Credentials  # who writes them: github.credentials.for_deployments
    environment_template: str = DEFAULT_ENVIRONMENT_TEMPLATE  # --deployment-environment
    production: tuple[str, ...] = DEFAULT_PRODUCTION  # --production-environment GLOBs
    environment_url: str | None = None  # --environment-url, with {app} and {env}


@dataclass(frozen=True)
class Location:
    """Where the GitOps repo is: exactly one of a directory and a GitHub repository."""

    gitops_dir: str | None = None
    github: GitHubOptions | None = None

    def __post_init__(self) -> None:
        if (self.gitops_dir is None) == (self.github is None):
            raise ValueError("a Location is a directory or a GitHub repository, not both or neither")


@dataclass(frozen=True)
class WriteOptions:
    """What every command that writes a deploy shares."""

    settings: Settings = field(default_factory=Settings)
    pull: PullOptions = field(default_factory=PullOptions)
    registry: RegistryOptions = field(default_factory=RegistryOptions)
    dry_run: bool = False


DEFAULT_WAIT_TIMEOUT = 600.0
ON_TIMEOUT = ("fail", "warn")


@dataclass(frozen=True)
class WaitOptions:
    """After the pull request is opened: wait for it to merge, then for Flux's verdict."""

    flux_contexts: tuple[str, ...] = ()  # --flux-context globs ({app}, {env}); () is flux.DEFAULT_CONTEXTS
    timeout: float = DEFAULT_WAIT_TIMEOUT  # --wait-timeout, seconds
    on_timeout: str = "fail"  # or "warn": exit 0 with a warning
    deployment: DeploymentOptions | None = None  # --deployment: GitHub Deployments in the app's repository
    max_requests_per_minute: int = 30  # a hard bound on the wait's GitHub requests


@dataclass(frozen=True)
class DeployOptions:
    location: Location
    targets: tuple[Target, ...]  # a digest each where the user gave one
    commit: str | None = None  # --commit; None: from the image's labels or the workflow's
    source_repo: str | None = None  # --source-repo; likewise
    workflow_commit: str | None = None  # GITHUB_SHA
    workflow_repo: str | None = None  # GITHUB_REPOSITORY
    commit_from_image: bool = False
    allow_downgrade: bool = False
    source_dir: str | None = None  # a clone of the source repo for the downgrade guard
    targets_file: str | None = None  # --targets, as given (the targets are read from it already)
    default_image: ImageRef | None = None  # --image/--tag, as given (the targets hold it already)
    write: WriteOptions = field(default_factory=WriteOptions)
    deadline: float = DEFAULT_DEADLINE  # --deadline
    wait: WaitOptions | None = None  # --wait: None, return once the pull request is open


@dataclass(frozen=True)
class RollbackOptions:
    location: Location
    app: str
    env: str
    image: ImageRef  # without a tag
    to: str | None = None  # a tag; None: `steps` images back
    steps: int = 1
    reason: str | None = None
    allow_retag: bool = False
    registry_check: bool = True  # False: ask the registry nothing, deploy the recorded digest
    limit: int = 50  # deploys of history to look through
    commit_from_image: bool = False
    workflow_repo: str | None = None  # GITHUB_REPOSITORY, when the history recorded no repository
    run_url: str | None = None  # the workflow run, for the pull request (GITHUB_SERVER_URL, ..._RUN_ID)
    write: WriteOptions = field(default_factory=WriteOptions)
    deadline: float = DEFAULT_DEADLINE  # --deadline
    wait: WaitOptions | None = None  # --wait


@dataclass(frozen=True)
class WaitCommandOptions:
    """`autodeploy wait`: for a pull request to merge and roll out, or for a merged GitOps commit."""

    location: Location  # a GitHub repository
    wait: WaitOptions
    pull_request: int | None = None  # --pr; or
    gitops_commit: str | None = None  # --gitops-commit: every deploy that commit brought
    since: str | None = None  # --since: with --gitops-commit, what a push brought since its `before`
    app: str | None = None  # with --pr: the deploy's app and env (its image file, its digest)
    env: str | None = None
    path_template: str = "{app}/{env}/image.yaml"
    deadline: float = DEFAULT_DEADLINE  # --deadline, on top of --wait-timeout


@dataclass(frozen=True)
class HistoryOptions:
    location: Location
    app: str
    env: str
    path: str  # the image file, rendered from --path-template
    limit: int = 20
    deadline: float = DEFAULT_DEADLINE  # --deadline


@dataclass(frozen=True)
class ResolveOptions:
    images: tuple[ImageRef, ...]
    registry: RegistryOptions = field(default_factory=RegistryOptions)
    with_labels: bool = False  # --json: media type, platforms and labels too
    deadline: float = DEFAULT_DEADLINE  # --deadline


@dataclass(frozen=True)
class StatusOptions:
    location: Location
    apps: tuple[str, ...] = ()  # none: every app the path template finds
    envs: tuple[str, ...] = ()  # none: every environment found, `order` first
    order: tuple[str, ...] = ("development", "staging", "production")
    path_template: str = "{app}/{env}/image.yaml"
    deadline: float = DEFAULT_DEADLINE  # --deadline


@dataclass(frozen=True)
class PromoteOptions:
    location: Location
    source_env: str  # --from
    target_env: str  # --to
    apps: tuple[str, ...] = ()  # --app; none with `every`
    every: bool = False  # --all: every app whose source and target differ
    allow_downgrade: bool = False
    source_dir: str | None = None  # a clone of the source repos for the downgrade guard
    require_healthy: bool = True  # the health gate (--no-require-healthy turns it off)
    flux_contexts: tuple[str, ...] = ()  # --flux-context globs; none: flux.DEFAULT_CONTEXTS
    deployment_environment: str = "{env}"  # the GitHub Deployment's environment name, {app} and {env}
    registry_check: bool = False  # --registry-check: the registry must still hold each digest
    image: str | None = None  # --image, with {app}: the images for --registry-check
    run_url: str | None = None  # the workflow run, for the pull request
    write: WriteOptions = field(default_factory=WriteOptions)
    deadline: float = DEFAULT_DEADLINE  # --deadline
    wait: WaitOptions | None = None  # --wait: for the target environment's rollout
