"""How the Action's inputs become typed options, and that the command line it logs builds the same
options through the CLI: the two entrypoints cannot drift apart."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from autodeploy.action import envmap, inputs
from autodeploy.cli import build
from autodeploy.cli.argv import argv
from autodeploy.cli.parser import build_parser
from autodeploy.environment import Environment
from autodeploy.errors import InputError
from autodeploy.imageref import parse
from autodeploy.options import DeployOptions, RollbackOptions

GITHUB = Environment(
    ref="refs/heads/main", repository_owner="my-team", sha="a" * 40, repository="my-team/my-api"
)
PEM = (
    rsa.generate_private_key(public_exponent=65537, key_size=2048)
    .private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    .decode()
)


def values(**given: str) -> dict[str, str]:
    base = dict(inputs.INPUTS)
    base.update(
        {
            "gitops-repo": "my-team/my-team-gitops",
            "app": "my-api",
            "tag": "ghcr.io/my-team/my-api:1.4.0",
            "token": "t0ken-value",
        }
    )
    base.update({k.replace("_", "-"): v for k, v in given.items()})
    return base


def options(environment: Environment = GITHUB, **given: str) -> DeployOptions | RollbackOptions:
    return inputs.options(values(**given), environment)


def through_the_cli(made: DeployOptions | RollbackOptions, env: Environment) -> object:
    """The options the CLI builds from the logged command line, given the secrets as variables."""
    args = argv(made)
    return build.options(build_parser(args[0]).parse_args(args), env)


def test_every_deploy_input_reaches_its_option() -> None:
    made = options(
        env="production",
        image="ghcr.io/my-team/my-api",
        digest="sha256:" + "1" * 64,
        base_branch="trunk",
        branch="deploy-{env}-{app}",
        protected_branches="main\nrelease/*",
        path_template="apps/{app}/{env}.yaml",
        labels="deploy\nprod",
        reviewers="alice, org/bob",
        auto_merge="development\nstaging",
        merge_method="squash",
        allow_downgrade="true",
        dry_run="TRUE",
        registry_username="robot",
        registry_password="pa55word",
    )
    assert isinstance(made, DeployOptions)
    target = made.targets[0]
    assert (target.app, target.env, str(target.image), target.digest) == (
        "my-api",
        "production",
        "ghcr.io/my-team/my-api:1.4.0",
        "sha256:" + "1" * 64,
    )
    github = made.location.github
    assert github is not None
    assert (github.repo, github.base_branch, github.credentials.token) == (
        "my-team/my-team-gitops",
        "trunk",
        "t0ken-value",
    )
    settings = made.write.settings
    assert settings.branch_template == "deploy-{env}-{app}"
    assert settings.protected_branches == ("main", "release/*")
    assert settings.path_template == "apps/{app}/{env}.yaml"
    assert settings.labels == ("deploy", "prod")
    assert settings.auto_merge_envs == ("development", "staging")
    assert (made.write.pull.reviewers, made.write.pull.merge_method) == (("alice", "org/bob"), "squash")
    assert (made.write.registry.username, made.write.registry.password) == ("robot", "pa55word")
    assert made.allow_downgrade and made.write.dry_run
    assert (made.workflow_commit, made.workflow_repo) == ("a" * 40, "my-team/my-api")


def test_defaults_are_the_cli_s_defaults() -> None:
    env = dataclasses.replace(GITHUB, github_token="t0ken-value")
    made = options()
    assert argv(made) == [
        "deploy",
        "--gitops-repo",
        "my-team/my-team-gitops",
        "--app",
        "my-api",
        "--env",
        "staging",
        "--tag",
        "ghcr.io/my-team/my-api:1.4.0",
    ]
    assert through_the_cli(made, env) == made


@pytest.mark.parametrize(
    "given",
    [
        {"env": "production", "digest": "sha256:" + "1" * 64, "branch": "deploy-{env}-{app}"},
        {"labels": "a\nb", "reviewers": "alice,org/team", "auto_merge": "false", "merge_method": "rebase"},
        {"auto_merge": "staging", "path_template": "apps/{app}/{env}.yaml", "base_branch": "trunk"},
        {"protected_branches": "release/*", "allow_downgrade": "true", "dry_run": "true"},
        {"app": "a\nb", "env": "development, staging", "branch": "deploy-all"},
        {"mode": "rollback", "image": "ghcr.io/my-team/my-api", "tag": "1.3.0", "reason": "broke login"},
        {"mode": "rollback", "tag": "", "image": "ghcr.io/my-team/my-api", "steps": "3", "allow_retag": "1"},
        {"wait": "true", "flux_context": "helmrelease/{app}/*\nkustomization/*{env}*", "on_timeout": "warn"},
        {
            "wait": "true",
            "wait_timeout": "90",
            "deployment": "true",
            "deployment_environment": "{app}-{env}",
            "production_environment": "prod*",
            "environment_url": "https://{env}.example.com",
        },  # fmt: skip
        {"mode": "rollback", "image": "ghcr.io/my-team/my-api", "tag": "1.3.0", "wait": "true"},
    ],
)
def test_the_logged_command_line_builds_the_same_options(given: dict[str, str]) -> None:
    env = dataclasses.replace(GITHUB, github_token="t0ken-value")
    made = options(**given)
    assert through_the_cli(made, env) == made


def test_an_app_s_credentials_and_the_registry_s_travel_as_variables_not_argv() -> None:
    made = options(app_id="12345", private_key=PEM, registry_username="robot", registry_password="pa55word")
    assert made.location.github and made.location.github.credentials.app
    args = argv(made)
    assert args[3:5] == ["--app-id", "12345"]
    assert not {"t0ken-value", "pa55word"} & set(args) and not any("PRIVATE KEY" in a for a in args)
    env = dataclasses.replace(
        GITHUB,
        app_private_key=PEM,
        registry_username="robot",
        registry_password="pa55word",
        github_token="t0ken-value",
    )
    assert through_the_cli(made, env) == made


def test_auto_merge_false_turns_it_off() -> None:
    assert options(auto_merge="false").write.settings.auto_merge_envs == ()
    assert options(auto_merge="None").write.settings.auto_merge_envs == ()
    assert options(auto_merge="staging").write.settings.auto_merge_envs == ("staging",)


def test_a_bare_gitops_repo_name_takes_the_current_owner() -> None:
    github = options(gitops_repo="my-team-gitops").location.github
    assert github is not None and github.repo == "my-team/my-team-gitops"


def test_rollback_takes_the_tag_as_the_version_to_go_back_to() -> None:
    made = options(
        mode="rollback",
        env="production",
        image="ghcr.io/my-team/my-api",
        tag="1.3.0",
        reason="1.4.0 broke the login page",
        allow_retag="true",
    )
    assert isinstance(made, RollbackOptions)
    assert (made.app, made.env, made.image, made.to, made.reason, made.allow_retag) == (
        "my-api",
        "production",
        parse("ghcr.io/my-team/my-api"),
        "1.3.0",
        "1.4.0 broke the login page",
        True,
    )


def test_rollback_by_steps_and_image_from_the_tag_reference() -> None:
    made = options(mode="rollback", env="staging", tag="", image="ghcr.io/my-team/my-api", steps="2")
    assert isinstance(made, RollbackOptions) and (made.steps, made.to) == (2, None)
    made = options(
        mode="rollback", env="staging", tag="ghcr.io/my-team/my-api:1.3.0\nghcr.io/my-team/my-api:latest"
    )
    assert isinstance(made, RollbackOptions)
    assert (made.image, made.to) == (parse("ghcr.io/my-team/my-api"), "1.3.0")


@pytest.mark.parametrize(
    ("given", "message"),
    [
        ({"mode": "rollback", "app": "a, b"}, "mode: rollback takes one app and one env"),
        ({"mode": "rollback", "env": "staging,production"}, "mode: rollback takes one app and one env"),
        ({"mode": "rollback", "tag": "1.3.0"}, "mode: rollback needs the image input"),
        (
            {"mode": "rollback", "tag": "1.3.0", "image": "ghcr.io/t/a", "steps": "2"},
            "tag (the tag to roll back to) or steps",
        ),
        (
            {"mode": "rollback", "allow_downgrade": "true"},
            "input allow-downgrade applies to mode: deploy only",
        ),
        ({"allow_retag": "yes"}, "input allow-retag applies to mode: rollback only"),
        ({"env": ""}, "input env is a list of environments, or auto on its own"),
        ({"merge_method": "fast-forward"}, "input merge-method must be one of merge, squash, rebase"),
        (
            {"mode": "rollback", "tag": "", "image": "ghcr.io/t/a", "steps": "0"},
            "input images-back must be a whole number",
        ),
        ({"registry_username": "robot"}, "give both inputs registry-username and registry-password"),
        ({"reviewers": "not a user"}, "input reviewers: 'not a user' is not a GitHub user"),
        ({"token": "", "github_token": ""}, "no GitHub credentials"),
        ({"app_id": "12345", "private_key": "not a key"}, "not an unencrypted RSA key in PEM form"),
    ],
)
def test_inputs_that_do_not_fit(given: dict[str, str], message: str) -> None:
    with pytest.raises(InputError) as raised:
        options(**given)
    assert message in raised.value.message


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("path-template", "{app}/{env}/image\n.yaml"),
        ("path-template", "{app}/{env}/image\t.yaml"),
        ("path-template", "{app}/{env}/\u202eimage.yaml"),
        ("branch", "deploy-\u202e{app}"),
        ("labels", "auto\u200b-deploy"),
        ("reason", "it broke\x1b[31m"),
        ("gitops-dir", "gitops\u2066"),
    ],
)
def test_control_and_bidi_characters_are_refused(name: str, value: str) -> None:
    given = {name: value} if name != "reason" else {"mode": "rollback", "image": "ghcr.io/t/a", name: value}
    if name == "gitops-dir":
        given["gitops-repo"] = ""
    with pytest.raises(InputError, match="holds the control character U\\+"):
        inputs.options(values(**{k.replace("-", "_"): v for k, v in given.items()}), GITHUB)


def test_env_auto_without_a_ref() -> None:
    with pytest.raises(InputError, match="env: auto needs GITHUB_REF"):
        options(Environment())


def test_inputs_are_read_by_runner_names_and_underscore_names() -> None:
    read = inputs.read_inputs(
        {"INPUT_GITOPS-REPO": " a/b \n", "INPUT_PRIVATE_KEY": "k3y-value", "INPUT_DRY-RUN": "true"}
    )
    assert (read["gitops-repo"], read["private-key"], read["dry-run"], read["mode"]) == (
        "a/b",
        "k3y-value",
        "true",
        "deploy",
    )


def test_the_default_map_is_today_s_action() -> None:
    mapping = envmap.parse_map("")
    assert envmap.environment("refs/tags/v1.0.0", "main", mapping) == "production"
    assert envmap.environment("refs/heads/main", "main", mapping) == "staging"
    assert envmap.environment("refs/heads/develop", "main", mapping) == "development"
    assert envmap.environment("refs/heads/main", "master", mapping) == "development"


def test_env_map_globs_come_first_in_order() -> None:
    mapping = envmap.parse_map("refs/heads/hotfix/*: production\nrefs/heads/*: staging, tag: prod")
    assert envmap.environment("refs/heads/hotfix/1", "main", mapping) == "production"
    assert envmap.environment("refs/heads/feature", "main", mapping) == "staging"
    assert envmap.environment("refs/tags/v2", "main", mapping) == "prod"
    with pytest.raises(InputError, match=r"env 'a/\.\./b' is not a plain relative path"):
        envmap.parse_map("branch: a/../b")


def test_default_branch_from_the_event(tmp_path: Path) -> None:
    event = tmp_path / "event.json"

    def env_for(ref: str) -> str:
        env = Environment.read({"GITHUB_REF": ref, "GITHUB_EVENT_PATH": str(event)})
        made = options(env)
        assert isinstance(made, DeployOptions)
        return made.targets[0].env

    event.write_text(json.dumps({"repository": {"default_branch": "trunk"}}))
    assert (env_for("refs/heads/trunk"), env_for("refs/heads/main")) == ("staging", "development")
    event.write_text("{}")  # no repository in the event: main
    assert env_for("refs/heads/main") == "staging"
    event.unlink()
    assert env_for("refs/heads/main") == "staging"


def test_limits_and_the_registry_host_round_trip_too() -> None:
    made = options(
        deadline="45",
        registry_username="robot",
        registry_password="pa55word",
        registry_host="Harbor.Example.com",
    )
    assert made.deadline == 45 and made.write.registry.credentials_host == "harbor.example.com"
    assert argv(made)[-4:] == ["--registry-host", "harbor.example.com", "--deadline", "45"]
    env = dataclasses.replace(
        GITHUB, github_token="t0ken-value", registry_username="robot", registry_password="pa55word"
    )
    assert through_the_cli(made, env) == made


def test_a_targets_file_round_trips_and_excludes_app(tmp_path: Path) -> None:
    listed = tmp_path / "targets.yaml"
    listed.write_text("targets:\n  - {app: api, env: staging}\n  - {app: web, env: staging, tag: 2.0.0}\n")
    made = options(app="", targets=str(listed), tag="ghcr.io/my-team/my-api:1.4.0", digest="")
    assert isinstance(made, DeployOptions)
    assert [(t.app, t.env, str(t.image)) for t in made.targets] == [
        ("api", "staging", "ghcr.io/my-team/my-api:1.4.0"),
        ("web", "staging", "ghcr.io/my-team/my-api:2.0.0"),
    ]
    assert argv(made)[3:7] == ["--targets", str(listed), "--tag", "ghcr.io/my-team/my-api:1.4.0"]
    env = dataclasses.replace(GITHUB, github_token="t0ken-value")
    assert through_the_cli(made, env) == made
    with pytest.raises(InputError, match="give the input app \\(with env\\) or targets, not both"):
        options(targets=str(listed))
