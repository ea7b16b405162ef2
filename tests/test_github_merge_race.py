"""The release pull request merges while a run is in flight (issue 10, item 1): by hand at a chosen
request of the run, or by auto-merge when CI's required check passes on its head. Its branch is
kept (GitHub's default) or deleted. After every run, its deploy must be on the base or in an open
pull request whose head holds it and whose table shows it, without a re-run; and merging what is
open must bring it to the base."""

from __future__ import annotations

import random
from collections.abc import Callable
from typing import Any

import pytest
from github_fake import FakeGitHub, Repo
from github_world import World

from autodeploy import report
from autodeploy.github.prbody import read_state
from autodeploy.imagefile import read_block
from autodeploy.options import PullOptions
from autodeploy.pipeline import Outcome

TRIALS = 50
GITOPS_PREFIX = "/repos/team/gitops"


@pytest.fixture(autouse=True)
def quiet(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(report, "info", lambda message: None)


def at_request(fake: FakeGitHub, index: int, action: Callable[[], None]) -> list[str]:
    """Run `action` just before the run's request number `index` (0-based) is carried out."""
    seen: list[str] = []

    def hook(method: str, template: str, params: dict[str, str], body: Any) -> None:
        seen.append(f"{method} {template}")
        if len(seen) == index + 1:
            action()

    fake.before_request = hook
    return seen


def tag_on(repo: Repo, branch: str, path: str) -> str | None:
    sha = repo.refs.get(branch)
    text = repo.text(sha, path) if sha else None
    block = read_block(text) if text else None
    return block.tag if block else None


def assert_held(world: World, outcome: Outcome, branch: str, path: str, tag: str) -> None:
    """The deploy is on main, or in an open pull request from `branch` that holds it and tables it;
    the pull request the run reports is that one (or, when main holds the deploy, a merged one)."""
    repo = world.gitops
    applied = outcome.applied
    if tag_on(repo, "main", path) == tag:  # merged meanwhile, with it; a re-read may find nothing to do
        reported = repo.pulls[applied.pr_number] if applied and applied.pr_number else None
        assert reported is None or reported.state == "open" or reported.merged
        return
    assert applied is not None and applied.pr_number is not None
    open_pull = repo.open_pull(branch)
    assert open_pull is not None, f"{tag} is on no open pull request and not on main"
    assert applied.pr_number == open_pull.number, "the run reported a pull request that does not hold it"
    assert tag_on(repo, branch, path) == tag
    state = read_state(open_pull.body)
    assert state is not None and state.head == repo.refs[branch], "the table is not the branch's"
    row = next(r for r in state.rows if r.path == path)
    assert row.new_tag == tag and f"**`{tag}`**" in open_pull.body
    head, into = repo.refs[branch], repo.refs["main"]
    assert repo.merge_trees(repo.merge_base(into, head), into, head) is not None, "it would conflict"


def merge_the_rest(world: World, branch: str) -> None:
    """Merge what is open from `branch`, as reviewers would."""
    open_pull = world.gitops.open_pull(branch)
    if open_pull is not None:
        world.merge_pull(open_pull.number)


@pytest.mark.parametrize("trial", range(TRIALS))
def test_the_release_pull_request_merged_by_hand_mid_run_loses_no_deploy(github, trial: int) -> None:
    rng = random.Random(trial)
    world = World(github)
    world.gitops.delete_branch_on_merge = trial % 5 == 4
    world.deploy("api", "production", "1.1.0", 2)
    world.deploy("web", "production", "2.0.0", 2)
    app, tag = rng.choice([("api", "1.2.0"), ("web", "2.1.0")])
    path = f"{app}/production/image.yaml"
    squash = rng.random() < 0.4
    index = trial % 7  # before each request of the run (5 of them), during the recovery, or never
    lost_reply = rng.random() < 0.3
    if lost_reply:  # and the answer to the file write is lost on the way back
        github.fail(502, method="PUT", template="/repos/{owner}/{repo}/contents/{path}", applied=True)

    def merge() -> None:
        pull = world.gitops.open_pull("prod-release")
        if pull is not None and pull.number == 1:
            world.merge_pull(1, squash=squash)

    at_request(github, index, merge)
    outcome = world.deploy(app, "production", tag, 3)
    github.before_request = None

    assert outcome.changed or lost_reply  # a lost reply: the re-read finds the deploy done
    assert_held(world, outcome, "prod-release", path, tag)
    merge_the_rest(world, "prod-release")
    assert tag_on(world.gitops, "main", path) == tag
    other = "web/production/image.yaml" if app == "api" else "api/production/image.yaml"
    assert tag_on(world.gitops, "main", other) == ("2.0.0" if app == "api" else "1.1.0")


@pytest.mark.parametrize("trial", range(TRIALS))
def test_auto_merge_firing_on_a_passing_check_mid_run_loses_no_deploy(github, trial: int) -> None:
    rng = random.Random(1000 + trial)
    world = World(github)
    repo = world.gitops
    repo.required_checks = {"ci"}
    repo.delete_branch_on_merge = trial % 5 == 4
    branch, path = "update-development-api", "api/development/image.yaml"
    options = PullOptions(merge_method=rng.choice(["merge", "squash"]))
    first = world.deploy("api", "development", "dev-1", 2, repo=world.repo(options=options))
    assert first.applied and first.applied.auto_merge and repo.pulls[1].auto_merge
    index = trial % 7

    def checks_pass() -> None:  # CI finishes on the head it was running for: the run's start
        if branch in repo.refs:
            repo.report_check(first_head)

    first_head = repo.refs[branch]
    at_request(github, index, checks_pass)
    outcome = world.deploy("api", "development", "dev-2", 3, repo=world.repo(options=options))
    github.before_request = None

    assert outcome.changed
    assert_held(world, outcome, branch, path, "dev-2")
    if tag_on(repo, "main", path) != "dev-2":
        pull = repo.open_pull(branch)
        assert pull is not None and pull.auto_merge is not None, "auto-merge is not on for the new head"
        assert repo.report_check(repo.refs[branch]) == [pull.number]  # CI passes on the new head
    assert tag_on(repo, "main", path) == "dev-2"


PULLS = "GET /repos/{owner}/{repo}/pulls"
CONTENTS = "GET /repos/{owner}/{repo}/contents/{path}"
COMPARE = "GET /repos/{owner}/{repo}/compare/{basehead}"
PUT = "PUT /repos/{owner}/{repo}/contents/{path}"
PATCH_PULL = "PATCH /repos/{owner}/{repo}/pulls/{pull_number}"


def test_merged_just_before_the_commit_costs_four_more_requests_and_a_new_pull_request(github) -> None:
    world = World(github)
    world.deploy("api", "production", "1.1.0", 2)
    at_request(github, 3, lambda: world.merge_pull(1))  # before the PUT: the branch is kept
    mark = world.mark()
    outcome = world.deploy("api", "production", "1.2.0", 3)

    assert world.calls_since(mark) == [
        PULLS,
        CONTENTS,
        COMPARE,  # the downgrade guard
        PUT,  # onto the kept branch, on top of the head #1 merged
        PATCH_PULL,  # answers: closed, merged, its head the commit before ours
        COMPARE,  # main...our commit: what a new pull request would hold
        COMPARE,  # our commit...main: whether main changed the same files since (no)
        "POST /repos/{owner}/{repo}/pulls",
        "POST /repos/{owner}/{repo}/issues/{issue_number}/labels",
    ]
    assert outcome.applied and outcome.applied.pr_created and outcome.applied.pr_number == 2
    assert_held(world, outcome, "prod-release", "api/production/image.yaml", "1.2.0")
    assert "`1.1.0` → **`1.2.0`**" in world.gitops.pulls[2].body  # main runs 1.1.0 now


def test_merged_just_after_the_commit_carried_it_and_costs_nothing_more(github) -> None:
    world = World(github)
    world.deploy("api", "production", "1.1.0", 2)
    at_request(github, 4, lambda: world.merge_pull(1))  # before the PATCH: #1 merges our commit
    mark = world.mark()
    outcome = world.deploy("api", "production", "1.2.0", 3)

    assert world.calls_since(mark) == [PULLS, CONTENTS, COMPARE, PUT, PATCH_PULL]
    assert outcome.applied and outcome.applied.pr_number == 1 and len(world.gitops.pulls) == 1
    assert tag_on(world.gitops, "main", "api/production/image.yaml") == "1.2.0"


@pytest.mark.parametrize("lost", [False, True], ids=["answered", "the answer to the commit lost"])
def test_squash_merged_just_before_the_commit_merges_main_in_and_opens_a_mergeable_pull_request(
    github, lost: bool
) -> None:
    world = World(github)
    world.deploy("api", "production", "1.1.0", 2)
    at_request(github, 3, lambda: world.merge_pull(1, squash=True))
    if lost:  # the retried PUT meets 409; the re-read finds the deploy done and no pull request open
        github.fail(502, method="PUT", template="/repos/{owner}/{repo}/contents/{path}", applied=True)
    mark = world.mark()
    outcome = world.deploy("api", "production", "1.2.0", 3)

    calls = world.calls_since(mark)
    assert calls[:4] == [PULLS, CONTENTS, COMPARE, PUT]
    assert "POST /repos/{owner}/{repo}/merges" in calls  # 409, then a merge made by hand
    assert len(calls) == (25 if lost else 20)
    assert outcome.applied and outcome.applied.pr_number == 2
    assert_held(world, outcome, "prod-release", "api/production/image.yaml", "1.2.0")
    assert "`1.1.0` → **`1.2.0`**" in world.gitops.pulls[2].body


def test_closed_unmerged_mid_run_opens_a_new_pull_request_holding_both_deploys(github) -> None:
    world = World(github)
    world.deploy("api", "production", "1.1.0", 2)
    at_request(github, 3, lambda: world.gitops.close(world.gitops.pulls[1]))
    outcome = world.deploy("web", "production", "2.1.0", 3)

    assert outcome.applied and outcome.applied.pr_number == 2
    assert_held(world, outcome, "prod-release", "web/production/image.yaml", "2.1.0")
    body = world.gitops.pulls[2].body
    assert "`1.0.0` → **`1.1.0`**" in body and "`1.0.0` → **`2.1.0`**" in body
