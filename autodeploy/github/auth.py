"""Clients for the credentials `github.credentials` chose. For a GitHub App, autodeploy signs a JWT
with its key, looks up the App's installation on the GitOps repo (unless --app-installation-id
names it) and mints an installation token, which GitHub lets the App use for an hour; the minted
token is registered with `report.secret()` at once.
"""

from __future__ import annotations

from collections.abc import Mapping

from autodeploy import report
from autodeploy.errors import GitHubError, InputError
from autodeploy.github.client import Client
from autodeploy.github.connection import ClientOptions
from autodeploy.github.credentials import ENV_ACTIONS_TOKEN, ENV_TOKEN, App, Credentials

TOKEN_PERMISSIONS = {"contents": "write", "pull_requests": "write"}
DEPLOYMENT_PERMISSIONS = {"deployments": "write"}  # on the application repository, when asked for
WAIT_PERMISSIONS = {**TOKEN_PERMISSIONS, "statuses": "read"}  # the GitOps repo, for a command that waits
_NEEDS = {
    "contents": "Contents",
    "pull_requests": "Pull requests",
    "deployments": "Deployments",
    "statuses": "Commit statuses (read)",
}
TOKEN_HINT = f"check the token in {ENV_TOKEN} or {ENV_ACTIONS_TOKEN} (wrong, expired or revoked?)"
APP_HINT = "check --app-id and the App's private key (was the key revoked?)"


def client_for(
    credentials: Credentials,
    repo: str,
    options: ClientOptions,
    *,
    permissions: Mapping[str, str] = TOKEN_PERMISSIONS,
) -> Client:
    """A client for `repo`; for an App, after minting an installation token with `permissions` on
    `repo` alone (two requests)."""
    from github.Auth import Token

    if credentials.app is None:
        assert credentials.token is not None
        return Client(Token(credentials.token), options, credentials_hint=TOKEN_HINT)
    token, granted = installation_token(credentials.app, repo, options, permissions=permissions)
    client = Client(Token(token), options, credentials_hint=APP_HINT)
    client.granted = granted
    return client


def installation_token(
    app: App, repo: str, options: ClientOptions, *, permissions: Mapping[str, str] = TOKEN_PERMISSIONS
) -> tuple[str, dict[str, str]]:
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
        # Least privilege, as actions/create-github-app-token does: this repository, these permissions.
        body={"repositories": [repo.split("/", 1)[1]], "permissions": dict(permissions)},
        needs="the App's permissions: "
        + " and ".join(_NEEDS.get(name, name) for name in permissions)
        + ", read and write",
    )
    token = minted.data.get("token") if isinstance(minted.data, dict) else None
    if not isinstance(token, str) or not token:
        raise GitHubError(f"{doing}: GitHub's answer holds no token")
    permissions = minted.data.get("permissions")
    granted = {str(k): str(v) for k, v in permissions.items()} if isinstance(permissions, dict) else {}
    return report.secret(token), granted


def _int(data: object, key: str, doing: str) -> int:
    value = data.get(key) if isinstance(data, dict) else None
    if not isinstance(value, int):
        raise GitHubError(f"{doing}: GitHub's answer has no {key}")
    return value


def revoke(client: Client) -> None:
    """End an installation token before its hour is up (DELETE /installation/token); a token that is
    already gone is fine, and no failure here fails the run that made it."""
    client.request(
        "DELETE", "/installation/token", doing="revoking the installation token", allow=(401, 403, 404)
    )
