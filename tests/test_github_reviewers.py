"""Reviewers are asked whenever a run adds its deploy to a pull request, not only when it opens one;
one reviewer GitHub refuses does not keep the others from being asked."""

from __future__ import annotations

import pytest
from github_fake import FakeGitHub
from github_world import World

from autodeploy.options import PullOptions


def test_reviewers_on_a_new_pull_request_and_when_another_app_joins_it(github: FakeGitHub) -> None:
    world = World(github)
    world.gitops.collaborators |= {"alice", "bob"}
    first = world.deploy(
        "api", "production", "1.1.0", 2, repo=world.repo(options=PullOptions(reviewers=("alice",)))
    )
    assert first.applied and first.applied.pr_number
    pull = world.gitops.pulls[first.applied.pr_number]
    assert pull.reviewers == ["alice"]
    world.deploy("web", "production", "2.0.0", 3, repo=world.repo(options=PullOptions(reviewers=("bob",))))
    assert pull.reviewers == ["alice", "bob"]


def test_one_refused_reviewer_does_not_drop_the_others(
    github: FakeGitHub, capsys: pytest.CaptureFixture[str]
) -> None:
    world = World(github)
    world.gitops.collaborators |= {"alice", "bob"}
    outcome = world.deploy(
        "api",
        "production",
        "1.1.0",
        2,
        repo=world.repo(options=PullOptions(reviewers=("alice", "mallory", "bob"))),
    )
    assert outcome.applied and outcome.applied.pr_number
    assert world.gitops.pulls[outcome.applied.pr_number].reviewers == ["alice", "bob"]
    err = capsys.readouterr().err
    assert err.count("autodeploy: warning:") == 1 and "did not request a review from mallory: " in err
