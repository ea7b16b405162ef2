"""The GitHub flags (`--gitops-repo` and friends) and the adapters they open.

Import-light: argparse and os only at import time; `autodeploy.github` (and PyGithub with it) is
imported by `open_repo`, `source_history` and `file_history`, which only the --gitops-repo path calls.

Variables: GITHUB_API_URL (the API; set on Actions runners and GHES), GITHUB_SERVER_URL (web links;
read by common.settings), AUTODEPLOY_GITHUB_TOKEN then GITHUB_TOKEN (a token), AUTODEPLOY_APP_ID
and AUTODEPLOY_APP_PRIVATE_KEY (a GitHub App), AUTODEPLOY_GITOPS_REPO, AUTODEPLOY_BASE_BRANCH.
"""

from __future__ import annotations

import argparse
import os
from typing import TYPE_CHECKING, Any

from autodeploy import validate
from autodeploy.errors import InputError

if TYPE_CHECKING:
    from autodeploy.github.client import Client
    from autodeploy.github.files import GitHubFileHistory
    from autodeploy.github.history import CompareHistory
    from autodeploy.github.options import ClientOptions
    from autodeploy.github.repo import GitHubRepo

MERGE_METHODS = ("merge", "squash", "rebase")
DEFAULT_AUTO_MERGE_ENVS = ("development",)
_connections: dict[int, tuple[argparse.Namespace, Connection]] = {}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group(
        "GitHub (with --gitops-repo; a token from $AUTODEPLOY_GITHUB_TOKEN or $GITHUB_TOKEN, "
        "the API at $GITHUB_API_URL)"
    )
    group.add_argument(
        "--gitops-repo",
        metavar="OWNER/REPO",
        default=os.environ.get("AUTODEPLOY_GITOPS_REPO") or None,
        help="read and write the GitOps repo on GitHub through its API, with a pull request "
        "(default: $AUTODEPLOY_GITOPS_REPO)",
    )
    group.add_argument(
        "--base-branch",
        metavar="BRANCH",
        default=os.environ.get("AUTODEPLOY_BASE_BRANCH") or None,
        help="the branch pull requests go into (default: $AUTODEPLOY_BASE_BRANCH, else the repository's "
        "default branch, which costs one API call to look up)",
    )
    group.add_argument(
        "--app-id",
        default=os.environ.get("AUTODEPLOY_APP_ID") or None,
        help="authenticate as this GitHub App (key from $AUTODEPLOY_APP_PRIVATE_KEY or --private-key-file)",
    )
    group.add_argument("--private-key-file", metavar="FILE", help="the GitHub App's private key (.pem)")
    group.add_argument(
        "--app-installation-id",
        type=int,
        metavar="ID",
        help="the App's installation to use (default: looked up for the GitOps repo, one API call)",
    )
    group.add_argument(
        "--reviewer",
        action="append",
        default=[],
        metavar="USER|ORG/TEAM",
        help="request a review from USER or team ORG/TEAM on a new pull request; repeatable",
    )
    group.add_argument(
        "--merge-method",
        choices=MERGE_METHODS,
        default="merge",
        help="how auto-merge merges (default: %(default)s, as today's action)",
    )
    group.add_argument(
        "--auto-merge-env",
        action="append",
        default=None,
        metavar="ENV",
        help="enable auto-merge on pull requests for ENV; repeatable (default: development)",
    )
    group.add_argument("--no-auto-merge", action="store_true", help="never enable auto-merge")
    group.add_argument(
        "--github-max-wait",
        type=float,
        default=300.0,
        metavar="SECONDS",
        help="wait at most this long in all for GitHub rate limits and retries (default: %(default)s)",
    )


def settings_overrides(args: argparse.Namespace) -> dict[str, Any]:
    """The plan.Settings fields these flags set."""
    if getattr(args, "no_auto_merge", False):
        return {"auto_merge_envs": ()}
    envs = getattr(args, "auto_merge_env", None)
    return {"auto_merge_envs": tuple(envs) if envs else DEFAULT_AUTO_MERGE_ENVS}


