"""Results for people (log lines, tables) and for tools (JSON), the same for the CLI and the Action."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from autodeploy import report

if TYPE_CHECKING:
    from autodeploy.deploys import Deploy, History
    from autodeploy.imageref import ImageRef
    from autodeploy.matrix import Cell, Matrix
    from autodeploy.options import PromoteOptions
    from autodeploy.pipeline import Outcome, Promoted
    from autodeploy.registry import Resolved
    from autodeploy.waiting import WaitOutcome


def show_outcome(outcome: Outcome, *, json_output: bool) -> None:
    result = outcome.plan
    for warning in result.warnings:
        report.warn(warning)
    for skip in result.skipped:
        report.warn(f"skipped {skip.target.label}: {skip.reason}")
    for change in result.changes:
        new = change.new
        if change.changed:
            verb = "would deploy" if outcome.dry_run else "deployed"
            report.info(
                f"{verb} {change.target.label}: {change.old_tag} -> {new.tag} ({new.digest}) in {change.path}"
            )
        else:
            report.info(f"{change.target.label} already runs {new.tag}@{new.digest}: nothing to change")
    if outcome.dry_run and outcome.snapshot.where:
        report.info(f"read from {outcome.snapshot.where}")
    for line in outcome.preview:
        report.info(line)
    applied = outcome.applied
    if applied and applied.pr_url:
        report.info(f"pull request: {applied.pr_url}")
    if outcome.waited is not None:
        _wait_verdict(outcome.waited)
    if json_output:
        report.out(json.dumps(outcome_json(outcome), indent=2))
    elif outcome.dry_run and result.changed:
        report.out(result.diff())


def outcome_json(outcome: Outcome) -> dict[str, Any]:
    result = outcome.plan
    applied = outcome.applied
    first = result.changes[0] if result.changes else None
    return {
        "changed": outcome.changed,
        "dry_run": outcome.dry_run,
        "branch": applied.branch if applied and applied.branch else result.branch,
        "commit": applied.commit if applied else None,
        "pr_number": applied.pr_number if applied else None,
        "pr_url": applied.pr_url if applied else None,
        "digest": first.new.digest if first else None,
        "old_tag": first.old.tag if first and first.old else None,
        "new_tag": first.new.tag if first else None,
        "targets": [
            {
                "app": c.target.app,
                "env": c.target.env,
                "path": c.path,
                "changed": c.changed,
                "old_tag": c.old.tag if c.old else None,
                "new_tag": c.new.tag,
                "old_digest": c.old.digest if c.old else None,
                "digest": c.new.digest,
            }
            for c in result.changes
        ],
        "skipped": [
            {
                "app": s.target.app,
                "env": s.target.env,
                "kind": s.kind,
                "reason": s.reason,
                "tag": s.target.tag,
                "digest": s.target.digest,
                "old_tag": s.old.tag if s.old else None,
            }
            for s in result.skipped
        ],
        "diff": result.diff() if outcome.dry_run else None,
        **wait_json(outcome.waited),
    }


def show_wait(waited: WaitOutcome, *, json_output: bool) -> None:
    """`autodeploy wait`'s result."""
    _wait_verdict(waited)
    if json_output:
        report.out(json.dumps(wait_json(waited), indent=2))


def _wait_verdict(waited: WaitOutcome) -> None:
    from autodeploy.rollout import Result

    if waited.error:
        report.error(waited.error)
    elif waited.result is Result.SUCCESS:
        report.info(f"rolled out: {waited.flux_status or 'Flux reported success'}")
    elif waited.result is Result.FAILURE:
        report.error(f"Flux reported a failure: {waited.flux_status or 'no description'}")
    elif waited.result is Result.TIMEOUT and waited.on_timeout == "warn":
        report.warn("no verdict from Flux before --wait-timeout; the rollout may still be going on")
    elif waited.result is Result.TIMEOUT:
        report.error("no verdict from Flux before --wait-timeout (--on-timeout warn makes this a warning)")


def wait_exit(waited: WaitOutcome | None) -> int:
    """1 when Flux reported a failure, or nothing before the timeout (unless --on-timeout warn)."""
    from autodeploy.errors import EXIT_FAILED

    if waited is not None and waited.error:
        return waited.error_code or EXIT_FAILED
    return EXIT_FAILED if waited is not None and waited.failed else 0


