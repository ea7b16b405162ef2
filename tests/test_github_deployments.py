"""GitHub Deployments in the application repository: the adapter against the fake, which keeps
deployments and their statuses as GitHub does (auto_inactive, filters, permissions)."""

from __future__ import annotations

import pytest
from github.Auth import Token
from github_fake import WRITE_ALL, FakeGitHub
from github_fake_deployments import DEPLOYMENT_ROUTES, DEPLOYMENTS, STATUSES
from github_world import GITOPS, SOURCE, World
from test_github_auth import APP_ID, keypair  # noqa: F401  (a fixture)

from autodeploy import deployment, report
from autodeploy.adapters import Connection
from autodeploy.errors import GitHubError, InputError
from autodeploy.github import credentials
from autodeploy.github.client import Client
from autodeploy.github.connection import ClientOptions
from autodeploy.github.deployments import Deployments, close, open_deployments
from autodeploy.options import DeploymentOptions, GitHubOptions

DEPLOY_TOKEN = "ghs_deploy0123456789abcdefghijklmnopqrstu"
PR = "https://github.com/team/gitops/pull/12"


@pytest.fixture
def world(github: FakeGitHub) -> World:
    made = World(github)
    github.add_token(DEPLOY_TOKEN, {"deployments": "write", "metadata": "read"}, repos={SOURCE})
    return made


def deployments(world: World, token: str = DEPLOY_TOKEN, repo: str = SOURCE) -> Deployments:
    client = Client(
        Token(token), ClientOptions(api_url=world.fake.api_url, sleep=lambda s: None), credentials_hint="x"
    )
    return Deployments(client, repo, token_source="GITHUB_TOKEN")


def create(made: Deployments, sha: str, environment: str = "staging", *, production: bool = False) -> int:
    return made.create(
        sha=sha,
        environment=environment,
        production=production,
        payload=deployment.payload(
            image="registry.example.com/team/api",
            tag="1.2.0",
            digest="sha256:" + "a" * 64,
            gitops_repo=GITOPS,
            pull_url=PR,
            pull_number=12,
            app="api",
            env=environment,
        ),
        description=deployment.description(app="api", tag="1.2.0", gitops_repo=GITOPS),
    )


def states(world: World, deployment_id: int) -> list[str]:
    found = next(d for d in world.fake.deployments_of(SOURCE) if d.id == deployment_id)
    return [s.state for s in found.statuses]


def test_a_deploy_s_lifecycle_queued_in_progress_success(world: World) -> None:
    made = deployments(world)
    sha = world.commits[3]
    mark = world.mark()

    number = create(made, sha)
    made.set_state(number, "queued", description="pull request #12 opened", log_url=PR)
    made.set_state(number, "in_progress", description="merged by alice")
    made.set_state(
        number,
        "success",
        description="kustomization/apps-staging/0c9c2e41: reconciliation succeeded",
        environment_url="https://staging.example.com",
    )

    assert world.calls_since(mark) == [f"POST {DEPLOYMENTS}"] + [f"POST {STATUSES}"] * 3
    sent = world.fake.calls[mark].body
    assert sent["ref"] == sha and sent["environment"] == "staging" and sent["task"] == deployment.TASK
    assert sent["auto_merge"] is False and sent["required_contexts"] == []
    assert sent["production_environment"] is False and sent["transient_environment"] is False
    assert sent["payload"] == {
        "app": "api",
        "env": "staging",
        "image": "registry.example.com/team/api",
        "tag": "1.2.0",
        "digest": "sha256:" + "a" * 64,
        "gitops_repo": GITOPS,
        "pull_request": {"url": PR, "number": 12},
    }
    stored = world.fake.deployments_of(SOURCE)[-1]
    assert (stored.id, stored.sha, stored.environment) == (number, sha, "staging")
    assert [(s.state, s.log_url, s.environment_url) for s in stored.statuses] == [
        ("queued", PR, ""),
        ("in_progress", "", ""),
        ("success", "", "https://staging.example.com"),
    ]
    assert "environment_url" not in world.fake.calls[mark + 2].body  # nothing sent that was not given
    assert made.find(sha=sha, environment="staging") == number
    assert made.latest_state(sha=sha, environment="staging") == "success"


@pytest.mark.parametrize(
    ("state", "description"),
    [("failure", "kustomization/apps-staging/0c9c2e41: health check failed"), ("error", "cancelled")],
)
def test_failure_and_cancelled_end_the_deployment(world: World, state: str, description: str) -> None:
    made = deployments(world)
    number = create(made, world.commits[2])
    made.set_state(number, "queued", description="opened", log_url=PR)
    made.set_state(number, state, description=description)
    assert states(world, number) == ["queued", state]
    assert world.fake.deployments_of(SOURCE)[-1].statuses[-1].description == description
    assert made.latest_state(sha=world.commits[2], environment="staging") == state


