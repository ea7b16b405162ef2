"""The pure part of GitHub Deployments: environment names, the production rule, descriptions."""

from __future__ import annotations

import pytest

from autodeploy import deployment
from autodeploy.errors import InputError


@pytest.mark.parametrize(
    ("template", "name"),
    [("{env}", "staging"), ("{app}-{env}", "api-staging"), ("k8s {env}", "k8s staging"), ("fixed", "fixed")],
)
def test_environment_names(template: str, name: str) -> None:
    assert (
        deployment.environment_name(deployment.check_template(template, "--x"), app="api", env="staging")
        == name
    )


@pytest.mark.parametrize("template", ["{ENV}", "{app}-{tag}", "{env", "env}", "", "  "])
def test_bad_templates_are_one_line(template: str) -> None:
    with pytest.raises(InputError, match=r"^--deployment-environment '.*' (has an unknown|is not)") as caught:
        deployment.check_template(template, "--deployment-environment")
    assert "\n" not in str(caught.value)


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
