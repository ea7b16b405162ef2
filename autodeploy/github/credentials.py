"""Which credentials reach the GitOps repo: a token, or a GitHub App to mint one with. Pure apart
from reading a key file, so both entrypoints can choose them without loading PyGithub.

The token is AUTODEPLOY_GITHUB_TOKEN's (the Action's `token` input), else GITHUB_TOKEN's. With an
App ID, its private key comes from --private-key-file, else AUTODEPLOY_APP_PRIVATE_KEY (the
Action's `private-key` input). Every token and key is registered with `report.secret()` here.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from autodeploy import report, validate
from autodeploy.errors import InputError

if TYPE_CHECKING:
    from collections.abc import Sequence

    from autodeploy.environment import Environment
    from autodeploy.options import DeploymentOptions, GitHubOptions

_CLIENT_ID_RE = re.compile(r"Iv[0-9A-Za-z.]{4,40}")
ENV_TOKEN = "AUTODEPLOY_GITHUB_TOKEN"
ENV_ACTIONS_TOKEN = "GITHUB_TOKEN"
ENV_APP_KEY = "AUTODEPLOY_APP_PRIVATE_KEY"
ENV_DEPLOYMENT_TOKEN = "AUTODEPLOY_DEPLOYMENT_TOKEN"


@dataclass(frozen=True)
class App:
    app_id: str
    private_key: str = field(repr=False)
    installation_id: int | None = None


@dataclass(frozen=True)
class Credentials:
    """A token, or a GitHub App to mint one with; `source` names it for people."""

    source: str
    token: str | None = field(default=None, repr=False)
    app: App | None = None


@dataclass(frozen=True)
class Secrets:
    """What the environment (or the Action's inputs) hand over; each may be missing."""

    token: str | None = field(default=None, repr=False)
    actions_token: str | None = field(default=None, repr=False)
    app_id: str | None = None
    private_key: str | None = field(default=None, repr=False)
    deployment_token: str | None = field(default=None, repr=False)  # the input deployment-token


def choose(
    secrets: Secrets, *, private_key_file: str | None = None, installation_id: int | None = None
) -> Credentials:
    """The credentials for the GitOps repo; raises InputError when there are none."""
    for value in (secrets.token, secrets.actions_token, secrets.private_key, secrets.deployment_token):
        if value:
            report.secret(value)
    if secrets.app_id:
        app_id = secrets.app_id.strip()
        if not (app_id.isdigit() or _CLIENT_ID_RE.fullmatch(app_id)):
            raise InputError(
                f"--app-id {app_id!r} is not a GitHub App ID (a number) or client ID (Iv...), from the App's "
                "settings page"
            )
        key = _private_key(secrets.private_key, private_key_file)
        return Credentials(f"GitHub App {app_id}", app=App(app_id, key, installation_id))
    if private_key_file:
        raise InputError("--private-key-file needs --app-id (the GitHub App the key belongs to)")
    for name, token in ((ENV_TOKEN, secrets.token), (ENV_ACTIONS_TOKEN, secrets.actions_token)):
        if token and token.strip():
            return Credentials(name, token=token.strip())
    raise InputError(
        f"no GitHub credentials: set {ENV_TOKEN} or {ENV_ACTIONS_TOKEN}, or pass --app-id with "
        f"{ENV_APP_KEY} or --private-key-file"
    )


def for_source_repo(secrets: Secrets, gitops: Credentials) -> Credentials:
    """The workflow's own token can read the repository it runs in: the downgrade guard prefers it."""
    token = (secrets.actions_token or "").strip()
    if token and gitops.source != ENV_ACTIONS_TOKEN:
        return Credentials(ENV_ACTIONS_TOKEN, token=token)
    return gitops


def for_deployments(secrets: Secrets, gitops: Credentials) -> Credentials:
    """Who writes GitHub Deployments in the application repository: the deployment token (input
    deployment-token, AUTODEPLOY_DEPLOYMENT_TOKEN), else the workflow's own token (GITHUB_TOKEN, which
    can write the repository it runs in, given `deployments: write`), else the GitOps credentials (a
    token that reaches both repositories, or the GitHub App, which then mints a token for the
    application repository with `deployments: write` alone)."""
    token = (secrets.deployment_token or "").strip()
    if token:
        return Credentials(ENV_DEPLOYMENT_TOKEN, token=report.secret(token))
    return for_source_repo(secrets, gitops)


def for_repo(credentials: Credentials, *, chosen_for: str, repo: str) -> Credentials:
    """`credentials` for `repo`: an App's installation ID, given for `chosen_for`, serves a repository
    of the same owner only (an installation belongs to one account); another's is looked up."""
    app = credentials.app
    if app is None or app.installation_id is None or _owner(chosen_for) == _owner(repo):
        return credentials
    return Credentials(credentials.source, app=App(app.app_id, app.private_key, None))


def _owner(repo: str) -> str:
    return repo.split("/", 1)[0].lower()


def _private_key(value: str | None, path: str | None) -> str:
    if path:
        try:
            with open(path, "rb") as handle:
                data = handle.read()
        except OSError as exc:
            raise InputError(f"cannot read --private-key-file {path}: {exc.strerror}") from exc
        try:
            key = data.decode("ascii")
        except UnicodeDecodeError:
            raise InputError(_NOT_PEM) from None
    else:
        key = value or ""
        if not key.strip():
            raise InputError(
                f"--app-id needs the App's private key: set {ENV_APP_KEY} or pass --private-key-file"
            )
    if "\\n" in key and "\n" not in key.strip():
        key = key.replace("\\n", "\n")  # a PEM pasted into a single-line secret
    key = report.secret(key.strip()) + "\n"
    _check_pem(key)
    return key


_NOT_PEM = (
    "the GitHub App private key is not an unencrypted RSA key in PEM form; download a new one from the "
    "App's settings (Private keys) and pass the whole .pem file"
)


def _check_pem(key: str) -> None:
    """GitHub signs App JWTs with RS256 only: a DER file, an EC key or an encrypted key is refused here,
    not by the signer halfway through a run."""
    from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey
    from cryptography.hazmat.primitives.serialization import load_pem_private_key

    try:
        loaded = load_pem_private_key(key.encode("ascii", "replace"), password=None)
    except (ValueError, TypeError) as exc:
        raise InputError(_NOT_PEM) from exc
    if not isinstance(loaded, RSAPrivateKey):
        raise InputError(f"{_NOT_PEM} (this one is not RSA)")


def github_options(
    repo: str,
    secrets: Secrets,
    env: Environment,
    *,
    base: str | None,
    max_wait: float,
    private_key_file: str | None = None,
    installation_id: int | None = None,
) -> GitHubOptions:
    """The GitOps repo on GitHub as both entrypoints describe it: the API the runner names, the
    credentials chosen, the base branch checked, and the source repo's token for the guard."""
    from autodeploy.github.connection import DEFAULT_API_URL
    from autodeploy.options import GitHubOptions

    api_url = (env.api_url or DEFAULT_API_URL).rstrip("/")
    if not api_url.startswith(("https://", "http://")):
        raise InputError(f"GITHUB_API_URL {api_url!r} is not an http(s) URL")
    chosen = choose(secrets, private_key_file=private_key_file, installation_id=installation_id)
    return GitHubOptions(
        repo=repo,
        credentials=chosen,
        api_url=api_url,
        graphql_url=env.graphql_url,
        base_branch=validate.branch(base) if base else None,
        guard_credentials=for_source_repo(secrets, chosen),
        deployment_credentials=for_deployments(secrets, chosen),
        push=env.push,
        max_wait=max_wait,
    )


def deployment_options(
    secrets: Secrets,
    gitops: Credentials,
    *,
    template: str | None,
    production: Sequence[str],
    environment_url: str | None,
    names: Callable[[str], str],
) -> DeploymentOptions:
    """GitHub Deployments as both entrypoints describe them; `names` spells an option for errors
    ("--deployment-environment", "input deployment-environment")."""
    from autodeploy import deployment
    from autodeploy.options import DeploymentOptions

    globs = tuple(glob.strip() for glob in production if glob.strip())
    return DeploymentOptions(
        credentials=for_deployments(secrets, gitops),
        environment_template=deployment.check_template(
            template or deployment.DEFAULT_ENVIRONMENT_TEMPLATE, names("deployment-environment")
        ),
        production=globs or deployment.DEFAULT_PRODUCTION,
        environment_url=deployment.check_url(environment_url, names("environment-url"))
        if environment_url
        else None,
    )