def wait_json(waited: WaitOutcome | None) -> dict[str, Any]:
    """The wait's keys, named as the Action's outputs: rollout, flux-status, merged-at, deployment-id."""
    from autodeploy.rollout import Result

    if waited is None or waited.result is Result.NOT_WAITED:
        return {"rollout": "not-waited", "flux-status": "", "merged-at": "", "deployment-id": ""}
    return {
        "rollout": waited.result.value,
        "flux-status": waited.flux_status,
        "merged-at": waited.merged_at,
        "deployment-id": ",".join(str(i) for i in waited.deployment_ids),
        "wait": {
            "pull_request": waited.pull_number,
            "merge_commit": waited.merge_commit,
            "requests": waited.requests,
            "targets": [
                {
                    "app": t.app,
                    "env": t.env,
                    "path": t.path,
                    "digest": t.digest,
                    "tag": t.tag,
                    "contexts": list(t.globs),
                    "rollout": v.rollout.value if v else "pending",
                    "context": v.context if v else None,
                    "flux-status": v.description if v else "",
                }
                for t, v in zip(waited.targets, waited.verdicts or (None,) * len(waited.targets), strict=True)
            ],
            "timeline": [
                {"event": e.name, "after_seconds": round(e.at, 1), "text": e.text} for e in waited.events
            ],
        },
    }


def history_json(history: History) -> dict[str, Any]:
    """`history --json`: what ran, newest first, and apart from it what open pull requests would deploy."""
    return {
        "ran": [deploy_json(deploy) for deploy in history.ran],
        "pending": [
            {
                "tag": p.block.tag,
                "digest": p.block.digest,
                "source_commit": p.block.commit,
                "source_repo": p.block.source_repo,
                "pull_request": p.pull_request,
                "branch": p.branch,
                "author": p.author,
            }
            for p in history.pending
        ],
    }


def deploy_json(deploy: Deploy) -> dict[str, Any]:
    block = deploy.block
    return {
        "tag": block.tag,
        "digest": block.digest,
        "source_commit": block.commit,
        "source_repo": block.source_repo,
        "gitops_commit": deploy.gitops_commit,
        "date": deploy.date,
        "author": deploy.author,
        "pull_request": deploy.pull_request,
        "merged_by": deploy.merged_by,
        "subject": deploy.subject,
    }


def history_table(history: History) -> str:
    rows = [("TAG", "DIGEST", "SOURCE", "GITOPS", "REACHED BASE", "BY")]
    for pending in history.pending:
        block = pending.block
        rows.append(
            (
                f"{block.tag} (pending #{pending.pull_request})",
                (block.digest or "-")[:19],
                (block.commit or "-")[:12],
                pending.branch,
                "-",
                pending.author,
            )
        )
    for number, deploy in enumerate(history.ran):
        block = deploy.block
        by = deploy.author + (f" (#{deploy.pull_request})" if deploy.pull_request else "")
        if deploy.merged_by and deploy.merged_by != deploy.author:
            by += f", merged by {deploy.merged_by}"
        rows.append(
            (
                (block.tag or "") + (" (now)" if number == 0 else ""),
                (block.digest or "-")[:19],
                (block.commit or "-")[:12],
                deploy.gitops_commit[:12],
                deploy.date,
                by,
            )
        )
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    return "\n".join(
        "  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip() for row in rows
    )


def resolved_json(images: Sequence[ImageRef], found: Sequence[Resolved]) -> list[dict[str, Any]]:
    return [
        {
            "image": str(image),
            "digest": item.digest,
            "media_type": item.media_type,
            "platforms": list(item.platforms),
            "labels": dict(item.labels),
        }
        for image, item in zip(images, found, strict=True)
    ]


def status_json(matrix: Matrix) -> dict[str, Any]:
    """`status --json`: one entry per app and environment that has an image file, app by app in the
    order of `environments`."""
    return {
        "revision": matrix.revision,
        "environments": list(matrix.envs),
        "entries": [_cell_json(cell) for cell in matrix.cells],
    }


def _cell_json(cell: Cell) -> dict[str, Any]:
    block = cell.block
    return {
        "app": cell.app,
        "env": cell.env,
        "path": cell.path,
        "tag": block.tag if block else None,
        "digest": block.digest if block else None,
        "commit": block.commit if block else None,
        "source_repo": block.source_repo if block else None,
        "reached-at": cell.arrival.date if cell.arrival else None,
        "gitops_commit": cell.arrival.commit if cell.arrival else None,
        "pending": [
            {
                "pull_request": p.pull_request,
                "branch": p.branch,
                "author": p.author,
                "tag": p.block.tag,
                "digest": p.block.digest,
                "commit": p.block.commit,
            }
            for p in cell.pending
        ],
        "differs": cell.differs,
        "newer_than": list(cell.newer_than),
        "problem": cell.problem,
    }


def _marks(cell: Cell) -> str:
    marks = []
    if cell.differs:
        marks.append("differs")
    if cell.newer_than:
        marks.append("newer than " + ", ".join(cell.newer_than))
    return "; ".join(marks)


