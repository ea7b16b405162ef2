"""A monorepo deploy (`--targets`) reads every file in one GraphQL request at one commit: its
requests do not grow with the number of apps. Pinned, so a later change cannot add round trips."""

from __future__ import annotations

import pytest
from github_fake import FakeGitHub
from github_world import SOURCE, World, digest

from autodeploy import pipeline
from autodeploy.imageref import parse
from autodeploy.plan import DeployRequest, Target

FIRST = [
    "POST /graphql",  # the branch's head (or, missing, the base's), its tree and every file
    "GET /repos/{owner}/{repo}/compare/{basehead}",  # the downgrade guard, in the source repo
    "POST /repos/{owner}/{repo}/git/trees",
    "POST /repos/{owner}/{repo}/git/commits",
    "POST /repos/{owner}/{repo}/git/refs",
    "POST /repos/{owner}/{repo}/pulls",
    "POST /repos/{owner}/{repo}/issues/{issue_number}/labels",
]
UPDATE = [
    "POST /graphql",  # the branch's files, its open pull request and the base's files: in step
    "GET /repos/{owner}/{repo}/compare/{basehead}",  # the guard
    "POST /repos/{owner}/{repo}/git/trees",
    "POST /repos/{owner}/{repo}/git/commits",
    "PATCH /repos/{owner}/{repo}/git/refs/{ref}",
    "PATCH /repos/{owner}/{repo}/pulls/{pull_number}",
]


@pytest.mark.parametrize("count", [2, 10, 50])
def test_the_requests_of_a_monorepo_deploy_do_not_grow_with_its_apps(github: FakeGitHub, count: int) -> None:
    apps = tuple(f"app{n:02d}" for n in range(count))
    world = World(github, apps=apps)

    def deploy(tag: str, commit: int) -> list[str]:
        request = DeployRequest(
            tuple(
                Target(a, "production", parse(f"registry.example.com/team/{a}:{tag}"), digest(tag))
                for a in apps
            ),
            world.commits[commit],
            SOURCE,
        )
        mark = world.mark()
        outcome = pipeline.deploy(request, world.repo(), history=world.history(), sleep=lambda s: None)
        assert len(outcome.plan.changed) == count
        return world.calls_since(mark)

    assert deploy("1.1.0", 2) == FIRST
    assert deploy("1.2.0", 3) == UPDATE
    head = world.gitops.refs["prod-release"]
    for app in apps:
        assert f"tag: 1.2.0" in (world.gitops.text(head, f"{app}/production/image.yaml") or "")
