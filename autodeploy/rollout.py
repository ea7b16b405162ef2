"""The wait for a deploy to roll out, as a pure state machine: what is known about the pull request
and the GitOps commits after each poll goes in (`observe_*`), the state, the lines to print and the
verdict come out. No clock, no network: the poller (autodeploy/waiting.py) feeds it.

    opened --(the pull request merges)--> merged --(Flux's statuses match)--> success | failure
       \\--(closed unmerged)--> error          \\--(nothing by the timeout)--> timeout

Which statuses count for one target (an app in an env): those on the merge commit and on later
first-parent commits of the base whose image file still holds the target's digest (Flux reconciles
the newest commit; a status may land only there). For each context the newest such commit's status
counts; flux.judge decides over them with the target's globs.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace

from autodeploy.flux import CommitStatus, Rollout, Verdict, judge


class Result(enum.Enum):
    """The `rollout` output."""

    SUCCESS = "success"
    FAILURE = "failure"
    TIMEOUT = "timeout"
    NOT_WAITED = "not-waited"


@dataclass(frozen=True)
class WaitTarget:
    """One deploy the wait is about: an app in an env, pinned to a digest in `path`."""

    app: str
    env: str
    path: str  # the image file in the GitOps repo
    digest: str
    globs: tuple[str, ...]  # flux.context_globs for this app and env
    tag: str = ""
    source_commit: str | None = None  # the application commit it deploys (its GitHub Deployment's ref)
    source_repo: str | None = None

    @property
    def label(self) -> str:
        return f"{self.app}/{self.env}"


@dataclass(frozen=True)
class PullState:
    number: int
    url: str
    state: str  # open or closed
    merged: bool
    merged_at: str | None
    merged_by: str | None
    merge_commit: str | None
    auto_merge: bool
    head_sha: str
    base_ref: str = ""


@dataclass(frozen=True)
class Candidate:
    """A commit of the base whose statuses may count: the merge commit, or a later first-parent one."""

    sha: str
    statuses: tuple[CommitStatus, ...]
    holds: frozenset[str]  # the paths of targets whose digest its image file still holds


class Phase(enum.Enum):
    MERGING = "merging"
    RECONCILING = "reconciling"
    DONE = "done"


@dataclass(frozen=True)
class Event:
    """A step of the timeline: opened, merged, reconciled (or failed, timed out, cancelled)."""

    name: str
    at: float  # seconds since the wait started
    text: str


@dataclass(frozen=True)
class State:
    targets: tuple[WaitTarget, ...]
    phase: Phase = Phase.MERGING
    number: int | None = None  # the pull request waited for
    pull: PullState | None = None
    merge_commit: str | None = None
    verdicts: tuple[Verdict, ...] = ()  # one per target, once reconciling
    events: tuple[Event, ...] = ()
    result: Result | None = None
    error: str | None = None  # a pull request closed without merging

    @property
    def done(self) -> bool:
        return self.phase is Phase.DONE


def start(
    targets: Sequence[WaitTarget], *, pull: int | None = None, merged_commit: str | None = None
) -> State:
    """Waiting for pull request `pull` to merge, or (`merged_commit`) for Flux on a merged commit."""
    state = State(tuple(targets), number=pull)
    if merged_commit is not None:
        return replace(state, phase=Phase.RECONCILING, merge_commit=merged_commit)
    text = f"pull request #{pull} opened" if pull is not None else "opened"
    return replace(state, events=(Event("opened", 0.0, text),))


def observe_pull(state: State, pull: PullState, *, at: float) -> tuple[State, list[str]]:
    """A poll of the pull request; the lines to print when something changed."""
    if state.phase is not Phase.MERGING:
        return state, []
    state = replace(state, pull=pull)
    if pull.merged and pull.merge_commit:
        who = f" by {pull.merged_by}" if pull.merged_by else ""
        when = f" at {pull.merged_at}" if pull.merged_at else ""
        line = f"#{pull.number} merged{who}{when} as {pull.merge_commit[:12]} ({clock_text(at)})"
        event = Event("merged", at, line)
        return replace(
            state, phase=Phase.RECONCILING, merge_commit=pull.merge_commit, events=(*state.events, event)
        ), [line]
    if pull.state == "closed":
        message = (
            f"pull request #{pull.number} ({pull.url}) was closed without merging: nothing was deployed, "
            "nothing to wait for"
        )
        event = Event("closed", at, message)
        return replace(state, phase=Phase.DONE, error=message, events=(*state.events, event)), []
    return state, []


def merging_line(pull: PullState, checks: Sequence[CommitStatus] | None, *, at: float) -> str:
    """`waiting for #12 to merge: auto-merge on, check ci pending (1m30s)`."""
    parts = [f"auto-merge {'on' if pull.auto_merge else 'off'}"]
    if checks is not None:
        pending = [c.context for c in checks if c.state == "pending"]
        failed = [c.context for c in checks if c.state in ("failure", "error")]
        if failed:
            parts.append(f"check {', '.join(failed)} failed")
        if pending:
            parts.append(f"check {', '.join(pending)} pending")
        if not checks:
            parts.append("no checks reported yet")
    return f"waiting for #{pull.number} to merge: {', '.join(parts)} ({clock_text(at)})"


def combine(candidates: Sequence[Candidate], target: WaitTarget) -> tuple[CommitStatus, ...]:
    """The statuses that count for `target`: for each context, the newest counting commit's.
    `candidates` are oldest first (the merge commit first)."""
    chosen: dict[str, CommitStatus] = {}
    for candidate in candidates:
        if target.path not in candidate.holds:
            break  # a later deploy replaced it: statuses from here on are about that one
        for status in candidate.statuses:
            chosen[status.context] = status
    return tuple(chosen.values())


def observe_statuses(state: State, candidates: Sequence[Candidate], *, at: float) -> tuple[State, list[str]]:
    """A poll of the statuses of the merge commit and the later commits that count."""
    if state.phase is not Phase.RECONCILING:
        return state, []
    verdicts = tuple(judge(combine(candidates, t), t.globs) for t in state.targets)
    lines = []
    for target, verdict, before in zip(
        state.targets, verdicts, state.verdicts or (None,) * len(verdicts), strict=True
    ):
        if verdict.rollout is not Rollout.PENDING and verdict != before:
            what = verdict.description or verdict.rollout.value
            lines.append(f"{target.label}: {verdict.context}: {what} ({clock_text(at)})")
    state = replace(state, verdicts=verdicts)
    if any(v.rollout is Rollout.FAILURE for v in verdicts):
        return _finish(state, Result.FAILURE, at), lines
    if all(v.rollout is Rollout.SUCCESS for v in verdicts):
        return _finish(state, Result.SUCCESS, at), lines
    return state, lines


def reconciling_line(state: State, *, at: float) -> str:
    """`waiting for Flux on 1a2b3c4d5e6f: no status matches kustomization/*staging* yet (45s)`."""
    where = state.merge_commit[:12] if state.merge_commit else "the merge commit"
    missing = sorted({g for v in state.verdicts for g in v.missing}) or sorted(
        {g for t in state.targets for g in t.globs}
    )
    return f"waiting for Flux on {where}: no status matches {', '.join(missing)} yet ({clock_text(at)})"


def time_out(state: State, *, at: float) -> State:
    return _finish(state, Result.TIMEOUT, at)


def cancel(state: State, *, at: float) -> State:
    event = Event("cancelled", at, f"cancelled ({clock_text(at)})")
    return replace(state, phase=Phase.DONE, events=(*state.events, event))


def _finish(state: State, result: Result, at: float) -> State:
    if result is Result.SUCCESS:
        text = "; ".join(f"{v.context}: {v.description}" for v in state.verdicts)
        event = Event("reconciled", at, text)
    elif result is Result.FAILURE:
        text = "; ".join(
            f"{v.context}: {v.description}" for v in state.verdicts if v.rollout is Rollout.FAILURE
        )
        event = Event("failed", at, text)
    else:
        event = Event("timeout", at, f"no verdict from Flux after {clock_text(at)}")
    return replace(state, phase=Phase.DONE, result=result, events=(*state.events, event))


def flux_status(state: State) -> str:
    """The `flux-status` output: Flux's description of what decided (each target's, with several)."""
    decided = [v for v in state.verdicts if v.rollout is not Rollout.PENDING]
    if state.result is Result.FAILURE:
        decided = [v for v in decided if v.rollout is Rollout.FAILURE]
    return "; ".join(dict.fromkeys(v.description for v in decided if v.description))


def path_matcher(template: str) -> Callable[[str], tuple[str, str] | None]:
    """`{app}/{env}/image.yaml` -> a function from a path to its (app, env), or None."""
    pattern = re.escape(template).replace(r"\{app\}", "(?P<app>[^/]+)").replace(r"\{env\}", "(?P<env>[^/]+)")
    compiled = re.compile(pattern)

    def match(path: str) -> tuple[str, str] | None:
        found = compiled.fullmatch(path)
        if found is None or "app" not in compiled.groupindex or "env" not in compiled.groupindex:
            return None
        return found["app"], found["env"]

    return match


def clock_text(seconds: float) -> str:
    """45s, 2m04s, 1h02m."""
    whole = max(0, int(seconds))
    if whole < 60:
        return f"{whole}s"
    if whole < 3600:
        return f"{whole // 60}m{whole % 60:02d}s"
    return f"{whole // 3600}h{whole % 3600 // 60:02d}m"


@dataclass(frozen=True)
class Schedule:
    """When to poll next: from `first` seconds, growing by `factor` while nothing changes, up to
    `cap`; back to `first` when something changed."""

    first: float = 2.0
    cap: float = 30.0
    factor: float = 1.5
    unchanged: int = field(default=0)

    def next(self, *, changed: bool) -> Schedule:
        return replace(self, unchanged=0 if changed else self.unchanged + 1)

    @property
    def interval(self) -> float:
        return float(min(self.cap, self.first * self.factor ** min(self.unchanged, 40)))
