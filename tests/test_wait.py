"""The wait after a deploy, against the fake GitHub whose Flux posts commit statuses as the
notification-controller does (context kustomization/<name>/<uid8>, on the newest commit of the
branch, a number of requests later); the clock moves only when the wait sleeps."""

from __future__ import annotations

from dataclasses import replace

import pytest
from github_fake import FakeGitHub
from github_world import SOURCE, with_block
from wait_world import DEPLOY_TOKEN, DEPLOYMENT, WaitRun

from autodeploy.errors import AutodeployError, GitHubError
from autodeploy.flux import Rollout
from autodeploy.options import WaitOptions
from autodeploy.rollout import Result

STAGING = "kustomization/apps-staging/0c9c2e41"


@pytest.fixture
def run(github: FakeGitHub) -> WaitRun:
    return WaitRun(github)


def opened(run: WaitRun, app: str = "api", env: str = "staging", tag: str = "2.0.0") -> object:
    outcome = run.deploy(app, env, tag)
    assert outcome.applied and outcome.applied.pr_number == 1
    return outcome


def test_merged_then_reconciled_is_a_success_with_its_timeline(run: WaitRun) -> None:
    outcome = opened(run)
    run.fake.later(3, lambda: run.world.merge_pull(1))  # a person merges it on the wait's third poll
    run.fake.flux_reconciles(run.gitops, "apps-staging", pull=1, after=3)
    mark = len(run.fake.calls)
    waited = run.wait_after(outcome)  # type: ignore[arg-type]
    assert waited.result is Result.SUCCESS
    assert waited.flux_status == "reconciliation succeeded"
    assert waited.merged_at == "2026-01-01T00:00:00Z"
    assert waited.merge_commit == run.gitops.refs["main"]
    assert [e.name for e in waited.events] == ["opened", "merged", "reconciled"]
    assert run.polls(mark) == [
        "GET pulls 200",  # first poll: open, and its head's checks for the first progress line
        "GET status 200",
        "GET pulls 200",  # merged
        "GET status 200",  # the base's head is the merge commit: its statuses, none yet
        "GET status 304",
        "GET status 200",  # Flux posted
    ]
    assert waited.requests == 6
    assert run.lines[0] == "waiting for #1 to merge: auto-merge off, no checks reported yet (0s)"
    assert run.lines[1].startswith("#1 merged by alice at 2026-01-01T00:00:00Z as ")
    assert run.lines[-1] == f"api/staging: {STAGING}: reconciliation succeeded (7s)"
    assert run.clock.slept == [2.0, 2.0, 3.0]  # 2 s, again 2 s after the merge, then backing off


def test_a_304_costs_no_rate_limit(run: WaitRun) -> None:
    outcome = opened(run)
    run.fake.later(6, lambda: run.world.merge_pull(1))
    run.fake.flux_reconciles(run.gitops, "apps-staging", pull=1, after=6)
    before = run.fake.rate_remaining
    waited = run.wait_after(outcome)  # type: ignore[arg-type]
    assert waited.result is Result.SUCCESS
    not_modified = sum(1 for c in run.fake.calls if c.status == 304)
    assert (not_modified, waited.requests) == (7, 12)
    assert before - run.fake.rate_remaining == waited.requests - not_modified


def test_flux_s_failure_ends_the_wait_with_its_description(run: WaitRun) -> None:
    outcome = opened(run)
    run.world.merge_pull(1)
    run.fake.flux_reconciles(
        run.gitops, "apps-staging", state="failure", description="health check failed after 2m0s", after=1
    )
    waited = run.wait_after(outcome)  # type: ignore[arg-type]
    assert waited.result is Result.FAILURE and waited.failed
    assert waited.flux_status == "health check failed after 2m0s"
    assert [e.name for e in waited.events] == ["opened", "merged", "failed"]
    assert waited.requests == 2  # the pull request, merged; the merge commit's statuses


def test_nothing_from_flux_is_a_timeout_with_progress_at_least_every_30_s(run: WaitRun) -> None:
    outcome = opened(run)
    run.world.merge_pull(1)
    waited = run.wait_after(outcome, WaitOptions(timeout=180))  # type: ignore[arg-type]
    assert waited.result is Result.TIMEOUT and waited.failed
    assert waited.events[-1].name == "timeout"
    assert max(run.clock.slept) == 30.0 and run.clock.now - 1000.0 == pytest.approx(180.0)
    progress = [line for line in run.lines if line.startswith("waiting for Flux on ")]
    assert progress[0].endswith("no status matches kustomization/*staging* yet (30s)")
    assert [line.rsplit("(", 1)[1] for line in progress] == [
        "30s)",
        "1m00s)",
        "1m30s)",
        "2m00s)",
        "2m30s)",
        "3m00s)",
    ]
    assert run.lines[-1] == "no verdict from Flux within 3m00s (--wait-timeout)"
    assert waited.requests == 14  # polls backing off to 30 s: 13 of them 304s after the first
    warned = run.wait_after(outcome, WaitOptions(timeout=5, on_timeout="warn"))  # type: ignore[arg-type]
    assert warned.result is Result.TIMEOUT and not warned.failed


