"""Flags and steps that `deploy`, `rollback` and `history` share: where the GitOps repo is, how the
branch, title and commit are named, which adapters to open, and how an outcome is printed."""

from __future__ import annotations

import argparse
import json
import os
from dataclasses import replace
from typing import Any

from autodeploy import pipeline, plan, report
from autodeploy.commands import registry_args
from autodeploy.errors import InputError
from autodeploy.imageref import ImageRef
from autodeploy.pipeline import ImageSource, Outcome, Provenance, SourceHistory
from autodeploy.plan import Relation, Settings


def github_args() -> Any:
    # Flag definitions and option parsing only: PyGithub is imported when a repo is opened.
    from autodeploy.commands import github_args as module

    return module


def add_location_arguments(parser: argparse.ArgumentParser, *, several: bool) -> None:
    """--gitops-dir, --app, --env, --path-template; the GitHub flags come with add_github_arguments."""
    where = parser.add_argument_group("where")
    where.add_argument(
        "--gitops-dir", metavar="DIR", help="edit a local checkout (or any directory) in place"
    )
    repeat = "; repeatable" if several else ""
    where.add_argument(
        "--app",
        action="append" if several else "store",
        default=[] if several else None,
        help=f"the app's folder in the GitOps repo{repeat}",
    )
    where.add_argument(
        "--env",
        action="append" if several else "store",
        default=[] if several else None,
        help=f"the environment's folder{repeat}",
    )
    where.add_argument(
        "--path-template",
        default=plan.DEFAULT_PATH_TEMPLATE,
        help="where an environment's image file lives (default: %(default)s)",
    )


def add_naming_arguments(parser: argparse.ArgumentParser) -> None:
    how = parser.add_argument_group("branch, commit and pull request")
    how.add_argument(
        "--branch",
        help="branch template, e.g. 'deploy-{env}-{app}' (default: prod-release, staging-release, "
        "update-{env}-{app}, as today's action; rollback-{env}-{app} for a rollback)",
    )
    how.add_argument("--title", help="pull request title template ({app}, {env}, {new_tag})")
    how.add_argument(
        "--message",
        default=plan.DEFAULT_MESSAGE_TEMPLATE,
        help="commit message template ({app}, {env}, {old_tag}, {new_tag}; default: %(default)s)",
    )
    how.add_argument(
        "--label", action="append", default=None, help="pull request label; repeatable (default: auto-deploy)"
    )


def add_output_arguments(parser: argparse.ArgumentParser) -> None:
    out = parser.add_argument_group("output")
    out.add_argument(
        "--dry-run", action="store_true", help="print the exact diff and the writes it would make"
    )
    out.add_argument("--json", action="store_true", help="print the outcome as JSON on standard output")


def add_write_arguments(parser: argparse.ArgumentParser) -> None:
    """What every command that writes a deploy shares: naming, output, registry and GitHub flags."""
    add_naming_arguments(parser)
    add_output_arguments(parser)
    registry_args.add_arguments(parser)
    github_args().add_arguments(parser)


def settings(args: argparse.Namespace) -> Settings:
    defaults = Settings()
    values = Settings(
        path_template=args.path_template,
        branch_template=args.branch,
        title_template=args.title,
        message_template=args.message,
        labels=tuple(args.label) if args.label is not None else defaults.labels,
        server_url=os.environ.get("GITHUB_SERVER_URL") or defaults.server_url,
    )
    return replace(values, **github_args().settings_overrides(args))


def check_location(args: argparse.Namespace) -> None:
    if bool(args.gitops_dir) == bool(getattr(args, "gitops_repo", None)):
        raise InputError("give exactly one of --gitops-dir DIR or --gitops-repo OWNER/REPO")


def open_repo(args: argparse.Namespace) -> pipeline.GitopsRepo:
    """The adapter for --gitops-dir or --gitops-repo; callers have run check_location already."""
    if args.gitops_dir:
        from autodeploy.localdir import LocalDir

        return LocalDir(args.gitops_dir)
    repo: pipeline.GitopsRepo = github_args().open_repo(args)
    return repo


def source_history(args: argparse.Namespace) -> SourceHistory | None:
    """For the downgrade guard: a local clone of the source repo (--source-dir, or the current
    directory), then GitHub's compare API; a shallow clone that lacks a commit defers to GitHub."""
    from autodeploy import gitlocal
    from autodeploy.errors import GitError

    sources: list[SourceHistory] = []
    try:
        source_dir = args.source_dir or gitlocal.toplevel(os.getcwd())
    except GitError:
        source_dir = None
    if source_dir:
        sources.append(gitlocal.GitSourceHistory(source_dir))
    if getattr(args, "gitops_repo", None):
        remote: SourceHistory | None = github_args().source_history(args)
        if remote is not None:
            sources.append(remote)
    return FirstKnown(sources) if sources else None


class FirstKnown:
    """Asks each source history in turn; the first answer other than UNKNOWN wins."""

    def __init__(self, sources: list[SourceHistory]) -> None:
        self.sources = sources

    def relation(self, repo: str, old: str, new: str) -> Relation:
        for source in self.sources:
            answer = source.relation(repo, old, new)
            if answer is not Relation.UNKNOWN:
                return answer
        return Relation.UNKNOWN


class RegistryImages:
    """The registry (or the Docker daemon) as the pipeline's ImageSource."""

    def __init__(self, args: argparse.Namespace) -> None:
        self.options = registry_args.options_from_args(args)

    def resolve(self, image: ImageRef, *, with_labels: bool) -> tuple[str, Provenance]:
        from autodeploy import registry

        found = registry.resolve(image, self.options, with_labels=with_labels)
        labels = found.labels
        return found.digest, Provenance(
            labels.get(registry.REVISION_LABEL), labels.get(registry.SOURCE_LABEL)
        )


def image_source(args: argparse.Namespace) -> ImageSource:
    return RegistryImages(args)


def print_outcome(outcome: Outcome, *, json_output: bool) -> None:
    result = outcome.plan
    for warning in result.warnings:
        report.warn(warning)
    for skip in result.skipped:
        report.info(f"skipped {skip.target.label}: {skip.reason}")
    for change in result.changes:
        new = change.new
        if change.changed:
            verb = "would deploy" if outcome.dry_run else "deployed"
            report.info(
                f"{verb} {change.target.label}: {change.old_tag} -> {new.tag} ({new.digest}) in {change.path}"
            )
        else:
            report.info(f"{change.target.label} already runs {new.tag}@{new.digest}: nothing to change")
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
        "skipped": [{"app": s.target.app, "env": s.target.env, "reason": s.reason} for s in result.skipped],
        "diff": result.diff() if outcome.dry_run else None,
    }
