"""GitHub Deployments in the application repository: one per deploy of a source commit to an
environment, with a status for each step (queued when the pull request opens, in_progress when it
merges, success or failure from Flux, error when cancelled). The environments page of that
repository then shows what runs where. Nothing is kept anywhere else: a deployment is found again
by its commit and environment.

Every method is one request (`latest_state` two), through the command's Client, so retries, rate
limits and the time budget are the ones every GitHub request has. What is sent is built by the
pure autodeploy.deployment.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

from autodeploy import deployment
from autodeploy.errors import GitHubError, InputError
from autodeploy.github.client import Client, Response
from autodeploy.github.models import field

if TYPE_CHECKING:
    from autodeploy.github.connection import ClientOptions
    from autodeploy.github.credentials import Credentials

NEEDS = "`deployments: write`"


class Deployments:
    """The deployments of one repository (OWNER/NAME), through a client whose token may write them."""

    def __init__(self, client: Client, repo: str, *, token_source: str = "the token") -> None:
        self.client = client
        self.repo = repo
        self.token_source = token_source  # names the token in errors: "GITHUB_TOKEN", "GitHub App 42"
        self.prefix = f"/repos/{repo}/deployments"

    def create(
        self,
        *,
        sha: str,
        environment: str,
        production: bool,
        payload: Mapping[str, object],
        description: str,
    ) -> int:
        """A new deployment of `sha` to `environment`; its id. GitHub neither merges anything into the
        ref (auto_merge false) nor waits for the commit's checks (required_contexts [])."""
        doing = f"creating a deployment of {sha[:12]} to {environment} in {self.repo}"
        got = self._send(
            "POST",
            self.prefix,
            doing,
            body={
                "ref": sha,
                "task": deployment.TASK,
                "auto_merge": False,
                "required_contexts": [],
                "payload": dict(payload),
                "environment": environment,
                "description": deployment.fit(description),
                "transient_environment": False,
                "production_environment": production,
            },
            allow=(404, 409, 422),
        )
        if got.status == 422 and "no ref found" in got.message.lower():
            raise InputError(
                f"{doing}: GitHub does not know commit {sha[:12]} in {self.repo} ({got.message}); deploy a "
                "commit that was pushed there, or check --commit and --source-repo"
            )
        if got.status != 201:  # a 202 would be a merge into the ref: never asked for
            raise self._failure(got, doing)
        return int(field(got.data, "id", doing=doing))

    def start(self, record: deployment.Record) -> int:
        """`create` for one of deployment.records(...): a deployment of this repository's."""
        if record.repo.lower() != self.repo.lower():
            raise ValueError(f"a deployment of {record.repo} is not one of {self.repo}")
        return self.create(
            sha=record.sha,
            environment=record.environment,
            production=record.production,
            payload=record.payload,
            description=record.description,
        )

    def set_state(
        self,
        deployment_id: int,
        state: str,
        *,
        description: str,
        log_url: str | None = None,
        environment_url: str | None = None,
    ) -> None:
        """A new status of the deployment. A success makes GitHub mark the earlier successful
        deployments of the environment inactive (auto_inactive), but for production environments."""
        if state not in deployment.STATES:
            raise ValueError(f"not a deployment state: {state!r}")
        doing = f"setting deployment {deployment_id} in {self.repo} to {state}"
        body: dict[str, object] = {"state": state, "description": deployment.fit(description)}
        if log_url:
            body["log_url"] = log_url
        if environment_url:
            body["environment_url"] = environment_url
        got = self._send("POST", f"{self.prefix}/{deployment_id}/statuses", doing, body=body, allow=(404,))
        if got.status != 201:
            raise self._failure(got, doing, missing=f"deployment {deployment_id}")

    def find(self, *, sha: str, environment: str) -> int | None:
        """The newest deployment autodeploy made of `sha` to `environment`, or None."""
        doing = f"looking for the deployment of {sha[:12]} to {environment} in {self.repo}"
        got = self._send(
            "GET",
            self.prefix,
            doing,
            params={"sha": sha, "environment": environment, "task": deployment.TASK, "per_page": 1},
            allow=(404,),
        )
        if got.status != 200:
            raise self._failure(got, doing)
        items = got.data if isinstance(got.data, list) else []
        return int(field(items[0], "id", doing=doing)) if items else None

    def latest_state(self, *, sha: str, environment: str) -> str | None:
        """The state of the newest status of that deployment; None without a deployment or status."""
        found = self.find(sha=sha, environment=environment)
        if found is None:
            return None
        doing = f"reading the statuses of deployment {found} in {self.repo}"
        got = self._send(
            "GET", f"{self.prefix}/{found}/statuses", doing, params={"per_page": 1}, allow=(404,)
        )
        if got.status != 200:
            raise self._failure(got, doing, missing=f"deployment {found}")
        items = got.data if isinstance(got.data, list) else []
        return str(field(items[0], "state", doing=doing)) if items else None

    # --------------------------------------------------------------------------------------------

    def _send(
        self,
        verb: str,
        path: str,
        doing: str,
        *,
        params: Mapping[str, object] | None = None,
        body: object = None,
        allow: tuple[int, ...] = (),
    ) -> Response:
        return self.client.request(
            verb, path, doing=doing, params=params, body=body, allow=allow, needs=f"{NEEDS} on {self.repo}"
        )

    def _failure(self, got: Response, doing: str, *, missing: str = "") -> GitHubError | InputError:
        if got.status == 404 and not missing:
            return InputError(
                f"{doing}: not found (404); {self.token_source} cannot see {self.repo} or its deployments: "
                f"grant {NEEDS} in the workflow's `permissions:`, or give a token for {self.repo} that has "
                "it as the input deployment-token (AUTODEPLOY_DEPLOYMENT_TOKEN)"
            )
        return self.client.failure(got, doing=doing, needs=f"{NEEDS} on {self.repo}", missing=missing)


def open_deployments(
    credentials: Credentials, repo: str, options: ClientOptions, *, gitops_repo: str | None = None
) -> Deployments:
    """Deployments of `repo` with `credentials` (credentials.for_deployments chose them for
    `gitops_repo`): a token as it is, or a GitHub App's installation token on `repo` alone with
    `deployments: write` alone (one or two requests, revoked by `close`)."""
    from autodeploy.github import auth
    from autodeploy.github.credentials import for_repo

    if gitops_repo is not None:
        credentials = for_repo(credentials, chosen_for=gitops_repo, repo=repo)
    client = auth.client_for(credentials, repo, options, permissions=auth.DEPLOYMENT_PERMISSIONS)
    return Deployments(client, repo, token_source=credentials.source)


def close(deployments: Deployments) -> None:
    """Revoke the installation token `open_deployments` minted for an App, if it did."""
    from autodeploy import report
    from autodeploy.errors import AutodeployError
    from autodeploy.github import auth

    if deployments.client.granted is None:
        return
    try:
        auth.revoke(deployments.client)
    except AutodeployError as exc:
        report.warn(
            f"the deployments' installation token could not be revoked (it expires within the hour): {exc}"
        )
