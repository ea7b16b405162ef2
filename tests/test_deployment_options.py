"""The options of GitHub Deployments as the CLI's flags and the Action's inputs build them, and which
token writes the deployments."""

from __future__ import annotations

import argparse

import pytest

from autodeploy import report
from autodeploy.action import inputs as action_inputs
from autodeploy.cli import build, parser
from autodeploy.environment import Environment
from autodeploy.errors import InputError
from autodeploy.github import credentials
from autodeploy.options import DeploymentOptions, GitHubOptions

GITOPS = "team/gitops"


def github(env: Environment) -> GitHubOptions:
    secrets = credentials.Secrets(token=env.github_token, actions_token=env.actions_token)
    return credentials.github_options(GITOPS, secrets, env, base=None, max_wait=10)


def cli(argv: list[str], env: Environment, *, on_github: bool = True) -> DeploymentOptions | None:
    made = parser.Parser(prog="autodeploy wait")
    parser.deployment_flags(made)
    args = made.parse_args(argv)
    return build.deployment(args, env, github(env) if on_github else None)


ACTIONS = Environment.read(
    {"GITHUB_TOKEN": "ghs_workflowtoken", "AUTODEPLOY_GITHUB_TOKEN": "ghp_gitopstoken"}
)


def test_off_unless_asked_for() -> None:
    assert cli([], ACTIONS) is None
    assert action_inputs.deployment_options(action_inputs.read_inputs({}), ACTIONS, github(ACTIONS)) is None


def test_the_cli_defaults_and_the_workflow_s_token() -> None:
    made = cli(["--deployment"], ACTIONS)
    assert made is not None
    assert (made.environment_template, made.production, made.environment_url) == (
        "{env}",
        ("production",),
        None,
    )
    assert (made.credentials.source, made.credentials.token) == ("GITHUB_TOKEN", "ghs_workflowtoken")


def test_the_cli_flags() -> None:
    env = Environment.read(
        {"AUTODEPLOY_GITHUB_TOKEN": "ghp_gitopstoken", "AUTODEPLOY_DEPLOYMENT_TOKEN": "ghs_dep1"}
    )
    made = cli(
        [
            "--deployment",
            "--deployment-environment",
            "{app}-{env}",
            "--production-environment",
            "prod*",
            "--production-environment",
            "live",
            "--environment-url",
            "https://{env}.example.com/{app}",
        ],
        env,
    )
    assert made is not None
    assert made.environment_template == "{app}-{env}" and made.production == ("prod*", "live")
    assert made.environment_url == "https://{env}.example.com/{app}"
    assert (made.credentials.source, made.credentials.token) == ("AUTODEPLOY_DEPLOYMENT_TOKEN", "ghs_dep1")
    assert report.redact("ghs_dep1") == "***"
    assert "ghs_dep1" not in repr(env) and "ghs_dep1" not in repr(made)


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--environment-url", "https://x.example"], "--environment-url applies to --deployment only"),
        (["--deployment", "--deployment-environment", "{tag}"], "unknown placeholder {tag}"),
        (["--deployment", "--environment-url", "staging.example.com"], "is not an http(s) URL"),
        (["--deployment", "--environment-url", "https://{sha}.example.com"], "unknown placeholder {sha}"),
    ],
)
def test_bad_flags_are_one_line(argv: list[str], message: str) -> None:
    with pytest.raises(InputError) as caught:
        cli(argv, ACTIONS)
    assert message in str(caught.value) and "\n" not in str(caught.value)


def test_a_deployment_needs_the_gitops_repo_on_github() -> None:
    with pytest.raises(InputError, match="--deployment needs --gitops-repo"):
        cli(["--deployment"], ACTIONS, on_github=False)


def test_the_flags_show_in_help() -> None:
    made = parser.Parser(prog="autodeploy wait", formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.deployment_flags(made)
    text = made.format_help()
    for flag in ("--deployment", "--deployment-environment", "--production-environment", "--environment-url"):
        assert flag in text
    assert "deployments: write" in text


def action(values: dict[str, str], env: Environment = ACTIONS) -> DeploymentOptions | None:
    names = {**action_inputs.INPUTS, **action_inputs.DEPLOYMENT_INPUTS}
    given = {f"INPUT_{name.upper()}": values.get(name, default) for name, default in names.items()}
    read = action_inputs.read_inputs(given, names)
    return action_inputs.deployment_options(read, env, github(env))


def test_the_action_s_inputs() -> None:
    made = action(
        {
            "deployment": "true",
            "deployment-environment": "{app}-{env}",
            "production-environment": "production\nprod-*",
            "environment-url": "https://{env}.example.com",
        }
    )
    assert made is not None
    assert made.production == ("production", "prod-*") and made.environment_template == "{app}-{env}"
    assert made.credentials.source == "GITHUB_TOKEN"  # github-token: the workflow's, not the GitOps token
    chosen = action({"deployment": "true", "deployment-token": "ghs_frominput"})
    assert chosen is not None and chosen.credentials.token == "ghs_frominput"
    assert report.redact("ghs_frominput") == "***"


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"environment-url": "https://x.example"}, "input environment-url applies to deployment: true only"),
        ({"deployment": "yes please"}, "input deployment must be true or false"),
        ({"deployment": "true", "deployment-environment": "{ap}"}, "input deployment-environment '{ap}' has"),
        ({"environment-url": "https://x.example/\u202e"}, "input environment-url"),
    ],
)
def test_bad_inputs_are_one_line(values: dict[str, str], message: str) -> None:
    with pytest.raises(InputError) as caught:
        action(values)
    assert message in str(caught.value) and "\n" not in str(caught.value)


def test_the_deployment_token_is_a_secret() -> None:
    assert action_inputs.DEPLOYMENT_SECRETS == ("deployment-token",)


def test_the_github_options_name_who_writes_deployments() -> None:
    """What Connection.deployments uses when it is given no credentials of its own."""
    assert github(ACTIONS).deployment_credentials == credentials.Credentials(
        "GITHUB_TOKEN", token="ghs_workflowtoken"
    )
    env = Environment.read(
        {"AUTODEPLOY_GITHUB_TOKEN": "ghp_gitopstoken", "AUTODEPLOY_DEPLOYMENT_TOKEN": "ghs_dep2"}
    )
    secrets = credentials.Secrets(token=env.github_token, deployment_token=env.deployment_token)
    made = credentials.github_options(GITOPS, secrets, env, base=None, max_wait=10)
    assert made.deployment_credentials is not None and made.deployment_credentials.token == "ghs_dep2"
    assert made.credentials.token == "ghp_gitopstoken"
