"""A deploy interrupted between its commit and its pull request's table (issue 10, item 3): a lost
answer to the file write, an error on the pull request's update, Ctrl-C in a real process. The
table and its hidden state must end up describing the branch's files: in the same run when it
goes on, else in the next run, which finds them out of step."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import pytest
from github_fake import TOKEN, Dropped, FakeGitHub
from github_world import SOURCE, World, digest

from autodeploy.errors import GitHubError
from autodeploy.github.prbody import read_state
from autodeploy.imagefile import read_block

ROOT = Path(__file__).resolve().parents[1]
PUT = ("PUT", "/repos/{owner}/{repo}/contents/{path}")
PATCH_PULL = ("PATCH", "/repos/{owner}/{repo}/pulls/{pull_number}")


def assert_table_is_the_branchs(world: World, branch: str = "prod-release", number: int = 1) -> None:
    """Every image file the branch changes has a row with its block, and the state names the head."""
    repo = world.gitops
    pull = repo.pulls[number]
    state = read_state(pull.body)
    assert state is not None and state.head == repo.refs[branch], "the hidden state names another head"
    rows = {row.path: row for row in state.rows}
    head, main = repo.commits[repo.refs[branch]].tree, repo.commits[repo.refs["main"]].tree
    changed = sorted(p for p in head if p.endswith("image.yaml") and head[p] != main.get(p))
    assert sorted(rows) == changed
    for path in changed:
        block = read_block(world.text(branch, path) or "")
        assert block is not None
        row = rows[path]
        assert (row.new_tag, row.digest, row.commit) == (block.tag, block.digest, block.commit), path
        assert f"**`{block.tag}`**" in pull.body


def tag(world: World, branch: str, path: str) -> str | None:
    block = read_block(world.text(branch, path) or "")
    return block.tag if block else None


@pytest.fixture
def world(github) -> World:
    return World(github)


@pytest.mark.parametrize("status", [502, 0], ids=["a 502", "a dropped connection"])
def test_a_lost_answer_to_the_file_write_is_tabled_in_the_same_run(world: World, status: int) -> None:
    world.deploy("api", "production", "1.1.0", 2)
    world.fake.fail(status, method=PUT[0], template=PUT[1], applied=True)
    outcome = world.deploy("api", "production", "1.2.0", 3)  # the retried PUT meets 409: re-read

    assert tag(world, "prod-release", "api/production/image.yaml") == "1.2.0"
    assert outcome.applied and outcome.applied.pr_number == 1
    assert_table_is_the_branchs(world)
    mark = world.mark()
    world.deploy("api", "production", "1.2.0", 3)
    assert len(world.calls_since(mark)) == 2  # in step again: the cheap no-op


def test_a_lost_answer_for_an_app_joining_the_release_is_tabled(world: World) -> None:
    world.deploy("api", "production", "1.1.0", 2)
    world.fake.fail(502, method=PUT[0], template=PUT[1], applied=True)
    world.deploy("web", "production", "2.1.0", 3)

    assert_table_is_the_branchs(world)
    assert "`1.0.0` → **`1.1.0`**" in world.gitops.pulls[1].body


def test_an_error_on_the_pull_request_update_is_repaired_by_the_next_run(world: World) -> None:
    world.deploy("api", "production", "1.1.0", 2)
    world.fake.fail(502, method=PATCH_PULL[0], template=PATCH_PULL[1], times=10)
    with pytest.raises(GitHubError, match="GitHub kept failing"):
        world.deploy("api", "production", "1.2.0", 3)
    assert tag(world, "prod-release", "api/production/image.yaml") == "1.2.0"
    assert "**`1.1.0`**" in world.gitops.pulls[1].body  # the table lags behind the branch
    world.fake.faults.clear()

    mark = world.mark()
    outcome = world.deploy("api", "production", "1.2.0", 3)  # the same deploy: nothing to commit
    assert not outcome.plan.changed
    assert world.calls_since(mark) == [
        "GET /repos/{owner}/{repo}/pulls",
        "GET /repos/{owner}/{repo}/contents/{path}",  # the branch's file: the state names another head
        "GET /repos/{owner}/{repo}/git/ref/{ref}",  # out of step: the branch's head
        "GET /repos/{owner}/{repo}/compare/{basehead}",  # and what it changes
        "PATCH /repos/{owner}/{repo}/pulls/{pull_number}",
    ]
    assert_table_is_the_branchs(world)


def test_another_apps_deploy_after_a_lagging_table_tables_both(world: World) -> None:
    world.deploy("api", "production", "1.1.0", 2)
    world.fake.fail(502, method=PATCH_PULL[0], template=PATCH_PULL[1], times=10)
    with pytest.raises(GitHubError):
        world.deploy("api", "production", "1.2.0", 3)
    world.fake.faults.clear()
    world.deploy("web", "production", "2.1.0", 3)

    assert_table_is_the_branchs(world)


def test_a_lost_answer_to_opening_the_pull_request_opens_one(world: World) -> None:
    world.fake.fail(502, method="POST", template="/repos/{owner}/{repo}/pulls", applied=True)
    outcome = world.deploy("api", "production", "1.1.0", 2)  # the retry meets "already exists"

    assert len(world.gitops.pulls) == 1 and outcome.applied and outcome.applied.pr_number == 1
    assert_table_is_the_branchs(world)


# -- Ctrl-C in a real process -------------------------------------------------------------------


def cli(fake: FakeGitHub, world: World, tag_: str, commit: int, cwd: Path) -> subprocess.Popen[str]:
    """`python -m autodeploy deploy --gitops-repo` in its own process, against the fake over HTTP."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GITHUB_", "AUTODEPLOY_", "INPUT_"))}
    env.update(GITHUB_API_URL=fake.api_url, GITHUB_TOKEN=TOKEN, PYTHONPATH=str(ROOT))
    argv = [
        *("deploy", "--gitops-repo", "team/gitops", "--base-branch", "main", "--app", "api"),
        *("--env", "production", "--image", "registry.example.com/team/api", "--tag", tag_),
        *("--digest", digest(tag_), "--commit", world.commits[commit], "--source-repo", SOURCE),
    ]
    return subprocess.Popen(
        [sys.executable, "-m", "autodeploy", *argv],
        cwd=cwd,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def finish(process: subprocess.Popen[str]) -> tuple[int, str]:
    _, err = process.communicate(timeout=60)
    return process.returncode, err


def test_ctrl_c_between_the_commit_and_the_table_is_repaired_by_the_next_run(tmp_path: Path) -> None:
    with FakeGitHub.on_localhost() as fake:
        world = World(fake)
        code, err = finish(cli(fake, world, "1.1.0", 2, tmp_path))
        assert code == 0, err
        reached, release = threading.Event(), threading.Event()

        def hold_the_table(method: str, template: str, params: dict[str, str], body: Any) -> None:
            if (method, template) == PATCH_PULL and not release.is_set():
                reached.set()
                release.wait(30)
                raise Dropped("the run was stopped before its pull request's update")

        fake.before_request = hold_the_table
        process = cli(fake, world, "1.2.0", 3, tmp_path)
        try:
            assert reached.wait(60), "the run never reached its pull request's update"
            process.send_signal(signal.SIGINT)
            code, err = finish(process)
        finally:
            release.set()
            if process.poll() is None:
                process.kill()
        assert code == 130, err
        assert tag(world, "prod-release", "api/production/image.yaml") == "1.2.0"
        assert "**`1.1.0`**" in world.gitops.pulls[1].body  # committed; the table not written

        fake.before_request = None
        code, err = finish(cli(fake, world, "1.2.0", 3, tmp_path))
        assert code == 0, err
        assert "rebuilding it from the branch" in err
        assert_table_is_the_branchs(world)
        assert not fake.problems, fake.problems[:5]


def test_a_run_stopped_right_after_opening_its_pull_request_is_finished_by_the_next(world: World) -> None:
    world.fake.fail(
        502, method="POST", template="/repos/{owner}/{repo}/issues/{issue_number}/labels", times=10
    )
    with pytest.raises(GitHubError):
        world.deploy("api", "development", "dev-1", 2)
    pull = world.gitops.pulls[1]
    assert not pull.labels and pull.auto_merge is None
    world.fake.faults.clear()

    outcome = world.deploy("api", "development", "dev-1", 2)  # the same deploy: nothing to commit
    assert outcome.applied and outcome.applied.auto_merge
    assert pull.labels == ["auto-deploy"] and pull.auto_merge is not None
    mark = world.mark()
    world.deploy("api", "development", "dev-1", 2)
    assert len(world.calls_since(mark)) == 2  # finished: the cheap no-op again


def test_a_no_op_tables_a_body_people_wrote_but_not_one_too_long_for_its_state(world: World) -> None:
    world.deploy("api", "production", "1.1.0", 2)
    pull = world.gitops.pulls[1]
    pull.body = "Production release"  # as today's action writes it
    world.deploy("api", "production", "1.1.0", 2)
    assert_table_is_the_branchs(world)

    pull.body = pull.body.split("<!-- autodeploy:state")[0] + "<!-- autodeploy:end -->"
    mark = world.mark()
    world.deploy("api", "production", "1.1.0", 2)
    assert len(world.calls_since(mark)) == 2 and world.gitops.pulls[1].body == pull.body
