"""The poller of the wait: feeds autodeploy.rollout's state machine from a WatchSource (GitHub), on
an injectable clock and sleep, and records each step as a GitHub Deployment status when asked.

Polls start 2 s apart and back off to 30 s while nothing changes; conditional requests make an
unchanged poll a free 304; a RequestWindow bounds the requests per minute whatever the schedule
says; a poll that fails (a 5xx or a 403 after the client's own retries) is tried again at the next
poll, up to MAX_FAILED_POLLS in a row, then the wait ends with that error. A line is printed at each
change and at least every PROGRESS_EVERY seconds. Ctrl-C or SIGTERM (KeyboardInterrupt) marks the
deployments `error` "cancelled" and goes on to the error boundary (exit 130).
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from autodeploy import report, rollout
from autodeploy.errors import AutodeployError, GitHubError, InputError
from autodeploy.flux import CommitStatus, Verdict
from autodeploy.options import WaitOptions
from autodeploy.retry import RequestWindow
from autodeploy.rollout import Candidate, Event, PullState, Result, Schedule, WaitTarget

if TYPE_CHECKING:
    from autodeploy.deployment import Record

PROGRESS_EVERY = 30.0
MAX_FAILED_POLLS = 4


class WatchSource(Protocol):
    """What the wait reads (autodeploy.github.watch.GitHubWatch)."""

    @property
    def requests(self) -> int:
        """Requests made so far, for the per-minute bound."""
        ...

    def pull(self, number: int) -> tuple[PullState, bool]: ...

    def checks(self, sha: str) -> tuple[CommitStatus, ...]: ...

    def candidates(
        self, merge_commit: str, targets: Sequence[WaitTarget]
    ) -> tuple[list[Candidate], bool]: ...

    def merged_parent(self, sha: str) -> str:
        """The first parent of a merged commit."""
        ...

    def changed_files(self, base: str, head: str, matches: Callable[[str], bool]) -> list[tuple[str, str]]:
        """The files `head` changed since `base` that `matches` takes, with their texts at `head`."""
        ...


class DeploymentLog(Protocol):
    """GitHub Deployments of the application repository (autodeploy.github.deployments.Deployments)."""

    def create(
        self, *, sha: str, environment: str, production: bool, payload: Mapping[str, object], description: str
    ) -> int: ...

    def set_state(
        self,
        deployment_id: int,
        state: str,
        *,
        description: str,
        log_url: str | None = None,
        environment_url: str | None = None,
    ) -> None: ...

    def find(self, *, sha: str, environment: str) -> int | None: ...


class Tracker:
    """The deployments of the wait's targets, moved along at its events: opened -> queued (log_url:
    the pull request), merged -> in_progress, Flux -> success or failure, cancelled -> error. A
    deployment write that fails is a warning: it never fails the deploy or the wait."""

    def __init__(self, logs: Callable[[str], DeploymentLog], records: Sequence[Record]) -> None:
        self._logs = logs  # the application repository -> its deployments
        self._opened: dict[str, DeploymentLog] = {}
        self.records = tuple(records)
        self.ids: list[int] = []
        self.urls: dict[int, str | None] = {}  # deployment id -> its environment_url
        self.repos: dict[int, str] = {}  # deployment id -> its repository
        self.log_url: str | None = None
        self.started = False  # created (opened) or found

    def opened(self, pull_url: str | None) -> None:
        self.log_url, self.started = pull_url, True
        for record in self.records:
            with self._warned():
                made = self.log(record.repo).create(
                    sha=record.sha,
                    environment=record.environment,
                    production=record.production,
                    payload=record.payload,
                    description=record.description,
                )
                self._keep(made, record)
        self._set("queued", "pull request opened")

    def found(self) -> None:
        """Waiting on what another run deployed: its deployments were made when its pull request
        opened; they are found by their commit and environment."""
        self.started = True
        for record in self.records:
            with self._warned():
                got = self.log(record.repo).find(sha=record.sha, environment=record.environment)
                if got is None:
                    report.info(f"no deployment of {record.sha[:12]} to {record.environment} to update")
                else:
                    self._keep(got, record)

    def merged(self) -> None:
        self._set("in_progress", "merged; waiting for Flux")

    def finished(self, result: Result, description: str, *, on_timeout: str = "fail") -> None:
        """Flux's verdict; a timeout that only warns leaves the deployments in progress, for a later
        `autodeploy wait --gitops-commit` (the GitOps repo's workflow) to finish."""
        if result is Result.SUCCESS:
            self._set("success", description or "Flux reconciled it", with_url=True)
        elif result is Result.FAILURE:
            self._set("failure", description or "Flux reported a failure")
        elif result is Result.TIMEOUT and on_timeout == "fail":
            self._set("failure", "no verdict from Flux before the wait's timeout")

    def cancelled(self) -> None:
        self._set("error", "cancelled")

    def log(self, repo: str) -> DeploymentLog:
        if repo not in self._opened:
            self._opened[repo] = self._logs(repo)
        return self._opened[repo]

    def _keep(self, number: int, record: Record) -> None:
        if number in self.ids:  # two targets of one commit and environment name: one deployment
            return
        self.ids.append(number)
        self.urls[number] = record.environment_url
        self.repos[number] = record.repo

    def _set(self, state: str, description: str, *, with_url: bool = False) -> None:
        for number in self.ids:
            with self._warned():
                self.log(self.repos[number]).set_state(
                    number,
                    state,
                    description=description,
                    log_url=self.log_url,
                    environment_url=self.urls.get(number) if with_url else None,
                )

    @contextlib.contextmanager
    def _warned(self) -> Iterator[None]:
        try:
            yield
        except AutodeployError as exc:
            report.warn(f"GitHub Deployments: {exc}")


@dataclass(frozen=True)
class WaitOutcome:
    """What the wait ended with: the `rollout`, `flux-status`, `merged-at` and `deployment-id` outputs."""

    result: Result
    flux_status: str = ""
    merged_at: str = ""
    merge_commit: str | None = None
    pull_number: int | None = None
    targets: tuple[WaitTarget, ...] = ()
    verdicts: tuple[Verdict, ...] = ()
    events: tuple[Event, ...] = ()
    deployment_ids: tuple[int, ...] = ()
    requests: int = 0  # GitHub requests the wait made
    on_timeout: str = "fail"
    note: str = ""  # why it did not wait

    @property
    def failed(self) -> bool:
        return self.result is Result.FAILURE or (self.result is Result.TIMEOUT and self.on_timeout == "fail")

    @classmethod
    def not_waited(cls, note: str) -> WaitOutcome:
        return cls(Result.NOT_WAITED, note=note)


def wait(
    source: WatchSource,
    targets: Sequence[WaitTarget],
    options: WaitOptions,
    *,
    pull: int | None = None,
    pull_url: str | None = None,
    merged_commit: str | None = None,
    tracker: Tracker | None = None,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
    say: Callable[[str], None] = report.info,
) -> WaitOutcome:
    """Wait for pull request `pull` to merge and roll out, or for Flux on `merged_commit`."""
    state = rollout.start(targets, pull=pull, merged_commit=merged_commit)
    started, first_request = clock(), source.requests
    window = RequestWindow(options.max_requests_per_minute, clock=clock)
    schedule = Schedule()
    said_at: float | None = None
    failures = 0
    if tracker is not None and not tracker.started:
        tracker.opened(pull_url)
    if tracker is not None and merged_commit is not None:
        tracker.merged()
    try:
        while True:
            at = clock() - started
            before, phase = source.requests, state.phase
            heartbeat = said_at is None or at - said_at >= PROGRESS_EVERY
            try:
                state, lines, changed = _poll(state, source, at, heartbeat=heartbeat)
                failures = 0
            except InputError:
                raise
            except AutodeployError as exc:
                failures += 1
                if failures >= MAX_FAILED_POLLS:
                    raise GitHubError(
                        f"gave up waiting after {failures} failed polls in a row: {exc}"
                    ) from exc
                say(f"a poll failed ({exc}); polling again")
                lines, changed = [], False
            window.record(source.requests - before)
            for line in lines:
                say(line)
                said_at = at
            if state.error is not None:
                raise AutodeployError(state.error)
            if tracker is not None and phase is rollout.Phase.MERGING and state.merge_commit is not None:
                tracker.merged()
            if state.done:
                break
            if heartbeat and not lines:
                say(_progress(state, at))
                said_at = at
            if at >= options.timeout:
                state = rollout.time_out(state, at=at)
                break
            schedule = schedule.next(changed=changed)
            progress_due = PROGRESS_EVERY - (at - said_at) if said_at is not None else PROGRESS_EVERY
            pause = max(min(schedule.interval, options.timeout - at, max(progress_due, 1.0)), window.delay(2))
            sleep(max(pause, 0.0))
    except KeyboardInterrupt:
        state = rollout.cancel(state, at=clock() - started)
        say("cancelled while waiting: the pull request and commits stay as they are")
        if tracker is not None:
            tracker.cancelled()
        raise
    assert state.result is not None
    status = rollout.flux_status(state)
    if state.result is Result.TIMEOUT:
        say(f"no verdict from Flux within {rollout.clock_text(options.timeout)} (--wait-timeout)")
    if tracker is not None:
        tracker.finished(state.result, status, on_timeout=options.on_timeout)
    return WaitOutcome(
        result=state.result,
        flux_status=status,
        merged_at=(state.pull.merged_at if state.pull and state.pull.merged_at else "") or "",
        merge_commit=state.merge_commit,
        pull_number=pull,
        targets=state.targets,
        verdicts=state.verdicts,
        events=state.events,
        deployment_ids=tuple(tracker.ids) if tracker is not None else (),
        requests=source.requests - first_request,
        on_timeout=options.on_timeout,
    )


def _poll(
    state: rollout.State, source: WatchSource, at: float, *, heartbeat: bool
) -> tuple[rollout.State, list[str], bool]:
    if state.phase is rollout.Phase.MERGING:
        assert state.number is not None
        pull, changed = source.pull(state.number)
        state, lines = rollout.observe_pull(state, pull, at=at)
        if state.phase is rollout.Phase.MERGING and heartbeat:
            lines = [rollout.merging_line(pull, source.checks(pull.head_sha), at=at)]
    else:
        changed = False
        lines = []
    if state.phase is rollout.Phase.RECONCILING:
        assert state.merge_commit is not None
        found, moved = source.candidates(state.merge_commit, state.targets)
        state, more = rollout.observe_statuses(state, found, at=at)
        lines += more
        changed = changed or moved
    return state, lines, changed


def _progress(state: rollout.State, at: float) -> str:
    if state.phase is rollout.Phase.MERGING and state.pull is not None:
        return rollout.merging_line(state.pull, None, at=at)
    return rollout.reconciling_line(state, at=at)
