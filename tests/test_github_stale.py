"""A deploy branch whose base moved on: autodeploy merges the base in (never a force-push) when the
base changed files the pull request changes, so the pull request stays mergeable."""

from __future__ import annotations

import pytest
from github_fake import Repo
from github_world import World, image_yaml, with_block

from autodeploy.imagefile import read_block

MERGES = "POST /repos/{owner}/{repo}/merges"


@pytest.fixture
def world(github) -> World:
    return World(github)


def mergeable(repo: Repo, branch: str, base: str = "main") -> bool:
    head, into = repo.refs[branch], repo.refs[base]
    return repo.merge_trees(repo.merge_base(into, head), into, head) is not None


def tag(world: World, branch: str, path: str) -> str | None:
    block = read_block(world.text(branch, path) or "")
    return block.tag if block else None


def test_an_edit_on_the_base_next_to_the_block_is_merged_in(world: World) -> None:
    path = "api/production/image.yaml"
    world.deploy("api", "production", "1.1.0", 2)
    edited = (world.text("main", path) or "").replace("replicaCount: 2", "replicaCount: 3")
    world.gitops.write("main", {path: edited}, "scale api")
    mark = world.mark()
    outcome = world.deploy("api", "production", "1.2.0", 3)

    assert MERGES in world.calls_since(mark)
    text = world.text("prod-release", path) or ""
    assert "replicaCount: 3" in text and tag(world, "prod-release", path) == "1.2.0"
    merge = [c for c in world.gitops.commits.values() if len(c.parents) == 2]
    assert merge and world.gitops.refs["main"] in merge[0].parents
    assert world.gitops.refs["main"] in world.gitops.ancestors(world.gitops.refs["prod-release"])
    assert mergeable(world.gitops, "prod-release")
    assert (
        outcome.applied
        and outcome.applied.pr_number == 1
        and "`1.0.0` → **`1.2.0`**" in world.gitops.pulls[1].body
    )


def test_an_unrelated_change_on_the_base_merges_nothing(world: World) -> None:
    world.deploy("api", "production", "1.1.0", 2)
    world.gitops.write("main", {"docs/README.md": "hello\n"}, "docs")
    mark = world.mark()
    world.deploy("api", "production", "1.2.0", 3)

    assert MERGES not in world.calls_since(mark)
    assert world.gitops.refs["main"] not in world.gitops.ancestors(world.gitops.refs["prod-release"])
    assert mergeable(world.gitops, "prod-release")


def test_a_deploy_that_reached_the_base_another_way_conflicts_and_is_merged_by_hand(world: World) -> None:
    path = "api/production/image.yaml"
    world.deploy("api", "production", "1.1.0", 2)
    world.gitops.write(
        "main", {path: with_block(world.text("main", path) or "", "api", "1.4.0", world.commits[4])}, "hotfix"
    )
    mark = world.mark()
    outcome = world.deploy("api", "production", "1.5.0", 5)

    calls = world.calls_since(mark)
    assert MERGES in calls and "POST /repos/{owner}/{repo}/git/commits" in calls
    assert "PATCH /repos/{owner}/{repo}/git/refs/{ref}" in calls
    assert tag(world, "prod-release", path) == "1.5.0"
    assert mergeable(world.gitops, "prod-release")
    assert outcome.applied and "`1.4.0` → **`1.5.0`**" in world.gitops.pulls[1].body


def test_after_merging_the_guard_sees_the_bases_newer_deploy(world: World) -> None:
    path = "api/production/image.yaml"
    world.deploy("api", "production", "1.1.0", 2)
    world.gitops.write(
        "main", {path: with_block(world.text("main", path) or "", "api", "1.4.0", world.commits[4])}, "hotfix"
    )
    outcome = world.deploy("api", "production", "1.3.0", 3)

    assert outcome.plan.skipped and "not downgrading" in outcome.plan.skipped[0].reason
    assert tag(world, "prod-release", path) == "1.4.0"
    assert mergeable(world.gitops, "prod-release")


