"""Two runs on one release branch at the same moment, in threads: the fake holds each run's first
branch update until both have read, then lets one win; the loser's compare-and-swap fails for real
(422 "Reference already exists", or 409 "is at ... but expected ..."), it reads again, and both land."""

from __future__ import annotations

import threading
from collections.abc import Callable

import pytest
from github_world import World

from autodeploy.github.prbody import read_state
from autodeploy.imagefile import read_block
from autodeploy.pipeline import Outcome


def hold_first_updates(world: World, branch: str, parties: int = 2) -> list[str]:
    """Make the first `parties` updates of `branch` wait for one another; returns a log of updates."""
    barrier = threading.Barrier(parties, timeout=10)
    log: list[str] = []
    lock = threading.Lock()

    def hook(repo: str, name: str) -> None:
        if name != branch:
            return
        with lock:
            log.append(threading.current_thread().name)
            wait = len(log) <= parties
        if wait:
            barrier.wait()

    world.fake.before_ref_update = hook
    return log


def run_together(*runs: Callable[[], Outcome]) -> list[Outcome]:
    results: list[Outcome | BaseException] = [RuntimeError("did not finish")] * len(runs)

    def target(index: int) -> None:
        try:
            results[index] = runs[index]()
        except BaseException as exc:
            results[index] = exc

    threads = [threading.Thread(target=target, args=(i,), name=f"run-{i}") for i in range(len(runs))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    for result in results:
        if isinstance(result, BaseException):
            raise result
    return results  # type: ignore[return-value]


@pytest.mark.parametrize("trial", range(5))
def test_two_runs_creating_the_release_branch_both_land(github, trial: int) -> None:
    world = World(github)
    log = hold_first_updates(world, "prod-release")
    outcomes = run_together(
        lambda: world.deploy("api", "production", "1.1.0", 2, repo=world.repo()),
        lambda: world.deploy("web", "production", "2.1.0", 3, repo=world.repo()),
    )

    assert len(log) >= 3  # two branch creations held together, then at least one more write
    assert read_block(world.text("prod-release", "api/production/image.yaml") or "").tag == "1.1.0"
    assert read_block(world.text("prod-release", "web/production/image.yaml") or "").tag == "2.1.0"
    assert [p.number for p in world.gitops.pulls.values()] == [1]
    assert sorted(o.applied.pr_created for o in outcomes if o.applied) == [False, True]
    body = world.gitops.pulls[1].body
    assert "`api` | `production` | `1.0.0` → **`1.1.0`**" in body
    assert "`web` | `production` | `1.0.0` → **`2.1.0`**" in body
    state = read_state(body)
    assert state and state.head == world.gitops.refs["prod-release"]


@pytest.mark.parametrize("trial", range(5))
def test_two_runs_updating_an_open_release_pull_request_both_land(github, trial: int) -> None:
    world = World(github)
    world.deploy("api", "production", "1.1.0", 2)
    world.deploy("web", "production", "2.0.0", 2)
    log = hold_first_updates(world, "prod-release")
    run_together(
        lambda: world.deploy("api", "production", "1.2.0", 3, repo=world.repo()),
        lambda: world.deploy("web", "production", "2.1.0", 3, repo=world.repo()),
    )

    assert len(log) >= 3  # the loser's 409 made it write again
    assert read_block(world.text("prod-release", "api/production/image.yaml") or "").tag == "1.2.0"
    assert read_block(world.text("prod-release", "web/production/image.yaml") or "").tag == "2.1.0"
    body = world.gitops.pulls[1].body
    assert "`1.0.0` → **`1.2.0`**" in body and "`1.0.0` → **`2.1.0`**" in body
    assert read_state(body).head == world.gitops.refs["prod-release"]


def test_two_runs_deploying_one_app_keep_the_newer_commit(github) -> None:
    """The loser re-reads, finds a deploy built from a newer commit, and does not overwrite it."""
    world = World(github)
    world.deploy("api", "production", "1.1.0", 2)
    hold_first_updates(world, "prod-release")
    older, newer = run_together(
        lambda: world.deploy("api", "production", "1.3.0", 3, repo=world.repo()),
        lambda: world.deploy("api", "production", "1.4.0", 4, repo=world.repo()),
    )

    assert read_block(world.text("prod-release", "api/production/image.yaml") or "").tag == "1.4.0"
    skipped = [o for o in (older, newer) if o.plan.skipped]
    assert len(skipped) <= 1 and all("not downgrading" in s.plan.skipped[0].reason for s in skipped)
    assert "**`1.4.0`**" in world.gitops.pulls[1].body