def test_a_success_makes_the_previous_deployment_of_the_environment_inactive(world: World) -> None:
    made = deployments(world)
    first = create(made, world.commits[2])
    made.set_state(first, "success", description="reconciled")
    other_env = create(made, world.commits[2], "development")
    made.set_state(other_env, "success", description="reconciled")
    failed = create(made, world.commits[3])
    made.set_state(failed, "failure", description="health check failed")
    assert states(world, first) == ["success"]  # only a success retires the one before

    second = create(made, world.commits[4])
    made.set_state(second, "queued", description="opened")
    assert states(world, first) == ["success"]
    made.set_state(second, "success", description="reconciled")

    assert states(world, first) == ["success", "inactive"]
    assert states(world, failed) == ["failure"]  # it never had a success
    assert states(world, other_env) == ["success"]  # another environment
    assert made.latest_state(sha=world.commits[2], environment="staging") == "inactive"


def test_production_deployments_stay_as_they_are_as_github_documents(world: World) -> None:
    """auto_inactive touches 'non-transient, non-production environment deployments' only."""
    made = deployments(world)
    first = create(made, world.commits[2], "production", production=True)
    made.set_state(first, "success", description="reconciled")
    second = create(made, world.commits[3], "production", production=True)
    made.set_state(second, "success", description="reconciled")
    assert states(world, first) == ["success"]
    assert world.fake.deployments_of(SOURCE)[-1].production


def test_find_by_source_commit_and_environment_alone(world: World) -> None:
    made = deployments(world)
    sha = world.commits[5]
    assert made.find(sha=sha, environment="staging") is None
    older = create(made, sha)
    create(made, sha, "production", production=True)
    create(made, world.commits[4])
    newer = create(made, sha)
    # A job with `environment: staging` makes a deployment of its own, task "deploy": never ours.
    job = made.client.request(
        "POST",
        f"/repos/{SOURCE}/deployments",
        doing="a job's deployment",
        body={"ref": sha, "environment": "staging", "required_contexts": [], "auto_merge": False},
    )

    mark = world.mark()
    assert made.find(sha=sha, environment="staging") == newer != older
    assert world.calls_since(mark) == [f"GET {DEPLOYMENTS}"]
    assert world.fake.calls[mark].query == {
        "sha": sha,
        "environment": "staging",
        "task": deployment.TASK,
        "per_page": "1",
    }
    assert job.data["id"] > newer

    mark = world.mark()
    assert made.latest_state(sha=sha, environment="staging") is None  # created, no status yet
    assert world.calls_since(mark) == [f"GET {DEPLOYMENTS}", f"GET {STATUSES}"]
    assert made.find(sha=world.commits[1], environment="staging") is None
    assert made.latest_state(sha=sha, environment="qa") is None


def test_a_token_without_the_permission_is_one_line_and_writes_nothing(world: World) -> None:
    world.fake.add_token("ghs_readonly", {"deployments": "read", "metadata": "read"})
    made = deployments(world, "ghs_readonly")
    mark = world.mark()
    with pytest.raises(GitHubError) as caught:
        create(made, world.commits[3])
    message = str(caught.value)
    assert "\n" not in message
    assert "403" in message and f"`deployments: write` on {SOURCE}" in message
    assert world.calls_since(mark) == [f"POST {DEPLOYMENTS}"]  # not retried
    assert world.fake.deployments_of(SOURCE) == []


def test_a_token_for_the_gitops_repo_alone_cannot_see_the_app_repo(world: World) -> None:
    world.fake.add_token("ghs_gitopsonly", {"contents": "write", "deployments": "write"}, repos={GITOPS})
    made = deployments(world, "ghs_gitopsonly")
    mark = world.mark()
    with pytest.raises(InputError) as caught:
        create(made, world.commits[3])
    message = str(caught.value)
    assert "\n" not in message and "404" in message
    assert f"GITHUB_TOKEN cannot see {SOURCE}" in message and "deployment-token" in message
    with pytest.raises(InputError, match="cannot see"):
        made.find(sha=world.commits[3], environment="staging")
    assert len(world.calls_since(mark)) == 2
    assert world.fake.deployments_of(SOURCE) == []


def test_a_commit_github_does_not_know_is_the_user_s_error(world: World) -> None:
    with pytest.raises(InputError, match=r"does not know commit 000000000000 in team/api .*--commit"):
        create(deployments(world), "0" * 40)
    assert world.fake.deployments_of(SOURCE) == []


