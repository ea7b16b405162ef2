"""The promotion's health gate: the source version must have succeeded, by its GitHub Deployment in
the source environment or by Flux's commit statuses on the GitOps commits that held it."""

from __future__ import annotations

import json
from typing import Any

import pytest
from github_fake import TOKEN, WRITE_ALL, FakeGitHub
from github_world import SOURCE, World
from test_github_auth import APP_ID, keypair  # noqa: F401 (a fixture)
from test_promote import PROMOTE, staged

from autodeploy import cli
from autodeploy.github.deployments import Deployments

STATUSES = "/repos/{owner}/{repo}/deployments/{deployment_id}/statuses"


def world_with_staging(github: FakeGitHub) -> World:
    world = World(github)
    github.add_token(TOKEN, {**WRITE_ALL, "statuses": "read", "deployments": "write"})
    staged(world, "api", "1.1.0", 2)  # merged: the base's head brought it
    return world


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, dict[str, Any] | None, str]:
    code = cli.main([*PROMOTE, *args, "--json"])
    out, err = capsys.readouterr()
    return code, json.loads(out) if code == 0 else None, err


def deployed(world: World, commit: int, state: str, environment: str = "staging") -> None:
    deployments = Deployments(world.client(), SOURCE)
    number = deployments.create(
        sha=world.commits[commit], environment=environment, production=False, payload={}, description="x"
    )
    deployments.set_state(number, state, description=state)


def test_flux_success_on_the_commit_that_brought_it(
    github: FakeGitHub, env: None, capsys: pytest.CaptureFixture[str]
) -> None:
    world = world_with_staging(github)
    github.flux_reconciles(world.gitops, "apps-staging", on=world.gitops.refs["main"], after=0)
    mark = world.mark()
    code, found, err = run(capsys, "--app", "api")
    assert code == 0, err
    assert found is not None and found["changed"] and found["promotions"][0]["health"] == "healthy"
    assert (
        "Flux reported kustomization/apps-staging/0c9c2e41 success" in found["promotions"][0]["health_reason"]
    )
    calls = world.calls_since(mark)
    assert not any("deployments" in call for call in calls)  # Flux decided
    # The two environments' files (2), Flux's statuses (1), then a first deploy's 8 (the guard included).
    assert calls[:3] == ["POST /graphql"] * 3 and len(calls) == 11, calls


def test_flux_success_on_a_later_commit_that_still_holds_it(
    github: FakeGitHub, env: None, capsys: pytest.CaptureFixture[str]
) -> None:
    world = world_with_staging(github)
    brought = world.gitops.refs["main"]
    world.deploy("web", "development", "dev-1", 3)
    world.merge_pull(world.gitops.open_pull("update-development-web").number)  # type: ignore[union-attr]
    assert world.gitops.refs["main"] != brought
    github.flux_reconciles(world.gitops, "apps-production", after=0)  # another environment: no say
    github.flux_reconciles(world.gitops, "apps-staging", after=0)  # on the head, as Flux does
    code, found, err = run(capsys, "--app", "api")
    assert code == 0, err
    assert found is not None and world.gitops.refs["main"][:12] in found["promotions"][0]["health_reason"]


def test_a_failed_version_is_refused_even_with_the_gate_off(
    github: FakeGitHub, env: None, capsys: pytest.CaptureFixture[str]
) -> None:
    world = world_with_staging(github)
    github.flux_reconciles(
        world.gitops, "apps-staging", state="failure", description="api: CrashLoopBackOff", after=0
    )
    for extra in ((), ("--no-require-healthy",)):
        code, _, err = run(capsys, "--app", "api", *extra)
        assert code == 1 and err.count("autodeploy: error:") == 1, err
        assert "api/staging runs 1.1.0" in err and "which failed" in err and "CrashLoopBackOff" in err
        assert "--no-require-healthy" not in err
    assert "prod-release" not in world.gitops.refs


def test_the_newest_verdict_decides(
    github: FakeGitHub, env: None, capsys: pytest.CaptureFixture[str]
) -> None:
    world = world_with_staging(github)
    github.flux_reconciles(world.gitops, "apps-staging", state="failure", after=0)
    world.deploy("web", "development", "dev-1", 3)
    world.merge_pull(world.gitops.open_pull("update-development-web").number)  # type: ignore[union-attr]
    github.flux_reconciles(world.gitops, "apps-staging", after=0)  # recovered on the next commit
    code, _, err = run(capsys, "--app", "api")
    assert code == 0, err


def test_a_deployment_s_success_is_enough(
    github: FakeGitHub, env: None, capsys: pytest.CaptureFixture[str]
) -> None:
    world = world_with_staging(github)
    deployed(world, 2, "success")
    deployed(world, 2, "failure", environment="production")  # another environment: no say
    mark = world.mark()
    code, found, err = run(capsys, "--app", "api")
    assert code == 0, err
    assert (
        found is not None
        and found["promotions"][0]["health_reason"] == "its GitHub Deployment in staging is success"
    )
    calls = world.calls_since(mark)
    assert calls.count("GET /repos/{owner}/{repo}/deployments") == 1 and calls.count(f"GET {STATUSES}") == 1


def test_a_failed_deployment_without_flux_is_refused(
    github: FakeGitHub, env: None, capsys: pytest.CaptureFixture[str]
) -> None:
    world = world_with_staging(github)
    deployed(world, 2, "failure")
    code, _, err = run(capsys, "--app", "api")
    assert code == 1 and "its GitHub Deployment in staging is failure" in err


def test_the_deployment_environment_template(
    github: FakeGitHub, env: None, capsys: pytest.CaptureFixture[str]
) -> None:
    world = world_with_staging(github)
    deployed(world, 2, "success", environment="api-staging")
    assert run(capsys, "--app", "api")[0] == 1
    code, _, err = run(capsys, "--app", "api", "--deployment-environment", "{app}-{env}")
    assert code == 0, err


def test_unknown_is_refused_with_the_way_out_and_all_is_judged_app_by_app(
    github: FakeGitHub, env: None, capsys: pytest.CaptureFixture[str]
) -> None:
    world = world_with_staging(github)
    staged(world, "web", "1.2.0", 3)
    deployed(world, 3, "success")  # web's; api has nothing
    code, _, err = run(capsys, "--all")
    error = err.splitlines()[-1]
    assert code == 1 and "api/staging runs 1.1.0" in error and "web/" not in error
    assert "health is unknown" in error and "pass --no-require-healthy to promote it anyway" in error
    code, found, err = run(capsys, "--all", "--no-require-healthy")
    assert code == 0, err
    assert found is not None and {p["app"]: p["health"] for p in found["promotions"]} == {
        "api": "unknown",
        "web": "healthy",
    }


def test_a_github_app_s_token_may_read_the_statuses(
    github: FakeGitHub,
    env: None,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    keypair: Any,
) -> None:
    world = world_with_staging(github)
    github.add_app(APP_ID, keypair[1], {"team/gitops": 77}, permissions={**WRITE_ALL, "statuses": "read"})
    monkeypatch.setenv("AUTODEPLOY_APP_ID", str(APP_ID))
    monkeypatch.setenv("AUTODEPLOY_APP_PRIVATE_KEY", keypair[0])
    github.flux_reconciles(world.gitops, "apps-staging", after=0)
    mark = world.mark()
    code, found, err = run(capsys, "--app", "api")
    assert code == 0, err
    [minting] = [c for c in github.calls[mark:] if c.template.endswith("/access_tokens")]
    assert minting.body["permissions"] == {"contents": "write", "pull_requests": "write", "statuses": "read"}
