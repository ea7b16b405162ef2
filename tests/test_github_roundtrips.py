"""Issue 13's table, pinned: the GitHub requests of each scenario (tests/roundtrips.py), so that a
later change cannot silently add a round trip. bench/github_calls.py reports the same rows, timed.

And the one shortcut a monorepo update takes: its single GraphQL read brings the branch's files, its
open pull request and the base's files, which show that the base has not changed a file the pull
request changes, so no comparison is needed before the commit. When they show it has, the run
compares and merges the base in as before."""

from __future__ import annotations

import pytest
from github_fake import FakeGitHub
from github_world import SOURCE, World, digest
from roundtrips import SCAFFOLD, SCENARIOS, SPREAD, apps, deploy_all, run

from autodeploy import pipeline
from autodeploy.errors import InputError
from autodeploy.imagefile import read_block
from autodeploy.imageref import parse
from autodeploy.plan import DeployRequest, Target

GRAPHQL = "POST /graphql"
COMPARE = "GET /repos/{owner}/{repo}/compare/{basehead}"
GUARD = COMPARE  # the downgrade guard's compare, in the source repository
TREE, COMMIT = "POST /repos/{owner}/{repo}/git/trees", "POST /repos/{owner}/{repo}/git/commits"
NEW_REF, MOVE_REF = "POST /repos/{owner}/{repo}/git/refs", "PATCH /repos/{owner}/{repo}/git/refs/{ref}"
NEW_PULL, EDIT_PULL = "POST /repos/{owner}/{repo}/pulls", "PATCH /repos/{owner}/{repo}/pulls/{pull_number}"
LABELS = "POST /repos/{owner}/{repo}/issues/{issue_number}/labels"
LIST_PULLS, REF = "GET /repos/{owner}/{repo}/pulls", "GET /repos/{owner}/{repo}/git/ref/{ref}"
CONTENTS, PUT = "GET /repos/{owner}/{repo}/contents/{path}", "PUT /repos/{owner}/{repo}/contents/{path}"

MONOREPO_FIRST = [GRAPHQL, GUARD, TREE, COMMIT, NEW_REF, NEW_PULL, LABELS]
MONOREPO_UPDATE = [GRAPHQL, GUARD, TREE, COMMIT, MOVE_REF, EDIT_PULL]
SINGLE_FIRST = [LIST_PULLS, REF, CONTENTS, GUARD, NEW_REF, PUT, NEW_PULL, LABELS]

# scenario -> (the requests today, the target for their number)
TABLE: dict[str, tuple[list[str], int]] = {
    "first deploy (opens a PR)": (SINGLE_FIRST, 9),
    "update of an open PR": ([LIST_PULLS, CONTENTS, GUARD, PUT, EDIT_PULL], 5),
    "no-op (the same deploy again)": ([LIST_PULLS, CONTENTS], 3),
    "--targets with 1 app, first deploy": (SINGLE_FIRST, 10),  # one target: the one-file path
    "--targets with 10 apps, first deploy": (MONOREPO_FIRST, 10),
    "--targets with 50 apps, first deploy": (MONOREPO_FIRST, 10),
    "--targets with 10 apps, update": (MONOREPO_UPDATE, 6),
    "--targets with 50 apps, update": (MONOREPO_UPDATE, 6),
    "history --limit 10 (200 versions)": ([GRAPHQL], 3),  # 11 versions: the 10th deploy is known at the 11th
    "rollback to the previous image (200 versions)": (
        [GRAPHQL, LIST_PULLS, REF, CONTENTS, NEW_REF, PUT, NEW_PULL, LABELS],
        8,
    ),
    # not in the table: new image files scaffolded from their releases, whose directories
    # are listed in one request; and the guard, which asks once per source commit deployed
    SCAFFOLD: ([GRAPHQL, GRAPHQL, GRAPHQL, TREE, COMMIT, NEW_REF, NEW_PULL, LABELS], 10),
    SPREAD: ([GRAPHQL, *[GUARD] * 6, TREE, COMMIT, NEW_REF, NEW_PULL, LABELS], 12),
}


def test_the_table_names_every_scenario() -> None:
    assert list(TABLE) == list(SCENARIOS)


@pytest.mark.parametrize("name", list(TABLE))
def test_the_requests_of_each_scenario(name: str) -> None:
    expected, target = TABLE[name]
    calls = run(SCENARIOS[name]).calls
    assert calls == expected
    assert len(calls) <= target


