"""Commit statuses: the fake keeps them as GitHub does (one store with CI's checks), and
autodeploy/github/statuses.py reads them: one commit over REST with ETags, many in one GraphQL call."""

from __future__ import annotations

import pytest
from github_fake import TOKEN, WRITE_ALL, FakeGitHub
from github_fake_statuses import STATUS_READ
from github_world import GITOPS, World

from autodeploy.errors import InputError
from autodeploy.flux import CommitStatus
from autodeploy.github.conditional import Conditional
from autodeploy.github.statuses import commit_statuses, statuses_of


@pytest.fixture
def world(github: FakeGitHub) -> World:
    made = World(github)
    github.add_token(TOKEN, {**WRITE_ALL, **STATUS_READ})
    return made


def test_a_status_read_twice_costs_a_304_the_second_time(world: World) -> None:
    head = world.gitops.refs["main"]
    world.fake.flux_reconciles(world.gitops, "apps-staging", after=0)
    poller = Conditional(world.client())
    first, changed = commit_statuses(poller, GITOPS, head)
    assert changed
    assert first == (
        CommitStatus(
            "kustomization/apps-staging/0c9c2e41", "success", "reconciliation succeeded", first[0].updated_at
        ),
    )
    remaining = world.fake.rate_remaining
    again, changed = commit_statuses(poller, GITOPS, head)
    assert (again, changed) == (first, False)
    assert [c.status for c in world.fake.calls[-1:]] == [304]
    assert world.fake.rate_remaining == remaining  # a 304 is free
    world.fake.flux_reconciles(world.gitops, "apps-staging", state="failure", after=0)
    latest, changed = commit_statuses(poller, GITOPS, head)
    assert changed and [(s.state, s.description) for s in latest] == [("failure", "health check failed")]
    assert world.fake.count("/repos/{owner}/{repo}/commits/{ref}/status") == 3


def test_checks_and_flux_share_one_store(world: World) -> None:
    head = world.gitops.refs["main"]
    world.gitops.report_check(head, "ci", "pending")
    world.gitops.report_check(head, "ci", "success")
    world.fake.flux_reconciles(world.gitops, "apps-production", after=0)
    assert world.gitops.checks[head] == {"ci": "success", "kustomization/apps-production/0c9c2e41": "success"}
    found, _ = commit_statuses(Conditional(world.client()), GITOPS, head)
    assert sorted(s.context for s in found) == ["ci", "kustomization/apps-production/0c9c2e41"]


def test_flux_posts_on_the_next_poll_on_the_head_of_the_branch_then(world: World) -> None:
    first = world.gitops.refs["main"]
    world.fake.flux_reconciles(world.gitops, "apps-staging", after=2)
    later = world.gitops.write("main", {"x.txt": "x\n"})
    poller = Conditional(world.client())
    assert commit_statuses(poller, GITOPS, later)[0] == ()  # the first request: not yet
    assert commit_statuses(poller, GITOPS, later)[0] != ()  # the second: posted on the newest commit
    assert first not in world.gitops.statuses


def test_many_commits_statuses_in_one_graphql_request(world: World) -> None:
    shas = [world.gitops.refs["main"]]
    shas.append(world.gitops.write("main", {"x.txt": "x\n"}))
    world.fake.flux_reconciles(world.gitops, "apps-staging", on=shas[0], after=0)
    world.fake.flux_reconciles(world.gitops, "apps-staging", on=shas[0], state="failure", after=0)
    world.fake.flux_reconciles(world.gitops, "apps-development", on=shas[0], after=0)
    mark = world.mark()
    found = statuses_of(world.client(), GITOPS, [*shas, "f" * 40])
    assert world.calls_since(mark) == ["POST /graphql"]
    assert sorted((s.context, s.state) for s in found[shas[0]]) == [
        ("kustomization/apps-development/0c9c2e41", "success"),
        ("kustomization/apps-staging/0c9c2e41", "failure"),  # the latest of its context
    ]
    assert found[shas[1]] == ()
    assert "f" * 40 not in found


def test_statuses_posted_through_the_api_are_read_back(world: World) -> None:
    head = world.gitops.refs["main"]
    world.fake.add_token("flux", {"statuses": "write", "metadata": "read"})
    client = world.client("flux")
    got = client.request(
        "POST",
        f"/repos/{GITOPS}/statuses/{head}",
        body={"state": "success", "context": "kustomization/apps-staging/0c9c2e41", "description": "ok"},
        doing="posting",
    )
    assert got.status == 201
    listed = world.client().request("GET", f"/repos/{GITOPS}/commits/{head}/statuses", doing="listing")
    assert [s["description"] for s in listed.data] == ["ok"]


def test_a_token_without_statuses_read_is_told_what_to_grant(world: World) -> None:
    world.fake.add_token("plain", WRITE_ALL)
    with pytest.raises(InputError, match="statuses: read"):
        commit_statuses(Conditional(world.client("plain")), GITOPS, world.gitops.refs["main"])
    with pytest.raises(InputError, match="40 hex"):
        statuses_of(world.client(), GITOPS, ["main"])
