"""The wait after a deploy, against the fake GitHub whose Flux posts statuses as the
notification-controller does; the clock moves only when the wait sleeps."""

from __future__ import annotations

import pytest
from github_fake import FakeGitHub
from wait_world import WaitRun

from autodeploy.options import WaitOptions
from autodeploy.rollout import Result


@pytest.fixture
def run(github: FakeGitHub) -> WaitRun:
    return WaitRun(github)


def test_success_after_the_merge(run: WaitRun) -> None:
    outcome = run.deploy("api", "staging", "2.0.0")
    assert outcome.applied and outcome.applied.pr_number == 1
    run.fake.later(2, lambda: run.world.merge_pull(1))
    run.fake.flux_reconciles(run.gitops, "apps-staging", pull=1, after=2)
    mark = len(run.fake.calls)
    waited = run.wait_after(outcome).waited
    assert waited is not None
    print("\n".join(run.lines))
    print(run.calls(mark))
    assert waited.result is Result.SUCCESS
    assert waited.flux_status == "reconciliation succeeded"