def open_repo(args: argparse.Namespace) -> GitHubRepo:
    from autodeploy.github.api import RepoApi
    from autodeploy.github.options import PullOptions
    from autodeploy.github.repo import GitHubRepo

    connection = _connection(args)
    reviewers = tuple(_reviewer(r) for r in args.reviewer)
    options = PullOptions(reviewers=reviewers, merge_method=args.merge_method)
    return GitHubRepo(RepoApi(connection.client(), connection.repo), base=_base(args), options=options)


def source_history(args: argparse.Namespace) -> CompareHistory | None:
    from autodeploy.github.history import CompareHistory, PushEvent

    connection = _connection(args)
    return CompareHistory(connection.history_client, event=PushEvent.from_environment(os.environ))


def file_history(args: argparse.Namespace) -> GitHubFileHistory:
    from autodeploy.github.api import RepoApi
    from autodeploy.github.files import GitHubFileHistory

    connection = _connection(args)
    return GitHubFileHistory(RepoApi(connection.client(), connection.repo), _base(args))


class Connection:
    """The clients of one run: one for the GitOps repo, one for the source repo (the downgrade
    guard), made on first use and shared, so a GitHub App mints one installation token per run."""

    def __init__(self, args: argparse.Namespace, options: ClientOptions) -> None:
        from autodeploy.github import auth

        self.repo = _repo(args.gitops_repo)
        self.options = options
        self.credentials = auth.from_environment(
            os.environ,
            app_id=args.app_id,
            private_key_file=args.private_key_file,
            installation_id=args.app_installation_id,
        )
        # The workflow's own token can read the repository it runs in: the guard prefers it.
        actions_token = os.environ.get(auth.ENV_ACTIONS_TOKEN, "").strip()
        self.history_credentials = (
            auth.Credentials(auth.ENV_ACTIONS_TOKEN, token=actions_token)
            if actions_token and self.credentials.source != auth.ENV_ACTIONS_TOKEN
            else self.credentials
        )
        self._client: Client | None = None
        self._history: Client | None = None

    def client(self) -> Client:
        from autodeploy.github import auth

        if self._client is None:
            self._client = auth.client_for(self.credentials, self.repo, self.options)
        return self._client

    def history_client(self) -> Client:
        from autodeploy.github import auth

        if self.history_credentials is self.credentials:
            return self.client()
        if self._history is None:
            self._history = auth.client_for(self.history_credentials, self.repo, self.options)
        return self._history


def _connection(args: argparse.Namespace) -> Connection:
    from autodeploy.github.options import DEFAULT_API_URL, ClientOptions

    found = _connections.get(id(args))
    if found is not None and found[0] is args:
        return found[1]
    if args.github_max_wait < 0:
        raise InputError("--github-max-wait must be 0 or more seconds")
    api_url = (os.environ.get("GITHUB_API_URL") or DEFAULT_API_URL).rstrip("/")
    if not api_url.startswith(("https://", "http://")):
        raise InputError(f"GITHUB_API_URL {api_url!r} is not an http(s) URL")
    connection = Connection(args, ClientOptions(api_url=api_url, max_wait=args.github_max_wait))
    _connections[id(args)] = (args, connection)
    return connection


def _repo(value: str | None) -> str:
    if not value:
        raise InputError("give --gitops-repo OWNER/REPO")
    try:
        return validate.source_repo(value.strip())
    except InputError:
        raise InputError(f"--gitops-repo {value!r} is not of the form OWNER/REPO") from None


def _base(args: argparse.Namespace) -> str | None:
    return validate.branch(args.base_branch) if args.base_branch else None


def _reviewer(value: str) -> str:
    owner, sep, name = value.partition("/")
    ok = validate.OWNER_RE.fullmatch(owner) and (not sep or validate.REPO_NAME_RE.fullmatch(name))
    if not ok:
        raise InputError(f"--reviewer {value!r} is not a GitHub user or ORG/TEAM")
    return value