def test_a_missing_deployment_and_a_long_description(world: World) -> None:
    made = deployments(world)
    with pytest.raises(InputError, match="deployment 999 exists"):
        made.set_state(999, "success", description="x")
    number = create(made, world.commits[3])
    made.set_state(number, "failure", description="upgrade failed: " + "x" * 300)
    sent = world.fake.deployments_of(SOURCE)[-1].statuses[-1].description
    assert len(sent) == deployment.DESCRIPTION_LIMIT and sent.endswith("…")
    with pytest.raises(ValueError):
        made.set_state(number, "done", description="x")


def test_a_5xx_is_retried_by_the_client(world: World) -> None:
    made = deployments(world)
    world.fake.fail(502, method="POST", template=DEPLOYMENTS)
    mark = world.mark()
    create(made, world.commits[3])
    assert world.calls_since(mark) == [f"POST {DEPLOYMENTS}"] * 2
    assert len(world.fake.deployments_of(SOURCE)) == 1


# -- credentials ----------------------------------------------------------------------------------


def test_which_token_writes_deployments() -> None:
    gitops = credentials.Credentials("AUTODEPLOY_GITHUB_TOKEN", token="ghp_gitops")
    secrets = credentials.Secrets(
        token="ghp_gitops", actions_token="ghs_workflow", deployment_token=" ghs_d "
    )
    chosen = credentials.for_deployments(secrets, gitops)
    assert (chosen.source, chosen.token) == ("AUTODEPLOY_DEPLOYMENT_TOKEN", "ghs_d")
    assert report.redact("ghs_d") == "***"

    secrets = credentials.Secrets(token="ghp_gitops", actions_token="ghs_workflow")
    chosen = credentials.for_deployments(secrets, gitops)
    assert (chosen.source, chosen.token) == ("GITHUB_TOKEN", "ghs_workflow")  # the app repo's own

    assert credentials.for_deployments(credentials.Secrets(token="ghp_gitops"), gitops) is gitops


def test_an_app_installation_is_looked_up_again_for_another_owner(keypair) -> None:  # noqa: F811
    app = credentials.Credentials("GitHub App 1", app=credentials.App("1", keypair[0], 77))
    assert credentials.for_repo(app, chosen_for=GITOPS, repo=SOURCE) is app
    other = credentials.for_repo(app, chosen_for=GITOPS, repo="else/api")
    assert other.app is not None and other.app.installation_id is None and other.source == app.source
    token = credentials.Credentials("GITHUB_TOKEN", token="t")
    assert credentials.for_repo(token, chosen_for=GITOPS, repo="else/api") is token


def installed(github: FakeGitHub, public_key: str) -> World:
    """The world, with an App installed on both repositories that may write deployments."""
    world = World(github)
    github.add_app(APP_ID, public_key, {GITOPS: 77, SOURCE: 77}, {**WRITE_ALL, "deployments": "write"})
    return world


def test_a_github_app_mints_a_token_for_deployments_in_the_app_repo_alone(
    github: FakeGitHub,
    keypair,  # noqa: F811
) -> None:
    world = installed(github, keypair[1])
    app = credentials.Credentials(f"GitHub App {APP_ID}", app=credentials.App(str(APP_ID), keypair[0]))
    options = ClientOptions(api_url=github.api_url, sleep=lambda s: None)
    mark = world.mark()

    made = open_deployments(app, SOURCE, options)
    create(made, world.commits[3])
    close(made)

    assert world.calls_since(mark) == [
        "GET /repos/{owner}/{repo}/installation",
        "POST /app/installations/{installation_id}/access_tokens",
        f"POST {DEPLOYMENTS}",
        "DELETE /installation/token",
    ]
    assert github.calls[mark + 1].body == {"repositories": ["api"], "permissions": {"deployments": "write"}}
    minted = github.calls[mark + 1].answer["token"]
    assert minted in github.revoked and report.redact(minted) == "***"
    assert github.tokens.get(minted) is None  # revoked: gone


def test_a_plain_token_is_used_as_it_is_and_not_revoked(world: World) -> None:
    made = open_deployments(
        credentials.Credentials("GITHUB_TOKEN", token=DEPLOY_TOKEN),
        SOURCE,
        ClientOptions(api_url=world.fake.api_url, sleep=lambda s: None),
    )
    mark = world.mark()
    close(made)
    assert world.calls_since(mark) == []
    assert made.token_source == "GITHUB_TOKEN"


