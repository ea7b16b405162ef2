"""How the Action's inputs become the CLI's argv, checked against the CLI's own parser."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from autodeploy import action, cli, envmap
from autodeploy.errors import InputError

GITHUB = {"GITHUB_REF": "refs/heads/main", "GITHUB_REPOSITORY_OWNER": "my-team"}


def inputs(**values: str) -> dict[str, str]:
    base = dict(action.INPUTS)
    base.update(
        {"gitops-repo": "my-team/my-team-gitops", "app": "my-api", "tag": "ghcr.io/my-team/my-api:1.4.0"}
    )
    base.update({k.replace("_", "-"): v for k, v in values.items()})
    return base


def argv(environ: dict[str, str] | None = None, **values: str) -> list[str]:
    command, args = action.build_argv(inputs(**values), GITHUB if environ is None else environ)
    assert args[0] == command
    cli.build_parser(args).parse_args(args)  # the CLI takes exactly this
    return args


def test_every_deploy_input_maps_to_its_flag() -> None:
    args = argv(
        env="production",
        image="ghcr.io/my-team/my-api",
        digest="sha256:" + "1" * 64,
        base_branch="trunk",
        branch="deploy-{env}-{app}",
        path_template="apps/{app}/{env}.yaml",
        labels="deploy\nprod",
        reviewers="alice, bob",
        auto_merge="development\nstaging",
        merge_method="squash",
        app_id="12345",
        allow_downgrade="true",
        dry_run="TRUE",
    )
    assert args == [
        "deploy",
        "--gitops-repo",
        "my-team/my-team-gitops",
        "--app",
        "my-api",
        "--env",
        "production",
        "--image",
        "ghcr.io/my-team/my-api",
        "--tag",
        "ghcr.io/my-team/my-api:1.4.0",
        "--digest",
        "sha256:" + "1" * 64,
        "--path-template",
        "apps/{app}/{env}.yaml",
        "--branch",
        "deploy-{env}-{app}",
        "--base-branch",
        "trunk",
        "--app-id",
        "12345",
        "--merge-method",
        "squash",
        "--label",
        "deploy",
        "--label",
        "prod",
        "--reviewer",
        "alice",
        "--reviewer",
        "bob",
        "--auto-merge-env",
        "development",
        "--auto-merge-env",
        "staging",
        "--dry-run",
        "--allow-downgrade",
    ]


def test_defaults_leave_the_cli_defaults_alone() -> None:
    assert argv() == [
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


def test_auto_merge_false_turns_it_off() -> None:
    assert argv(auto_merge="false")[-1] == "--no-auto-merge"
    assert argv(auto_merge="None")[-1] == "--no-auto-merge"
    assert argv(auto_merge="staging")[-2:] == ["--auto-merge-env", "staging"]


def test_a_bare_gitops_repo_name_takes_the_current_owner() -> None:
    assert argv(gitops_repo="my-team-gitops")[1:3] == ["--gitops-repo", "my-team/my-team-gitops"]


def test_rollback_maps_tag_to_to() -> None:
    args = argv(
        mode="rollback",
        env="production",
        image="ghcr.io/my-team/my-api",
        tag="1.3.0",
        reason="1.4.0 broke the login page",
        allow_retag="true",
    )
    assert args == [
        "rollback",
        "--gitops-repo",
        "my-team/my-team-gitops",
        "--app",
        "my-api",
        "--env",
        "production",
        "--image",
        "ghcr.io/my-team/my-api",
        "--to",
        "1.3.0",
        "--reason",
        "1.4.0 broke the login page",
        "--allow-retag",
    ]
    parsed = cli.build_parser(args).parse_args(args)
    assert (parsed.command, parsed.app, parsed.env, parsed.to, parsed.allow_retag) == (
        "rollback",
        "my-api",
        "production",
        "1.3.0",
        True,
    )


def test_rollback_by_steps_and_image_from_the_tag_reference() -> None:
    args = argv(mode="rollback", env="staging", tag="", image="ghcr.io/my-team/my-api", steps="2")
    assert args[-4:] == ["--image", "ghcr.io/my-team/my-api", "--steps", "2"]
    args = argv(
        mode="rollback", env="staging", tag="ghcr.io/my-team/my-api:1.3.0\nghcr.io/my-team/my-api:latest"
    )
    assert args[-4:] == ["--image", "ghcr.io/my-team/my-api", "--to", "1.3.0"]


@pytest.mark.parametrize(
    ("values", "message"),
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
    ],
)
def test_inputs_that_do_not_fit_the_mode(values: dict[str, str], message: str) -> None:
    with pytest.raises(InputError) as raised:
        argv(**values)
    assert message in raised.value.message


def test_env_auto_without_a_ref() -> None:
    with pytest.raises(InputError, match="env: auto needs GITHUB_REF"):
        argv(environ={})


def test_inputs_are_read_by_runner_names_and_underscore_names() -> None:
    read = action.read_inputs(
        {"INPUT_GITOPS-REPO": " a/b \n", "INPUT_PRIVATE_KEY": "k", "INPUT_DRY-RUN": "true"}
    )
    assert (read["gitops-repo"], read["private-key"], read["dry-run"], read["mode"]) == (
        "a/b",
        "k",
        "true",
        "deploy",
    )


def test_secrets_go_to_the_cli_s_variables() -> None:
    values = inputs(
        token="t0ken",
        github_token="ghs_w0rkflow",
        private_key="pem-key",
        registry_username="robot",
        registry_password="pa55",
    )
    assert action.variables(values) == {
        "AUTODEPLOY_GITHUB_TOKEN": "t0ken",
        "GITHUB_TOKEN": "ghs_w0rkflow",
        "AUTODEPLOY_APP_PRIVATE_KEY": "pem-key",
        "AUTODEPLOY_REGISTRY_USERNAME": "robot",
        "AUTODEPLOY_REGISTRY_PASSWORD": "pa55",
    }
    assert action.variables(inputs()) == {}
    assert not {"t0ken", "pem-key", "pa55"} & set(argv(**{"token": "t0ken", "private_key": "pem-key"}))


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
        args = action.build_argv(inputs(), {"GITHUB_REF": ref, "GITHUB_EVENT_PATH": str(event)})[1]
        return args[args.index("--env") + 1]

    event.write_text(json.dumps({"repository": {"default_branch": "trunk"}}))
    assert (env_for("refs/heads/trunk"), env_for("refs/heads/main")) == ("staging", "development")
    event.write_text("{}")  # no repository in the event: main
    assert env_for("refs/heads/main") == "staging"
    event.unlink()
    assert env_for("refs/heads/main") == "staging"
