"""Credentials for the GitOps repo: a token from the environment, or a GitHub App installation token.

A token comes from AUTODEPLOY_GITHUB_TOKEN, else GITHUB_TOKEN. With --app-id, the App's private key
comes from --private-key-file, else AUTODEPLOY_APP_PRIVATE_KEY; autodeploy signs a JWT with it,
looks up the App's installation on the GitOps repo (unless --app-installation-id names it) and
mints an installation token, which GitHub lets the App use for an hour. Every token and key is
registered with `report.secret()` as soon as it is read or minted.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from autodeploy import report
from autodeploy.errors import GitHubError, InputError
from autodeploy.github.client import Client
from autodeploy.github.options import ClientOptions

ENV_TOKEN = "AUTODEPLOY_GITHUB_TOKEN"
ENV_ACTIONS_TOKEN = "GITHUB_TOKEN"
ENV_APP_ID = "AUTODEPLOY_APP_ID"
ENV_APP_KEY = "AUTODEPLOY_APP_PRIVATE_KEY"
TOKEN_HINT = f"check the token in {ENV_TOKEN} or {ENV_ACTIONS_TOKEN} (wrong, expired or revoked?)"
APP_HINT = "check --app-id and the App's private key (was the key revoked?)"


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


def from_environment(
    env: Mapping[str, str],
    *,
    app_id: str | None = None,
    private_key_file: str | None = None,
    installation_id: int | None = None,
) -> Credentials:
    """The credentials the flags and variables name; raises InputError when there are none."""
    app_id = app_id or env.get(ENV_APP_ID) or None
    if app_id:
        if not app_id.strip().isdigit():
            raise InputError(
                f"--app-id {app_id!r} is not a GitHub App ID (a number, on the App's settings page)"
            )
        key = _private_key(env, private_key_file)
        return Credentials(f"GitHub App {app_id.strip()}", app=App(app_id.strip(), key, installation_id))
    if private_key_file or env.get(ENV_APP_KEY):
        if private_key_file:
            raise InputError("--private-key-file needs --app-id (the GitHub App the key belongs to)")
        report.secret(env[ENV_APP_KEY])
    for name in (ENV_TOKEN, ENV_ACTIONS_TOKEN):
        token = env.get(name, "").strip()
        if token:
            return Credentials(name, token=report.secret(token))
    raise InputError(
        f"no GitHub credentials: set {ENV_TOKEN} or {ENV_ACTIONS_TOKEN}, or pass --app-id with "
        f"{ENV_APP_KEY} or --private-key-file"
    )


def client_for(credentials: Credentials, repo: str, options: ClientOptions) -> Client:
    """A client for `repo`; for an App, after minting an installation token (two requests)."""
    from github.Auth import Token

    if credentials.app is None:
        assert credentials.token is not None
        return Client(Token(credentials.token), options, credentials_hint=TOKEN_HINT)
    token, granted = installation_token(credentials.app, repo, options)
    client = Client(Token(token), options, credentials_hint=APP_HINT)
    client.granted = granted
    return client


def installation_token(app: App, repo: str, options: ClientOptions) -> tuple[str, dict[str, str]]:
    """A token for the App's installation on `repo`, and the permissions GitHub granted it."""
    from github.Auth import AppAuth

    client = Client(AppAuth(app.app_id, app.private_key), options, credentials_hint=APP_HINT)
    installation = app.installation_id
    if installation is None:
        doing = f"finding GitHub App {app.app_id}'s installation on {repo}"
        found = client.request("GET", f"/repos/{repo}/installation", doing=doing, allow=(404,))
        if found.status == 404:
            raise InputError(
                f"{doing}: the App is not installed on {repo} (404); install it on that repository "
                "(the App's settings, Install App) or check --app-id and --gitops-repo"
            )
        installation = _int(found.data, "id", doing)
    doing = f"minting an installation token for GitHub App {app.app_id}"
    minted = client.request(
        "POST",
        f"/app/installations/{installation}/access_tokens",
        doing=doing,
        body={},
        needs="the App's permissions: Contents and Pull requests, read and write",
    )
    token = minted.data.get("token") if isinstance(minted.data, dict) else None
    if not isinstance(token, str) or not token:
        raise GitHubError(f"{doing}: GitHub's answer holds no token")
    permissions = minted.data.get("permissions")
    granted = {str(k): str(v) for k, v in permissions.items()} if isinstance(permissions, dict) else {}
    return report.secret(token), granted


def _private_key(env: Mapping[str, str], path: str | None) -> str:
    if path:
        try:
            with open(path, encoding="utf-8") as handle:
                key = handle.read()
        except OSError as exc:
            raise InputError(f"cannot read --private-key-file {path}: {exc.strerror}") from exc
    else:
        key = env.get(ENV_APP_KEY, "")
        if not key.strip():
            raise InputError(
                f"--app-id needs the App's private key: set {ENV_APP_KEY} or pass --private-key-file"
            )
    if "\\n" in key and "\n" not in key.strip():
        key = key.replace("\\n", "\n")  # a PEM pasted into a single-line secret
    key = report.secret(key.strip()) + "\n"
    _check_pem(key)
    return key


def _check_pem(key: str) -> None:
    from cryptography.hazmat.primitives.serialization import load_pem_private_key

    try:
        load_pem_private_key(key.encode("utf-8"), password=None)
    except (ValueError, TypeError) as exc:
        raise InputError(
            "the GitHub App private key is not an unencrypted PEM private key; download a new one "
            "from the App's settings (Private keys) and pass the whole .pem file"
        ) from exc


def _int(data: object, key: str, doing: str) -> int:
    value = data.get(key) if isinstance(data, dict) else None
    if not isinstance(value, int):
        raise GitHubError(f"{doing}: GitHub's answer has no {key}")
    return value
