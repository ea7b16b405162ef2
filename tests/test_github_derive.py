"""An open pull request's file derived from its base: when it may be, and what a wrong guess costs."""

from __future__ import annotations

from dataclasses import replace

import pytest
from github_world import SOURCE, World, image_yaml, with_block

from autodeploy.github.derive import branch_text, current_state
from autodeploy.github.models import Pull
from autodeploy.github.prbody import Row, State, write_body
from autodeploy.imagefile import read_block

PATH = "api/production/image.yaml"
OLD, NEW, HEAD = "a" * 40, "b" * 40, "c" * 40
BASE = image_yaml("api", "1.0.0", OLD)
BRANCH = with_block(BASE, "api", "1.1.0", NEW)
OLD_BLOCK, NEW_BLOCK = read_block(BASE), read_block(BRANCH)
assert OLD_BLOCK and NEW_BLOCK
ROW = Row(
    PATH,
    "api",
    "production",
    NEW_BLOCK.tag,
    NEW_BLOCK.digest,
    NEW,
    NEW_BLOCK.repo_url,
    OLD_BLOCK.tag,
    OLD_BLOCK.digest,
    OLD,
    source_repo=SOURCE,
)
PUT = "PUT /repos/{owner}/{repo}/contents/{path}"
CONTENTS = "GET /repos/{owner}/{repo}/contents/{path}"


def pull(*rows: Row, head: str = HEAD, state_head: str | None = HEAD, body: str | None = None) -> Pull:
    text = body if body is not None else write_body("Release notes.", State(state_head, rows))
    return Pull(
        1,
        "https://github.com/team/gitops/pull/1",
        "PR_1",
        "Production release",
        text,
        head,
        "main",
        (),
        False,
    )


def derived(base: str, *rows: Row) -> str | None:
    state = current_state(pull(*rows))
    assert state is not None
    return branch_text(PATH, base, state)


def test_the_branchs_file_is_the_bases_with_the_rows_block() -> None:
    assert derived(BASE, ROW) == BRANCH


def test_a_state_without_the_source_repo_takes_the_bases_comment() -> None:
    assert derived(BASE, replace(ROW, source_repo=None)) == BRANCH


def test_a_file_the_branch_does_not_change_is_the_bases() -> None:
    other = replace(ROW, path="web/production/image.yaml", app="web")
    assert derived(BASE, other) == BASE


@pytest.mark.parametrize(
    "why, made",
    [
        ("the branch moved past the state", lambda: pull(ROW, head="d" * 40)),
        ("a table not written yet", lambda: pull(ROW, state_head=None)),
        ("a body people wrote", lambda: pull(body="Deploys api 1.1.0")),
    ],
)
def test_no_state_when_it_does_not_describe_the_head(why: str, made) -> None:
    assert current_state(made()) is None, why


@pytest.mark.parametrize(
    "base",
    [
        with_block(BASE, "api", "0.9.0", OLD),  # a rollback merged into main
        with_block(BASE, "api", "1.0.0", "e" * 40),  # the same tag, rebuilt from another commit
        BASE.replace("https://github.com/team/api", "https://github.com/team/api-v2"),  # the repo moved
        "apiVersion: v1\nkind: ConfigMap\n",  # no generated block any more
        "spec: [unclosed\n",  # not YAML
    ],
)
def test_no_derivation_when_the_base_deploys_something_else_now(base: str) -> None:
    assert derived(base, ROW) is None


@pytest.fixture
def world(github) -> World:
    return World(github)


def reads(world: World, mark: int) -> list[str | None]:
    """The ref of each file read since `mark`."""
    return [c.query.get("ref") for c in world.fake.calls[mark:] if f"{c.method} {c.template}" == CONTENTS]


def puts(world: World, mark: int) -> list[int]:
    """The status of each contents PUT since `mark`."""
    return [c.status for c in world.fake.calls[mark:] if f"{c.method} {c.template}" == PUT]


def test_an_update_reads_the_base_and_proves_the_guess_with_its_write(world: World) -> None:
    world.deploy("api", "production", "1.1.0", 2)
    mark = world.mark()
    outcome = world.deploy("api", "production", "1.2.0", 3)

    assert reads(world, mark) == ["main"]
    assert puts(world, mark) == [200]
    assert outcome.plan.changes[0].old_text == world.gitops.text(
        world.gitops.commits[world.gitops.refs["prod-release"]].parents[0], PATH
    )


def test_a_hand_edit_on_the_branch_is_read_and_kept(world: World) -> None:
    world.deploy("api", "production", "1.1.0", 2)
    edited = (world.text("prod-release", PATH) or "").replace("replicaCount: 2", "replicaCount: 9")
    world.edit_on("prod-release", PATH, edited)
    mark = world.mark()
    world.deploy("api", "production", "1.2.0", 3)

    assert reads(world, mark) == ["prod-release"]  # the state names the head before the edit: no derivation
    text = world.text("prod-release", PATH) or ""
    assert "replicaCount: 9" in text and (read_block(text) or OLD_BLOCK).tag == "1.2.0"


def test_an_edit_on_main_outside_the_block_costs_one_lost_swap_then_a_merge(world: World) -> None:
    world.deploy("api", "production", "1.1.0", 2)
    world.gitops.write(
        "main", {PATH: (world.text("main", PATH) or "").replace("replicaCount: 2", "replicaCount: 3")}
    )
    mark = world.mark()
    world.deploy("api", "production", "1.2.0", 3)

    assert puts(world, mark) == [409, 200]
    text = world.text("prod-release", PATH) or ""
    assert "replicaCount: 3" in text and (read_block(text) or OLD_BLOCK).tag == "1.2.0"


def test_a_deploy_merged_into_main_meanwhile_is_seen_before_any_write(world: World) -> None:
    world.deploy("api", "production", "1.1.0", 2)
    world.gitops.write(
        "main", {PATH: with_block(world.text("main", PATH) or "", "api", "1.0.1", world.commits[1])}
    )
    mark = world.mark()
    world.deploy("api", "production", "1.2.0", 3)

    assert puts(world, mark) == [200]
    assert reads(world, mark)[:2] == ["main", "prod-release"]
    assert "`1.0.1` → **`1.2.0`**" in world.gitops.pulls[1].body


def test_a_dry_run_reads_the_branch_itself(world: World) -> None:
    world.deploy("api", "production", "1.1.0", 2)
    mark = world.mark()
    world.deploy("api", "production", "1.2.0", 3, dry_run=True)

    assert reads(world, mark) == ["prod-release"]