def status_table(matrix: Matrix) -> str:
    """One line per app and environment: what runs, since when, what is pending, and the marks."""
    rows = [("APP", "ENV", "TAG", "DIGEST", "SOURCE", "REACHED BASE", "PENDING", "MARKS")]
    for cell in matrix.cells:
        block = cell.block
        pending = ", ".join(f"{p.block.tag} (#{p.pull_request})" for p in cell.pending)
        rows.append(
            (
                cell.app,
                cell.env,
                (block.tag or "-") if block else f"({cell.problem or 'no generated block'})",
                (block.digest or "-")[:19] if block else "-",
                (block.commit or "-")[:12] if block else "-",
                cell.arrival.date if cell.arrival else "-",
                pending or "-",
                _marks(cell),
            )
        )
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    return "\n".join(
        "  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip() for row in rows
    )


def status_markdown(matrix: Matrix) -> str:
    """The matrix for a step summary: an app a row, an environment a column."""
    lines = [
        "### autodeploy: what runs where",
        "",
        "| App | " + " | ".join(matrix.envs) + " |",
        "| --- |" + " --- |" * len(matrix.envs),
    ]
    for app in matrix.apps:
        cells = []
        for env in matrix.envs:
            cell = matrix.cell(app, env)
            cells.append(_markdown_cell(cell) if cell is not None else "")
        lines.append(f"| `{app}` | " + " | ".join(cells) + " |")
    lines += [
        "",
        "≠: runs another build than the environment before it; ↑: a newer version than an earlier "
        "environment; ⏳: what an open pull request would change it to.",
    ]
    if matrix.where:
        lines += ["", f"<sub>Read from {matrix.where}.</sub>"]
    return "\n".join(lines) + "\n"


def _markdown_cell(cell: Cell) -> str:
    block = cell.block
    if block is None:
        return f"_{_md(cell.problem or 'no generated block')}_"
    marks = ("≠ " if cell.differs else "") + ("↑ " if cell.newer_than else "")
    parts = [f"{marks}`{_md(block.tag or '?')}`"]
    if block.digest:
        parts.append(f"`{block.digest[:19]}`")
    if block.commit:
        url = (block.repo_url or "").rstrip("/")
        short = f"`{block.commit[:7]}`"
        parts.append(f"[{short}]({url}/commit/{block.commit})" if url else short)
    if cell.arrival:
        parts.append(f"since {cell.arrival.date}")
    for pending in cell.pending:
        parts.append(f"⏳ `{_md(pending.block.tag or '?')}` (#{pending.pull_request})")
    return "<br>".join(parts)


def _md(text: str) -> str:
    return " ".join(text.split()).replace("|", "\\|").replace("<", "&lt;")


def show_promoted(promoted: Promoted, options: PromoteOptions, *, json_output: bool) -> None:
    outcome = promoted.outcome
    if outcome is not None:
        show_outcome(outcome, json_output=False)
    elif not promoted.same:
        report.info(f"nothing to promote from {options.source_env} to {options.target_env}")
    if json_output:
        report.out(json.dumps(promoted_json(promoted, options), indent=2))


def promoted_json(promoted: Promoted, options: PromoteOptions) -> dict[str, Any]:
    """`promote --json`: the deploy's outcome (as `deploy --json` prints it), and for each app what it
    copied from where, since when, and what the health gate said."""
    outcome = promoted.outcome
    base: dict[str, Any] = (
        outcome_json(outcome)
        if outcome is not None
        else {"changed": False, "dry_run": options.write.dry_run, "branch": None, "commit": None}
        | {"pr_number": None, "pr_url": None, "targets": [], "skipped": [], "diff": None}
        | wait_json(None)
    )
    changes = {c.target.app: c for c in outcome.plan.changes} if outcome is not None else {}
    promotions = []
    for target in outcome.plan.changes if outcome is not None else ():
        app = target.target.app
        old = changes[app].old
        verdict = promoted.verdicts.get(app)
        promotions.append(
            {
                "app": app,
                "from": options.source_env,
                "to": options.target_env,
                "old_tag": old.tag if old else None,
                "old_digest": old.digest if old else None,
                "old_commit": old.commit if old else None,
                "tag": target.new.tag,
                "digest": target.new.digest,
                "commit": target.new.commit,
                "source_repo": target.new.source_repo,
                "changed": target.changed,
                "source_since": _since(target.target.promoted_from),
                "health": verdict.health.value if verdict else None,
                "health_reason": verdict.reason if verdict else None,
            }
        )
    already = [c.app for c in promoted.same]
    return {
        "from": options.source_env,
        "to": options.target_env,
        **base,
        "promotions": promotions,
        "already": already,
    }


def _since(promoted_from: str | None) -> str | None:
    marker = "where it has run since "
    if not promoted_from or marker not in promoted_from:
        return None
    return promoted_from.split(marker, 1)[1].split(" ", 1)[0]