def test_a_later_commit_on_the_base_that_still_holds_the_digest_counts(run: WaitRun) -> None:
    """Flux reconciles the newest commit: its status lands on a commit after the merge commit."""
    outcome = opened(run)
    run.world.merge_pull(1)
    merge = run.gitops.refs["main"]
    later = run.gitops.write("main", {"docs/readme.md": "x\n"}, "docs")
    run.fake.flux_reconciles(run.gitops, "apps-staging", after=4)  # on the head: `later`
    mark = len(run.fake.calls)
    waited = run.wait_after(outcome)  # type: ignore[arg-type]
    assert waited.result is Result.SUCCESS
    assert run.gitops.statuses.get(merge) is None and later in run.gitops.statuses
    assert run.polls(mark) == [
        "GET pulls 200",
        "GET status 200",  # the base's head, `later`: no status yet
        "POST graphql 200",  # its first-parent line back to the merge commit, with the file at each
        "GET status 200",  # the merge commit's own statuses
        "GET status 200",  # Flux posted on `later`
        "GET status 304",
    ]


def test_a_later_commit_that_deployed_another_digest_does_not_count(run: WaitRun) -> None:
    outcome = opened(run)
    run.world.merge_pull(1)
    path = "api/staging/image.yaml"
    text = run.world.text("main", path)
    assert text is not None
    run.gitops.write("main", {path: with_block(text, "api", "3.0.0", run.world.commits[4])}, "deploy 3.0.0")
    run.fake.flux_reconciles(run.gitops, "apps-staging", after=1)  # a success, but of 3.0.0
    waited = run.wait_after(outcome, WaitOptions(timeout=20))  # type: ignore[arg-type]
    assert waited.result is Result.TIMEOUT
    assert waited.verdicts[0].rollout is Rollout.PENDING


def test_other_environments_kustomizations_on_the_same_commit_do_not_decide(run: WaitRun) -> None:
    outcome = opened(run)
    run.world.merge_pull(1)
    run.fake.flux_reconciles(run.gitops, "apps-production", state="failure", after=0)
    run.fake.flux_reconciles(run.gitops, "apps-development", after=0)
    run.fake.flux_reconciles(run.gitops, "apps-staging", after=3)
    waited = run.wait_after(outcome)  # type: ignore[arg-type]
    assert waited.result is Result.SUCCESS
    assert waited.verdicts[0].context == STAGING


def test_several_globs_each_need_a_match(run: WaitRun) -> None:
    outcome = opened(run)
    run.world.merge_pull(1)
    run.fake.flux_reconciles(run.gitops, "apps-staging", after=0)
    run.fake.flux_reconciles(run.gitops, "api", kind="helmrelease", uid="5f3a1b2c", after=4)
    options = WaitOptions(flux_contexts=("kustomization/*{env}*", "helmrelease/{app}/*"))
    waited = run.wait_after(outcome, options)  # type: ignore[arg-type]
    assert waited.result is Result.SUCCESS
    assert "waiting for Flux" not in " ".join(run.lines) or any(
        "helmrelease/api/*" in line for line in run.lines
    )


def test_auto_merge_waits_for_the_required_check(run: WaitRun) -> None:
    run.gitops.required_checks = {"ci"}
    outcome = run.deploy("api", "development", "2.0.0")  # development: auto-merge on
    assert outcome.applied and outcome.applied.auto_merge
    head = run.gitops.refs[outcome.applied.branch or ""]
    run.gitops.report_check(head, "ci", "pending")
    run.fake.later(4, lambda: run.gitops.report_check(head, "ci", "success"))  # GitHub merges then
    run.fake.flux_reconciles(run.gitops, "apps-development", pull=outcome.applied.pr_number, after=2)
    waited = run.wait_after(outcome)  # type: ignore[arg-type]
    assert waited.result is Result.SUCCESS
    assert run.lines[0] == "waiting for #1 to merge: auto-merge on, check ci pending (0s)"
    assert run.lines[1].startswith("#1 merged by autodeploy[bot] at ")


def test_a_pull_request_closed_without_merging_is_a_clear_error(run: WaitRun) -> None:
    outcome = opened(run)
    run.fake.later(2, lambda: run.gitops.close(run.gitops.pulls[1]))
    with pytest.raises(AutodeployError, match=r"#1 \(.*/pull/1\) was closed without merging"):
        run.wait_after(outcome)  # type: ignore[arg-type]


