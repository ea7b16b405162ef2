"""Results for people (log lines, tables) and for tools (JSON), the same for the CLI and the Action."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from autodeploy import report

if TYPE_CHECKING:
    from autodeploy.deploys import Deploy, History
    from autodeploy.imageref import ImageRef
    from autodeploy.pipeline import Outcome
    from autodeploy.registry import Resolved


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