def deploy_request(world: World, envs: dict[str, str]) -> DeployRequest:
    targets = tuple(
        Target(app, env, parse(f"registry.example.com/team/{app}:2.0.0"), digest("2.0.0"))
        for app, env in envs.items()
    )
    return DeployRequest(targets, world.commits[3], SOURCE)


def updated(world: World, tag: str) -> list[str | None]:
    head = world.gitops.refs["prod-release"]
    blocks = [read_block(world.gitops.text(head, f"{a}/production/image.yaml") or "") for a in world.apps]
    return [block.tag if block else None for block in blocks]


def scale_on_main(world: World, app: str) -> str:
    """A person's commit on the base to the app's image file, outside the generated block."""
    path = f"{app}/production/image.yaml"
    scaled = (world.text("main", path) or "").replace("replicaCount: 2", "replicaCount: 5")
    world.gitops.write("main", {path: scaled}, f"scale {app}")
    return path


def test_an_update_whose_base_changed_a_file_it_deploys_merges_the_base_in(github: FakeGitHub) -> None:
    world = World(github, apps=apps(3))
    deploy_all(world, "1.1.0", 2)
    path = scale_on_main(world, "app01")
    mark = world.mark()
    deploy_all(world, "1.2.0", 3)
    calls = world.calls_since(mark)
    assert calls[:2] == [GRAPHQL, GUARD] and COMPARE in calls[2:], calls
    assert "POST /repos/{owner}/{repo}/merges" in calls
    assert updated(world, "1.2.0") == ["1.2.0"] * 3
    assert "replicaCount: 5" in (world.text("prod-release", path) or "")


def test_an_update_joining_a_pull_request_of_more_apps_reads_nothing_more(github: FakeGitHub) -> None:
    world = World(github, apps=apps(3))
    deploy_all(world, "1.1.0", 2)
    mark = world.mark()
    deploy_all(world, "1.2.0", 3, only=("app00", "app01"))
    assert world.calls_since(mark) == MONOREPO_UPDATE
    assert updated(world, "1.2.0") == ["1.2.0", "1.2.0", "1.1.0"]
    assert "**`1.1.0`**" in world.gitops.pulls[1].body and "**`1.2.0`**" in world.gitops.pulls[1].body


def test_another_apps_stale_file_is_left_to_that_apps_next_deploy(github: FakeGitHub) -> None:
    """As for a one-file deploy (tests/test_github_stale.py): one deploy does not decide another
    app's conflict; that app's next deploy merges the base in."""
    world = World(github, apps=apps(3))
    deploy_all(world, "1.1.0", 2)
    path = scale_on_main(world, "app02")
    mark = world.mark()
    deploy_all(world, "1.2.0", 3, only=("app00", "app01"))
    assert world.calls_since(mark) == MONOREPO_UPDATE
    assert updated(world, "1.2.0") == ["1.2.0", "1.2.0", "1.1.0"]
    mark = world.mark()
    deploy_all(world, "1.3.0", 4, only=("app02",))
    assert "POST /repos/{owner}/{repo}/merges" in world.calls_since(mark)
    assert "replicaCount: 5" in (world.text("prod-release", path) or "")
    assert updated(world, "1.3.0") == ["1.2.0", "1.2.0", "1.3.0"]


def test_an_update_of_a_branch_someone_else_moved_compares_as_before(github: FakeGitHub) -> None:
    world = World(github, apps=apps(2))
    deploy_all(world, "1.1.0", 2)
    world.edit_on("prod-release", "README.md", "a person's commit\n")  # the table no longer names the head
    mark = world.mark()
    deploy_all(world, "1.2.0", 3)
    calls = world.calls_since(mark)
    assert calls[:2] == [GRAPHQL, GUARD] and calls.count(COMPARE) >= 2, calls
    assert updated(world, "1.2.0") == ["1.2.0", "1.2.0"]


def test_a_monorepo_deploy_to_an_env_the_apps_lack_names_the_ones_they_have(github: FakeGitHub) -> None:
    world = World(github, apps=apps(3))
    request = deploy_request(world, {app: "qa" for app in world.apps})
    mark = world.mark()
    with pytest.raises(InputError, match=r"app00/qa/ does not exist; the directories in app00/ are: base, "):
        pipeline.deploy(request, world.repo(), sleep=lambda s: None)
    assert world.calls_since(mark) == [GRAPHQL, GRAPHQL, GRAPHQL]  # files, release files, listings