def test_a_5xx_or_403_while_polling_is_retried_then_a_clear_error(run: WaitRun) -> None:
    outcome = opened(run)
    run.world.merge_pull(1)
    run.fake.fail(502, template="/repos/{owner}/{repo}/commits/{ref}/status", times=4)
    run.fake.fail(403, template="/repos/{owner}/{repo}/commits/{ref}/status", message="Forbidden", times=1)
    run.fake.flux_reconciles(run.gitops, "apps-staging", after=9)
    waited = run.wait_after(outcome, watch=run.watch(max_attempts=2))  # type: ignore[arg-type]
    assert waited.result is Result.SUCCESS
    assert sum("a poll failed" in line for line in run.lines) == 3  # 2 × (502, 502), then the 403
    run.fake.fail(503, template="/repos/{owner}/{repo}/pulls/{pull_number}", times=99)
    again = run.deploy("api", "staging", "2.1.0")
    with pytest.raises(GitHubError, match="gave up waiting after 4 failed polls in a row: .*503"):
        run.wait_after(again, watch=run.watch(max_attempts=2))  # type: ignore[arg-type]


def test_the_requests_per_minute_are_bounded(run: WaitRun) -> None:
    outcome = opened(run)
    run.world.merge_pull(1)
    waited = run.wait_after(outcome, WaitOptions(timeout=120, max_requests_per_minute=3))  # type: ignore[arg-type]
    assert waited.result is Result.TIMEOUT
    times = [1000.0 + sum(run.clock.slept[:i]) for i in range(len(run.clock.slept) + 1)]
    for start in times:
        assert sum(1 for t in times if start <= t < start + 60) <= 3


def test_deployments_follow_the_wait(run: WaitRun) -> None:
    outcome = opened(run)
    run.fake.later(2, lambda: run.world.merge_pull(1))
    run.fake.flux_reconciles(run.gitops, "apps-staging", pull=1, after=1)
    waited = run.wait_after(outcome, WaitOptions(deployment=DEPLOYMENT))  # type: ignore[arg-type]
    assert waited.result is Result.SUCCESS
    (made,) = run.fake.deployments_of(SOURCE)
    assert waited.deployment_ids == (made.id,)
    assert [s.state for s in made.statuses] == ["queued", "in_progress", "success"]
    assert made.statuses[0].log_url.endswith("/pull/1")
    assert made.statuses[-1].description == "reconciliation succeeded"
    assert made.sha == run.world.commits[2] and made.environment == "staging"


def test_cancelled_while_waiting_marks_the_deployment_error_and_leaves_the_rest(run: WaitRun) -> None:
    outcome = opened(run)

    def interrupted(seconds: float) -> None:
        raise KeyboardInterrupt

    run.clock.sleep = interrupted  # type: ignore[method-assign]
    with pytest.raises(KeyboardInterrupt):
        run.wait_after(outcome, WaitOptions(deployment=DEPLOYMENT))  # type: ignore[arg-type]
    (made,) = run.fake.deployments_of(SOURCE)
    assert [(s.state, s.description) for s in made.statuses] == [
        ("queued", "pull request opened"),
        ("error", "cancelled"),
    ]
    assert run.gitops.pulls[1].state == "open"
    assert run.lines[-1] == "cancelled while waiting: the pull request and commits stay as they are"


def test_a_dry_run_is_not_waited_for(run: WaitRun) -> None:
    outcome = run.world.deploy("api", "staging", "2.0.0", 2, guard=False, dry_run=True)
    mark = len(run.fake.calls)
    waited = run.wait_after(replace(outcome))
    assert waited.result is Result.NOT_WAITED and not waited.failed
    assert len(run.fake.calls) == mark


@pytest.mark.parametrize(
    ("on_timeout", "states"),
    [("fail", ["queued", "in_progress", "failure"]), ("warn", ["queued", "in_progress"])],
)
def test_a_timeout_fails_the_deployment_unless_it_only_warns(
    run: WaitRun, on_timeout: str, states: list[str]
) -> None:
    outcome = opened(run)
    run.world.merge_pull(1)
    waited = run.wait_after(outcome, WaitOptions(timeout=10, on_timeout=on_timeout, deployment=DEPLOYMENT))  # type: ignore[arg-type]
    assert waited.result is Result.TIMEOUT
    (made,) = run.fake.deployments_of(SOURCE)
    assert [s.state for s in made.statuses] == states  # a later `wait --gitops-commit` may finish it


def test_a_token_that_cannot_write_deployments_is_a_warning_not_a_failure(
    run: WaitRun, capsys: pytest.CaptureFixture[str]
) -> None:
    run.fake.add_token(DEPLOY_TOKEN, {"deployments": "read", "metadata": "read"}, repos={SOURCE})
    outcome = opened(run)
    run.world.merge_pull(1)
    run.fake.flux_reconciles(run.gitops, "apps-staging", after=1)
    waited = run.wait_after(outcome, WaitOptions(deployment=DEPLOYMENT))  # type: ignore[arg-type]
    assert waited.result is Result.SUCCESS and waited.deployment_ids == ()
    warned = capsys.readouterr().err
    assert "GitHub Deployments: " in warned and "`deployments: write`" in warned, warned
