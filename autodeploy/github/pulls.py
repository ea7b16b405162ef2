"""The pull request of a deploy branch: open it or update its table; label, reviewers, auto-merge.

Two runs may update one body at once, and GitHub has no compare-and-swap for a body. Each run
writes the table of the branch as of its own commit (the previous table plus its rows, when that
table described its commit's parent; otherwise rebuilt from a comparison with the base), then
looks at the head GitHub reports with the update: when a later commit has landed, it rebuilds the
table from that head and writes again (bounded). The last writer therefore describes the branch
as it was when it wrote; and a table that lags behind its branch (its state names an older head)
is rebuilt by the next run.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from autodeploy import report
from autodeploy.errors import ConflictError
from autodeploy.github.api import RepoApi
from autodeploy.github.models import Pull
from autodeploy.github.prbody import Row, State, merge_rows, read_state, write_body
from autodeploy.github.rows import rows_from_comparison
from autodeploy.options import PullOptions
from autodeploy.plan import DeployPlan

MAX_BODY_REWRITES = 3
_MERGE_NOW = ("clean status", "unstable status", "has_hooks status")


class PullRequests:
    def __init__(self, api: RepoApi, options: PullOptions, pattern: re.Pattern[str]) -> None:
        self.api = api
        self.options = options
        self.pattern = pattern

    def table(self, head: str, base: str, previous: State | None, own: Sequence[Row]) -> State:
        """The branch's rows at `head`, rebuilt from a comparison with the base, `own` rows on top."""
        before = {row.path: row for row in previous.rows} if previous else {}
        changes = self.api.compare(base, head)
        derived = rows_from_comparison(changes, self.pattern, before) if changes else tuple(before.values())
        return State(head, merge_rows(derived, own))

    def open(self, *, plan: DeployPlan, branch: str, base: str, state: State) -> tuple[Pull, bool]:
        """Open the pull request; if another run just opened one, update that one instead."""
        created = self.api.create_pull(
            title=plan.title,
            branch=branch,
            base=base,
            body=write_body(self.options.body, state, origin=self.options.origin),
            draft=self.options.draft,
        )
        if created is not None:
            return created, True
        existing = self.api.open_pull(branch)
        if existing is None:
            raise ConflictError(
                f"a pull request from {branch} was opened and closed while autodeploy opened one"
            )
        table = self.table(existing.head_sha, base, read_state(existing.body), state.rows)
        return self.update(existing, base=base, state=table), False

    def update(self, pull: Pull, *, base: str, state: State, parent: str | None = None) -> Pull:
        """Write `state` into the body; when the head moved on meanwhile, rebuild from it (bounded).

        `parent` is the parent of the commit `state` describes: GitHub updates a pull request's
        head a moment after a push, so an answer naming the parent is that lag, not a newer commit."""
        written = state
        for _ in range(MAX_BODY_REWRITES):
            updated = self.api.update_pull(
                pull.number, write_body(pull.body, written, origin=self.options.origin)
            )
            if updated.head_sha in {written.head, parent} or not updated.is_open:
                return updated  # a closed pull request's head stays put: the caller looks at it
            report.info(f"{pull.url}: the branch moved on to {updated.head_sha[:7]}; rewriting its table")
            pull, parent = updated, None
            written = self.table(updated.head_sha, base, written, ())
        return pull

    def finish(self, pull: Pull, *, plan: DeployPlan, created: bool, joined: bool = False) -> bool:
        """Labels, reviewers (when the pull request is new, or this run's deploy `joined` it) and
        auto-merge; True when auto-merge is on."""
        missing = [label for label in plan.labels if label not in pull.labels]
        if missing:
            self.api.add_labels(pull.number, missing)
        if (created or joined) and self.options.reviewers:
            self._request_reviews(pull, self.options.reviewers)
        if created and self.options.assignees:
            self.api.add_assignees(pull.number, self.options.assignees)
        if not plan.auto_merge:
            return False
        if pull.auto_merge:
            return True
        return self._auto_merge(pull)

    def _request_reviews(self, pull: Pull, reviewers: Sequence[str]) -> None:
        """GitHub refuses a whole request for one reviewer it will not ask (not a collaborator, say):
        then each is asked alone, so the others still are."""
        refused = self._ask(pull, reviewers)
        if refused and len(reviewers) > 1:
            refusals = [(r, why) for r in reviewers if (why := self._ask(pull, [r]))]
            if refusals:
                named = "; ".join(f"{r}: {why}" for r, why in refusals)
                report.warn(f"{pull.url}: GitHub did not request a review from {named}")
        elif refused:
            report.warn(f"{pull.url}: GitHub did not request the reviews: {refused}")

    def _ask(self, pull: Pull, reviewers: Sequence[str]) -> str | None:
        users = [r for r in reviewers if "/" not in r]
        teams = [r.split("/", 1)[1] for r in reviewers if "/" in r]
        return self.api.request_reviewers(pull.number, users, teams)

    def _auto_merge(self, pull: Pull) -> bool:
        method = self.options.merge_method
        refused = self.api.enable_auto_merge(pull, method)
        if refused is None:
            return True
        # Nothing to wait for: GitHub will not queue it, so merge it now, as `gh pr merge --auto` does.
        mergeable_now = any(state in refused.lower() for state in _MERGE_NOW)
        if mergeable_now and self.api.merge_pull(pull, method):
            report.info(f"{pull.url}: nothing to wait for; merged it ({method})")
            return True
        report.warn(
            f"{pull.url}: auto-merge is not on: {refused} (allow auto-merge in the repository's settings, "
            "General > Pull Requests, and give the token `pull-requests: write`)"
        )
        return False
