"""The Action against the fake GitHub: the pull request outputs people already use
(peter-evans/create-pull-request's names), for a dry run, a first deploy, an update and a no-op."""

from __future__ import annotations

import pytest
from github_fake import FakeGitHub
from github_world import TOKEN, World, digest
from test_action import Workspace, make_workspace


@pytest.fixture
def workspace(tmp_path, monkeypatch, capsys) -> Workspace:  # type: ignore[no-untyped-def]
    return make_workspace(tmp_path, monkeypatch, capsys)


def inputs(tag: str, **extra: str) -> dict[str, str]:
    return {
        "gitops_repo": "team/gitops",
        "app": "api",
        "env": "production",
        "tag": f"registry.example.com/team/api:{tag}",
        "digest": digest(tag),
        "token": TOKEN,
        "base_branch": "main",
        **extra,
    }


def pull_outputs(outputs: dict[str, str]) -> tuple[str, ...]:
    names = ("pull-request-operation", "pull-request-number", "pull-request-url", "pull-request-branch")
    return tuple(outputs[name] for name in names)


def test_pull_request_outputs(github: FakeGitHub, workspace: Workspace) -> None:
    world = World(github)
    workspace.monkeypatch.setenv("GITHUB_REPOSITORY", "team/api")
    workspace.monkeypatch.setenv("GITHUB_SHA", world.commits[2])

    dry = workspace.run(**inputs("1.1.0", dry_run="true"))
    assert dry.code == 0, dry.err
    assert pull_outputs(dry.outputs) == ("created", "", "", "prod-release") and not world.gitops.pulls

    first = workspace.run(**inputs("1.1.0"))
    assert first.code == 0, first.err
    [number] = world.gitops.pulls
    url = f"https://github.com/team/gitops/pull/{number}"
    assert pull_outputs(first.outputs) == ("created", str(number), url, "prod-release")
    assert first.outputs["pull-request-head-sha"] == world.gitops.refs["prod-release"]
    assert (first.outputs["pr-number"], first.outputs["pr-url"]) == (str(number), url)

    workspace.monkeypatch.setenv("GITHUB_SHA", world.commits[3])
    dry = workspace.run(**inputs("1.2.0", dry_run="true"))
    assert pull_outputs(dry.outputs) == ("updated", str(number), url, "prod-release")

    update = workspace.run(**inputs("1.2.0"))
    assert pull_outputs(update.outputs) == ("updated", str(number), url, "prod-release")

    again = workspace.run(**inputs("1.2.0"))
    assert again.outputs["pull-request-operation"] == "none" and again.outputs["changed"] == "false"


def test_the_pull_request_names_the_run_and_the_actor_and_asks_teams(
    github: FakeGitHub, workspace: Workspace
) -> None:
    world = World(github)
    world.gitops.collaborators |= {"platform", "alice"}
    for name, value in {
        "GITHUB_REPOSITORY": "team/api",
        "GITHUB_SHA": world.commits[2],
        "GITHUB_RUN_ID": "4242",
        "GITHUB_ACTOR": "alice",
    }.items():
        workspace.monkeypatch.setenv(name, value)
    run = workspace.run(
        **inputs(
            "1.1.0", body="Deployed from CI.", team_reviewers="platform", reviewers="alice", assignees="alice"
        )
    )
    assert run.code == 0, run.err
    pull = world.gitops.pulls[int(run.outputs["pull-request-number"])]
    assert pull.body.startswith("Deployed from CI.\n\n")
    assert "Last written by @alice in https://github.com/team/api/actions/runs/4242." in pull.body
    assert pull.reviewers == ["alice", "platform"] and pull.assignees == ["alice"]
