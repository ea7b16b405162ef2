"""What the Action hands the workflow: step outputs and the step summary, from the typed outcome."""

from __future__ import annotations

import os
import stat
import uuid
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Protocol

from autodeploy import report
from autodeploy.errors import InputError
from autodeploy.pipeline import Outcome

if TYPE_CHECKING:
    from autodeploy.waiting import WaitOutcome


@dataclass(frozen=True)
class Outputs:
    """One field per output in action.yml (`pr_number` is `pr-number` there)."""

    changed: str
    branch: str
    commit: str
    pr_number: str
    pr_url: str
    digest: str
    env: str
    tag: str
    old_tag: str
    diff: str
    skipped: str  # "downgrade" when the guard kept what runs
    # As peter-evans/create-pull-request names them (pr-number, pr-url and branch stay as aliases).
    pull_request_number: str
    pull_request_url: str
    pull_request_operation: str  # created, updated or none; for a dry run, what it would do
    pull_request_head_sha: str
    pull_request_branch: str

    @classmethod
    def of(cls, outcome: Outcome) -> Outputs:
        plan, applied = outcome.plan, outcome.applied
        first = plan.changes[0] if plan.changes else None
        skip = plan.skipped[0] if plan.skipped and not first else None
        if first is not None:
            digest, tag, old = first.new.digest, first.new.tag, first.old
        elif skip is not None:  # what was chosen, and what runs still
            digest, tag, old = skip.target.digest, skip.target.tag, skip.old
        else:
            digest, tag, old = None, None, None
        pull = outcome.would if outcome.dry_run else applied
        number = str(pull.pr_number) if pull and pull.pr_number else ""
        url = (pull.pr_url if pull else None) or ""
        if pull is not None and pull.pr_created:
            operation = "created"
        elif pull is not None and pull.pr_number and (outcome.changed or (outcome.dry_run and plan.changed)):
            operation = "updated"
        else:
            operation = "none"
        branch = (pull.branch if pull and pull.branch else plan.branch) or ""
        return cls(
            changed="true" if outcome.changed else "false",
            branch=(applied.branch if applied and applied.branch else plan.branch) or "",
            commit=(applied.commit if applied else None) or "",
            pr_number=number,
            pr_url=url,
            digest=digest or "",
            env=",".join(
                dict.fromkeys([c.target.env for c in plan.changes] + [s.target.env for s in plan.skipped])
            ),
            tag=tag or "",
            old_tag=(old.tag if old else None) or "",
            diff=plan.diff() if outcome.dry_run else "",
            skipped=",".join(dict.fromkeys(s.kind for s in plan.skipped)),
            pull_request_number=number,
            pull_request_url=url,
            pull_request_operation=operation,
            pull_request_head_sha=(applied.commit if applied else None) or "",
            pull_request_branch=branch if operation != "none" or number else "",
        )

    def items(self) -> list[tuple[str, str]]:
        return [(name.replace("_", "-"), value) for name, value in asdict(self).items()]


@dataclass(frozen=True)
class WaitOutputs:
    """The wait's outputs, written after the deploy's (action.yml lists them last)."""

    rollout: str  # success, failure, timeout or not-waited
    flux_status: str
    merged_at: str
    deployment_id: str  # with several targets, comma-separated

    @classmethod
    def of(cls, waited: WaitOutcome | None) -> WaitOutputs:
        if waited is None:
            return cls("not-waited", "", "", "")
        return cls(
            waited.result.value,
            waited.flux_status,
            waited.merged_at,
            ",".join(str(number) for number in waited.deployment_ids),
        )

    def items(self) -> list[tuple[str, str]]:
        return [(name.replace("_", "-"), value) for name, value in asdict(self).items()]


def wait_summary(waited: WaitOutcome) -> str:
    """The timeline: opened -> merged -> reconciled, each with when and how long after the step before."""
    from autodeploy.rollout import clock_text

    titles = {
        "success": "rolled out",
        "failure": "Flux reported a failure",
        "timeout": "no verdict from Flux before the timeout",
        "not-waited": "not waited for",
    }
    lines = [f"### Rollout: {titles[waited.result.value]}", ""]
    if waited.note:
        lines += [waited.note, ""]
    if waited.events:
        lines += ["| Step | At | After the step before | |", "| --- | --- | --- | --- |"]
        previous = None
        for event in waited.events:
            after = clock_text(event.at - previous) if previous is not None else ""
            text = event.text.replace("|", "/")
            lines.append(f"| {event.name} | {clock_text(event.at)} | {after} | {text} |")
            previous = event.at
    if waited.flux_status:
        lines += ["", f"Flux: {waited.flux_status}"]
    return "\n".join(lines) + "\n"


def check_writable(name: str, path: str | None) -> None:
    """Fail before deploying, not after, when a runner file cannot be appended to."""
    if not path:
        return
    try:
        mode = os.stat(path).st_mode
    except FileNotFoundError:
        mode = None
    except OSError as exc:
        raise InputError(f"cannot use ${name} ({path}): {exc.strerror}") from exc
    if mode is not None and not stat.S_ISREG(mode):
        raise InputError(f"${name} ({path}) is not a regular file")
    checked = path if mode is not None else os.path.dirname(path) or "."
    if os.access(checked, os.W_OK):
        return
    owner = os.stat(checked).st_uid
    raise InputError(
        f"cannot write ${name} ({path}) as uid {os.getuid()}: the runner's user (uid {owner}) owns it. "
        "The image runs as uid 1001 like GitHub-hosted runners; on a self-hosted runner with another uid, "
        "run the autodeploy CLI in a step instead (see README, self-hosted runners)"
    )


class Named(Protocol):
    def items(self) -> list[tuple[str, str]]: ...


def write_outputs(path: str | None, outputs: Named) -> None:
    """Append `name<<DELIMITER` blocks, safe for values with newlines, as @actions/core does."""
    if not path:
        for name, value in outputs.items():
            report.info(f"output {name}={value}")
        return
    with open(path, "a", encoding="utf-8") as handle:
        for name, value in outputs.items():
            delimiter = f"ghadelimiter_{uuid.uuid4()}"
            handle.write(f"{name}<<{delimiter}\n{value}\n{delimiter}\n")


def summary(outcome: Outcome, *, rollback: bool) -> str:
    plan, applied = outcome.plan, outcome.applied
    if outcome.dry_run:
        title = "dry run, nothing written"
    elif outcome.changed:
        title = "rolled back" if rollback else "deployed"
    else:
        title = "nothing to change"
    lines = [f"### autodeploy: {title}", "", "| App | Env | Tag | Digest |", "| --- | --- | --- | --- |"]
    for c in plan.changes:
        old_tag = c.old.tag if c.old else None
        old = f"`{old_tag}` → " if old_tag and old_tag != c.new.tag else ""
        lines.append(f"| {c.target.app} | {c.target.env} | {old}`{c.new.tag}` | `{c.new.digest}` |")
    for s in plan.skipped:
        lines.append(f"| {s.target.app} | {s.target.env} | skipped: {s.reason.replace('|', '/')} | |")
    if applied and applied.pr_url:
        branch = applied.branch or plan.branch
        lines += ["", f"Pull request [#{applied.pr_number}]({applied.pr_url}) on `{branch}`"]
    if outcome.dry_run and plan.changed:
        diff = plan.diff().rstrip("\n")
        lines += ["", "<details><summary>diff</summary>", "", "```diff", diff, "```", "", "</details>"]
    return "\n".join(lines) + "\n"


def write_summary(path: str | None, text: str) -> None:
    if path:
        with open(path, "a", encoding="utf-8") as handle:
            handle.write(report.redact(text))
