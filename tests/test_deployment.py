"""The pure part of GitHub Deployments: environment names, the production rule, descriptions."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from autodeploy import deployment
from autodeploy.errors import InputError
from autodeploy.github.credentials import Credentials
from autodeploy.imageref import parse
from autodeploy.options import DeploymentOptions
from autodeploy.plan import Change, DeployRequest, Facts, Settings, Target, plan_deploy

EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "gitops"
DIGEST = "sha256:" + "c" * 64
COMMIT = "4e5f6a7b8c9d0e1f2a3b4c5d6e7f8a9b0c1d2e3f"


@pytest.mark.parametrize(
    ("template", "name"),
    [("{env}", "staging"), ("{app}-{env}", "api-staging"), ("k8s {env}", "k8s staging"), ("fixed", "fixed")],
)
def test_environment_names(template: str, name: str) -> None:
    assert (
        deployment.environment_name(deployment.check_template(template, "--x"), app="api", env="staging")
        == name
    )


@pytest.mark.parametrize(
    "template", ["{ENV}", "{app}-{tag}", "{env", "env}", "", "  ", "{env}\x1b[2J", "{env}\u202e"]
)
def test_bad_templates_are_one_line(template: str) -> None:
    with pytest.raises(
        InputError, match=r"^--deployment-environment '.*' (has an unknown|is not|holds)"
    ) as caught:
        deployment.check_template(template, "--deployment-environment")
    assert "\n" not in str(caught.value)


def test_a_url_with_a_control_character_is_refused() -> None:
    with pytest.raises(InputError, match="control character"):
        deployment.check_url("https://x.example/\x07", "--environment-url")


def test_an_environment_name_github_refuses() -> None:
    with pytest.raises(InputError, match="1 to 255"):
        deployment.environment_name("{app}{env}", app="a" * 200, env="b" * 100)


def test_production_matches_the_name_or_the_env() -> None:
    assert deployment.is_production(("production",), environment="production", env="production")
    assert deployment.is_production(("production",), environment="api-production", env="production")
    assert deployment.is_production(("prod*",), environment="api-prod-eu", env="prod-eu")
    assert not deployment.is_production(("production",), environment="staging", env="staging")
    assert not deployment.is_production((), environment="production", env="production")


def test_descriptions_fit_github_s_limit_on_one_line() -> None:
    assert deployment.fit("a\nb  c") == "a b c"
    long = deployment.fit("x" * 500)
    assert len(long) == deployment.DESCRIPTION_LIMIT and long.endswith("…")
    assert (
        deployment.description(app="api", tag="1.2.0", gitops_repo="team/gitops")
        == "api 1.2.0 through team/gitops"
    )


def plan_of(*targets: Target) -> tuple[Change, ...]:
    request = DeployRequest(
        targets=targets,
        commit=COMMIT,
        source_repo="my-team/my-api",
        settings=Settings(branch_template="d-{app}"),
    )
    files = {}
    for target in targets:
        path = f"{target.app}/{target.env}/image.yaml"
        file = EXAMPLE / path
        files[path] = file.read_text() if file.exists() else None
    return plan_deploy(request, Facts(files=files)).changes


def options(**kwargs: object) -> DeploymentOptions:
    return DeploymentOptions(credentials=Credentials("GITHUB_TOKEN", token="t"), **kwargs)  # type: ignore[arg-type]


def test_a_deployment_for_each_target_of_the_plan() -> None:
    image = parse("harbor.example.com/my-team/my-api:1.4.0")
    changes = plan_of(
        Target("my-api", "staging", image, DIGEST), Target("my-api", "production", image, DIGEST)
    )
    made = deployment.records(
        changes,
        options(environment_template="{app}-{env}", environment_url="https://{env}.example.com/{app}"),
        gitops_repo="my-team/gitops",
        pull_url="https://github.com/my-team/gitops/pull/7",
        pull_number=7,
    )
    assert [(r.repo, r.sha, r.environment, r.production) for r in made] == [
        ("my-team/my-api", COMMIT, "my-api-staging", False),
        ("my-team/my-api", COMMIT, "my-api-production", True),
    ]
    assert made[0].payload == {
        "app": "my-api",
        "env": "staging",
        "image": "harbor.example.com/my-team/my-api",
        "tag": "1.4.0",
        "digest": DIGEST,
        "gitops_repo": "my-team/gitops",
        "pull_request": {"url": "https://github.com/my-team/gitops/pull/7", "number": 7},
    }
    assert made[1].environment_url == "https://production.example.com/my-api"
    assert made[0].description == "my-api 1.4.0 through my-team/gitops"
    assert options().environment_url is None
    assert (
        deployment.records(changes, options(), gitops_repo="g/r", pull_url=None, pull_number=None)[
            0
        ].environment
        == "staging"
    )


def test_a_change_without_a_source_commit_gets_no_deployment() -> None:
    image = parse("harbor.example.com/my-team/my-api:1.4.0")
    (change,) = plan_of(Target("my-api", "staging", image, DIGEST))
    bare = replace(change, new=replace(change.new, commit=None))
    assert deployment.records((bare,), options(), gitops_repo="g/r", pull_url=None, pull_number=None) == ()
