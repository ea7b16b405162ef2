"""The Action's wait: `wait: true` on a deploy and the ditkrg/autodeploy/wait sub-action, against the
fake GitHub: the outputs rollout, flux-status, merged-at and deployment-id, the summary's timeline,
the exit code."""

from __future__ import annotations

from typing import Any

import pytest
from github_fake import TOKEN, WRITE_ALL, FakeGitHub
from github_fake_statuses import STATUS_READ
from github_world import GITOPS, SOURCE, World, digest
from test_action import Workspace, make_workspace
from test_wait_cli import merge_on_first_poll, two_deploys_in_one_commit
from wait_world import DEPLOY_TOKEN


@pytest.fixture
def world(github: FakeGitHub) -> World:
    made = World(github)
    github.add_token(TOKEN, {**WRITE_ALL, **STATUS_READ})
    github.add_token(DEPLOY_TOKEN, {"deployments": "write", "metadata": "read"}, repos={SOURCE})
    return made


@pytest.fixture
def workspace(
    tmp_path: Any, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> Workspace:
    made = make_workspace(tmp_path, monkeypatch, capsys)
    monkeypatch.setenv("GITHUB_REPOSITORY", SOURCE)
    return made


def deploy_inputs(world: World, **extra: str) -> dict[str, str]:
    return {
        "gitops_repo": GITOPS,
        "app": "api",
        "env": "staging",
        "tag": "registry.example.com/team/api:2.0.0",
        "digest": digest("2.0.0"),
        "token": TOKEN,
        "base_branch": "main",
        "wait": "true",
        **extra,
    }


def test_a_deploy_that_waits_writes_the_rollout_outputs_and_the_timeline(
    world: World, workspace: Workspace
) -> None:
    workspace.monkeypatch.setenv("GITHUB_SHA", world.commits[2])
    merge_on_first_poll(world)
    world.fake.flux_reconciles(world.gitops, "apps-staging", pull=1, after=1)
    run = workspace.run(**deploy_inputs(world, deployment="true", deployment_token=DEPLOY_TOKEN))
    assert run.code == 0, run.err
    (made,) = world.fake.deployments_of(SOURCE)
    assert [s.state for s in made.statuses] == ["queued", "in_progress", "success"]
    assert (run.outputs["rollout"], run.outputs["flux-status"]) == ("success", "reconciliation succeeded")
    assert run.outputs["merged-at"] == "2026-01-01T00:00:00Z"
    assert run.outputs["deployment-id"] == str(made.id)
    assert run.outputs["pull-request-number"] == "1"
    assert "### Rollout: rolled out" in run.summary
    assert [
        line.split(" | ")[0] for line in run.summary.splitlines() if line.startswith("| ") and " | " in line
    ][-3:] == ["| opened", "| merged", "| reconciled"]
    assert "Flux: reconciliation succeeded" in run.summary


def test_flux_s_failure_fails_the_step_with_the_outputs_written(world: World, workspace: Workspace) -> None:
    workspace.monkeypatch.setenv("GITHUB_SHA", world.commits[2])
    merge_on_first_poll(world)
    world.fake.flux_reconciles(world.gitops, "apps-staging", pull=1, after=1, state="failure")
    run = workspace.run(**deploy_inputs(world))
    assert run.code == 1
    assert run.outputs["rollout"] == "failure" and run.outputs["flux-status"] == "health check failed"
    assert "::error title=autodeploy::Flux reported a failure: health check failed" in run.out
    assert "### Rollout: Flux reported a failure" in run.summary


def test_the_wait_action_reports_every_deploy_of_a_gitops_commit(world: World, workspace: Workspace) -> None:
    sha = two_deploys_in_one_commit(world)
    world.fake.flux_reconciles(world.gitops, "apps-staging", on=sha, after=0)
    run = workspace.run("wait", gitops_repo=GITOPS, gitops_commit=sha, token=TOKEN, base_branch="main")
    assert run.code == 0, run.err
    assert run.outputs == {
        "rollout": "success",
        "flux-status": "reconciliation succeeded",
        "merged-at": "",
        "deployment-id": "",
    }
    assert "waiting for api/staging: 2.0.0" in run.err and "waiting for web/staging: 3.0.0" in run.err
    assert "running: autodeploy wait --gitops-repo team/gitops --base-branch main --gitops-commit " in run.err
    # `since: ${{ github.event.before }}`, as docs/workflows/rollout.yml passes it
    before = world.gitops.commits[sha].parents[0]
    run = workspace.run(
        "wait", gitops_repo=GITOPS, gitops_commit=sha, since=before, token=TOKEN, base_branch="main"
    )
    assert run.code == 0, run.err
    assert f"--gitops-commit {sha} --since {before}" in run.err and "waiting for web/staging" in run.err


def test_the_wait_action_refuses_inputs_it_cannot_use(world: World, workspace: Workspace) -> None:
    run = workspace.run("wait", gitops_repo=GITOPS, token=TOKEN)
    assert run.code == 2 and "give one of the inputs gitops-commit" in run.out
    run = workspace.run("wait", gitops_repo=GITOPS, token=TOKEN, gitops_commit="abc")
    assert run.code == 2 and "not a full commit sha" in run.out
    run = workspace.run("wait", gitops_repo=GITOPS, token=TOKEN, gitops_commit="a" * 40, since="HEAD~1")
    assert run.code == 2 and "input since 'HEAD~1' is not a full commit sha" in run.out
    run = workspace.run(**deploy_inputs(world, wait="false", wait_timeout="30"))
    assert run.code == 2 and "input wait-timeout applies to the wait: set `wait: true`" in run.out


def test_a_pull_request_closed_while_waiting_still_writes_the_deploy_s_outputs(
    world: World, workspace: Workspace
) -> None:
    workspace.monkeypatch.setenv("GITHUB_SHA", world.commits[2])

    def close_on_first_poll(method: str, template: str, params: dict[str, str], body: Any) -> None:
        pull = world.gitops.pulls.get(int(params.get("pull_number", 0)))
        if method == "GET" and template.endswith("/pulls/{pull_number}") and pull and pull.state == "open":
            world.gitops.close(pull)

    world.fake.before_request = close_on_first_poll
    run = workspace.run(**deploy_inputs(world))
    assert run.code == 1
    assert run.outputs["pull-request-number"] == "1" and run.outputs["rollout"] == "failure"
    assert (
        "::error title=autodeploy::pull request #1 (" in run.out and "was closed without merging" in run.out
    )