def test_the_fake_s_deployment_routes_are_documented(github: FakeGitHub) -> None:
    for method, template in DEPLOYMENT_ROUTES:
        concrete = template.replace("{owner}/{repo}", "team/api").replace("{deployment_id}", "7")
        assert github._route(concrete)[0] == template


def test_an_app_installation_id_given_for_the_gitops_repo_serves_the_same_owner(
    github: FakeGitHub,
    keypair,  # noqa: F811
) -> None:
    world = installed(github, keypair[1])
    app = credentials.Credentials("GitHub App", app=credentials.App(str(APP_ID), keypair[0], 77))
    options = ClientOptions(api_url=github.api_url, sleep=lambda s: None)
    mark = world.mark()
    open_deployments(app, SOURCE, options, gitops_repo=GITOPS)
    assert world.calls_since(mark) == ["POST /app/installations/{installation_id}/access_tokens"]


def test_an_app_without_the_deployments_permission_is_one_line(
    github: FakeGitHub,
    keypair,  # noqa: F811
) -> None:
    World(github)
    github.add_app(APP_ID, keypair[1], {GITOPS: 77, SOURCE: 77}, {"contents": "write"})
    app = credentials.Credentials("GitHub App", app=credentials.App(str(APP_ID), keypair[0]))
    with pytest.raises(GitHubError) as caught:
        open_deployments(app, SOURCE, ClientOptions(api_url=github.api_url, sleep=lambda s: None))
    assert "deployments" in str(caught.value) and "\n" not in str(caught.value)
    assert github.deployments_of(SOURCE) == []


def test_a_deploy_s_deployments_follow_its_pull_request_and_show_what_runs_where(world: World) -> None:
    """The deploy opens a pull request; each target's deployment is queued with it, in progress once
    it merges and a success once Flux reports: four requests a target, none kept anywhere else."""
    options = DeploymentOptions(
        credentials=credentials.Credentials("GITHUB_TOKEN", token=DEPLOY_TOKEN),
        environment_template="{app}-{env}",
    )
    made = deployments(world)
    for tag, commit in (("1.1.0", 2), ("1.2.0", 3)):
        outcome = world.deploy("api", "staging", tag, commit)
        assert outcome.applied is not None and outcome.applied.pr_number is not None
        records = deployment.records(
            outcome.plan.changes,
            options,
            gitops_repo=GITOPS,
            pull_url=outcome.applied.pr_url,
            pull_number=outcome.applied.pr_number,
        )
        assert [(r.repo, r.sha, r.environment) for r in records] == [
            (SOURCE, world.commits[commit], "api-staging")
        ]
        (record,) = records
        mark = world.mark()
        number = made.start(record)
        made.set_state(number, "queued", description="pull request opened", log_url=outcome.applied.pr_url)
        world.merge_pull(outcome.applied.pr_number)
        made.set_state(number, "in_progress", description="merged")
        made.set_state(number, "success", description="reconciliation succeeded")
        assert len(world.calls_since(mark)) == 4

    shown = world.fake.environments(SOURCE)
    assert list(shown) == ["api-staging"]
    assert shown["api-staging"].payload["tag"] == "1.2.0" and shown["api-staging"].state == "success"
    assert shown["api-staging"].statuses[0].log_url.endswith("/pull/2")
    assert [d.state for d in world.fake.deployments_of(SOURCE)] == ["inactive", "success"]
    assert made.latest_state(sha=world.commits[3], environment="api-staging") == "success"
    with pytest.raises(ValueError, match="not one of team/other"):
        deployments(world, repo="team/other").start(record)


def test_the_command_s_connection_opens_them_once_a_repository_and_revokes_what_it_minted(
    github: FakeGitHub,
    keypair,  # noqa: F811
) -> None:
    world = installed(github, keypair[1])
    app = credentials.Credentials(f"GitHub App {APP_ID}", app=credentials.App(str(APP_ID), keypair[0], 77))
    connection = Connection(GitHubOptions(repo=GITOPS, credentials=app, api_url=github.api_url))
    mark = world.mark()

    made = connection.deployments(SOURCE)  # GitHubOptions.deployment_credentials, else the GitOps ones
    assert connection.deployments("TEAM/api", app) is made  # one token for the repository
    create(made, world.commits[3])
    connection.client()  # the GitOps repo's own token
    connection.close()

    assert world.calls_since(mark) == [
        "POST /app/installations/{installation_id}/access_tokens",  # installation 77: same owner
        f"POST {DEPLOYMENTS}",
        "POST /app/installations/{installation_id}/access_tokens",
        "DELETE /installation/token",
        "DELETE /installation/token",
    ]
    assert len(github.revoked) == 2
