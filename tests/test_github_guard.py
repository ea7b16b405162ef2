"""The downgrade guard through GitHub's compare API, and the push event that answers it for free."""

from __future__ import annotations

import pytest
from github_world import SOURCE, World, image_yaml, push_event

from autodeploy.environment import Environment
from autodeploy.imagefile import read_block
from autodeploy.plan import Relation


@pytest.fixture
def world(github) -> World:
    return World(github)


def test_a_newer_deploy_on_the_branch_is_not_overwritten(world: World) -> None:
    world.deploy("api", "production", "1.5.0", 5)
    head = world.gitops.refs["prod-release"]
    outcome = world.deploy("api", "production", "1.3.0", 3)

    assert (
        not outcome.changed
        and not outcome.plan.changed
        and outcome.applied
        and outcome.applied.commit is None
    )
    assert (
        "not downgrading" in outcome.plan.skipped[0].reason
        and "--allow-downgrade" in outcome.plan.skipped[0].reason
    )
    assert world.gitops.refs["prod-release"] == head


def test_a_newer_deploy_on_the_base_is_not_overwritten(world: World) -> None:
    world.gitops.write("main", {"api/development/image.yaml": image_yaml("api", "dev-5", world.commits[5])})
    outcome = world.deploy("api", "development", "dev-3", 3)

    assert outcome.plan.skipped and "update-development-api" not in world.gitops.refs


def test_allow_downgrade_passes_the_guard_without_asking(world: World) -> None:
    world.deploy("api", "production", "1.5.0", 5)
    mark = world.mark()
    outcome = world.deploy("api", "production", "1.3.0", 3, allow_downgrade=True)

    assert (
        outcome.applied and "GET /repos/{owner}/{repo}/compare/{basehead}" not in world.calls_since(mark)[:2]
    )
    assert read_block(world.text("prod-release", "api/production/image.yaml") or "").tag == "1.3.0"


def test_relations_from_the_compare_api(world: World) -> None:
    history = world.history()
    c = world.commits
    assert history.relation(SOURCE, c[2], c[4]) is Relation.NEWER
    assert history.relation(SOURCE, c[4], c[2]) is Relation.OLDER
    assert history.relation(SOURCE, c[3], c[3]) is Relation.SAME
    side = world.source.commit(dict(world.source.commits[c[2]].tree), (c[2],), "elsewhere")
    assert history.relation(SOURCE, side, c[4]) is Relation.DIVERGED


@pytest.mark.parametrize("status", [403, 404])
def test_no_access_to_the_source_repo_warns_once_and_deploys(world: World, capsys, status: int) -> None:
    world.fake.add_token("no-source", repos={"team/gitops"})
    if status == 403:
        world.fake.fail(
            403,
            template="/repos/{owner}/{repo}/compare/{basehead}",
            message="Resource not accessible by integration",
            times=2,
        )
    history = world.history(client=world.client("no-source"))
    first = history.relation(SOURCE, world.commits[2], world.commits[3])
    second = history.relation(SOURCE, world.commits[3], world.commits[4])

    assert first is second is Relation.UNKNOWN
    err = capsys.readouterr().err
    assert err.count("the downgrade guard cannot compare commits in team/api") == 1
    assert "deploying without the check" in err


def test_a_push_event_proves_newer_without_a_request(world: World, tmp_path) -> None:
    c = world.commits
    event = push_event(tmp_path, before=c[2], after=c[4], commits=[{"id": c[3]}, {"id": c[4]}])
    history = world.history(event)
    mark = world.mark()

    assert history.relation(SOURCE, c[2], c[4]) is Relation.NEWER  # before
    assert history.relation(SOURCE, c[3][:7], c[4]) is Relation.NEWER  # a pushed commit, abbreviated
    assert world.calls_since(mark) == []
    assert history.relation(SOURCE, c[5], c[4]) is Relation.OLDER  # not in the event: asked
    assert len(world.calls_since(mark)) == 1


@pytest.mark.parametrize(
    "fields",
    [
        {"forced": True},
        {"repository": {"full_name": "team/other"}},
        {"before": "0" * 40},
    ],
)
def test_a_push_event_proves_nothing_when_forced_or_foreign(
    world: World, tmp_path, fields: dict[str, object]
) -> None:
    c = world.commits
    event = push_event(tmp_path, **{"before": c[2], "after": c[4], **fields})
    assert event is not None and not event.proves_newer(
        SOURCE, c[2] if "before" not in fields else "1" * 40, c[4]
    )


def test_other_events_are_ignored(tmp_path) -> None:
    assert Environment.read({"GITHUB_EVENT_NAME": "workflow_dispatch", "GITHUB_EVENT_PATH": "x"}).push is None
    assert (
        Environment.read({"GITHUB_EVENT_NAME": "push", "GITHUB_EVENT_PATH": str(tmp_path / "none")}).push
        is None
    )
