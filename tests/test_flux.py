"""The verdict of Flux's commit statuses for one environment (autodeploy/flux.py)."""

from __future__ import annotations

import pytest

from autodeploy.errors import InputError
from autodeploy.flux import CommitStatus, Rollout, context_globs, judge


def status(
    context: str,
    state: str = "success",
    description: str = "reconciliation succeeded",
    at: str = "2026-12-01T10:00:00Z",
) -> CommitStatus:
    return CommitStatus(context, state, description, at)


STAGING = context_globs([], app="my-api", env="staging")


def test_default_glob_is_the_environments_kustomization() -> None:
    assert STAGING == ("kustomization/*staging*",)


def test_placeholders_are_filled_and_lowercased() -> None:
    assert context_globs(
        ["HelmRelease/{app}/*", "kustomization/{app}-{env}/*"], app="My-Api", env="prod"
    ) == (
        "helmrelease/my-api/*",
        "kustomization/my-api-prod/*",
    )


@pytest.mark.parametrize("pattern", ["kustomization/{environment}/*", "x/{app", ""])
def test_unknown_placeholders_and_empty_globs_are_refused(pattern: str) -> None:
    with pytest.raises(InputError):
        context_globs([pattern], app="a", env="e")


def test_success_when_every_matching_status_succeeded() -> None:
    verdict = judge([status("kustomization/my-team-staging/0c9c2e41"), status("ci", "pending")], STAGING)
    assert verdict.rollout is Rollout.SUCCESS
    assert verdict.context == "kustomization/my-team-staging/0c9c2e41"


def test_another_environments_failure_does_not_decide() -> None:
    statuses = [status("kustomization/my-team-production/0c9c2e41", "failure", "health check failed")]
    verdict = judge(statuses, STAGING)
    assert verdict.rollout is Rollout.PENDING
    assert verdict.missing == STAGING


def test_a_matching_failure_decides_with_fluxs_description() -> None:
    statuses = [
        status("kustomization/my-team-staging/0c9c2e41"),
        status("kustomization/my-team-staging-extra/0c9c2e41", "failure", "health check failed"),
    ]
    verdict = judge(statuses, STAGING)
    assert (verdict.rollout, verdict.description) == (Rollout.FAILURE, "health check failed")


def test_every_glob_must_match_at_least_once() -> None:
    globs = context_globs(["kustomization/*{env}*", "helmrelease/{app}/*"], app="my-api", env="staging")
    assert judge([status("kustomization/my-team-staging/1")], globs).missing == ("helmrelease/my-api/*",)
    both = [
        status("kustomization/my-team-staging/1"),
        status("helmrelease/my-api/2", at="2026-12-01T10:05:00Z"),
    ]
    assert judge(both, globs).context == "helmrelease/my-api/2"


def test_nothing_posted_is_pending() -> None:
    assert judge([], STAGING).rollout is Rollout.PENDING