def web_hotfix_on_main(world: World) -> None:
    """A hotfix of web on main, while prod-release deploys web 2.1.0: the two conflict."""
    web = "web/production/image.yaml"
    base_text = with_block(world.text("main", web) or "", "web", "2.0.5", world.commits[2]).replace(
        "replicaCount: 2", "replicaCount: 5"
    )
    world.gitops.write("main", {web: base_text}, "web hotfix")


def test_another_apps_stale_file_is_left_to_that_apps_next_deploy(world: World) -> None:
    web = "web/production/image.yaml"
    world.deploy("web", "production", "2.1.0", 3)
    web_hotfix_on_main(world)
    mark = world.mark()
    world.deploy("api", "production", "1.1.0", 2)

    assert MERGES not in world.calls_since(mark) and len(world.calls_since(mark)) == 5
    assert tag(world, "prod-release", "api/production/image.yaml") == "1.1.0"
    assert not mergeable(world.gitops, "prod-release")  # web's conflict is not api's to settle

    world.deploy("web", "production", "2.2.0", 4)
    text = world.text("prod-release", web) or ""
    assert "replicaCount: 5" in text and tag(world, "prod-release", web) == "2.2.0"
    assert tag(world, "prod-release", "api/production/image.yaml") == "1.1.0"
    assert mergeable(world.gitops, "prod-release")
    assert "`2.0.5` → **`2.2.0`**" in world.gitops.pulls[1].body


def test_a_merge_for_our_file_gives_another_apps_conflicting_file_the_branchs_block(world: World) -> None:
    web, api = "web/production/image.yaml", "api/production/image.yaml"
    world.deploy("api", "production", "1.1.0", 2)
    world.deploy("web", "production", "2.1.0", 3)
    web_hotfix_on_main(world)
    world.gitops.write(
        "main", {api: (world.text("main", api) or "").replace("replicaCount: 2", "replicaCount: 4")}
    )
    world.deploy("api", "production", "1.2.0", 3)

    text = world.text("prod-release", web) or ""
    assert "replicaCount: 5" in text and tag(world, "prod-release", web) == "2.1.0"
    assert "replicaCount: 4" in (world.text("prod-release", api) or "")
    assert tag(world, "prod-release", api) == "1.2.0"
    assert mergeable(world.gitops, "prod-release")


def test_a_leftover_branch_of_a_squash_merged_pull_request_is_brought_up_to_date(world: World) -> None:
    path = "api/production/image.yaml"
    world.deploy("api", "production", "1.1.0", 2)
    world.merge_pull(1, squash=True)
    mark = world.mark()
    outcome = world.deploy("api", "production", "1.2.0", 3)

    assert outcome.applied and outcome.applied.pr_created and outcome.applied.pr_number == 2
    puts = [c.status for c in world.fake.calls[mark:] if c.method == "PUT"]
    assert puts == [200]  # merging main changed nothing the deploy planned on: no second read
    assert mergeable(world.gitops, "prod-release")
    assert world.gitops.refs["main"] in world.gitops.ancestors(world.gitops.refs["prod-release"])
    body = world.gitops.pulls[2].body
    assert "`1.1.0` → **`1.2.0`**" in body  # the base runs 1.1.0 now
    assert tag(world, "prod-release", path) == "1.2.0"


def test_a_file_changed_on_both_sides_that_is_not_an_image_file_needs_a_person(world: World) -> None:
    from autodeploy.errors import GitHubError

    world.deploy("api", "production", "1.1.0", 2)
    world.gitops.write(
        "prod-release", {"api/production/kustomization.yaml": "resources: [../base, extra.yaml]\n"}, "by hand"
    )
    world.gitops.write(
        "main", {"api/production/kustomization.yaml": "resources: [../base, other.yaml]\n"}, "by hand"
    )
    world.gitops.write(
        "main", {"api/production/image.yaml": image_yaml("api", "1.0.1", world.commits[1])}, "conflict"
    )

    with pytest.raises(
        GitHubError,
        match=r"cannot bring prod-release up to date with main: .*merge main into prod-release by hand",
    ):
        world.deploy("api", "production", "1.2.0", 3)
