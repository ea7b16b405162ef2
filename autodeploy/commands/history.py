"""`autodeploy history`: the deploys of one app and env, newest first, from its image file's history."""

from __future__ import annotations

import argparse
import json
from collections.abc import Iterator
from itertools import islice
from typing import Any

from autodeploy import report, validate
from autodeploy.commands import common
from autodeploy.errors import InputError
from autodeploy.history import Deploy, FileHistory, iter_deploys
from autodeploy.plan import DeployRequest, Settings


def add_arguments(parser: argparse.ArgumentParser) -> None:
    common.add_location_arguments(parser, several=False)
    parser.add_argument("--limit", type=int, default=20, help="show at most N deploys (default: %(default)s)")
    parser.add_argument("--json", action="store_true", help="print the deploys as a JSON list")
    common.github_args().add_arguments(parser)


def run(args: argparse.Namespace) -> int:
    found = list(read(args, limit=args.limit))
    if args.json:
        report.out(json.dumps([as_json(d) for d in found], indent=2))
    elif not found:
        report.info(f"no deploys of {args.app}/{args.env} found")
    else:
        report.out(table(found))
    return 0


def path_of(args: argparse.Namespace) -> str:
    if not args.app or not args.env:
        raise InputError("give --app and --env")
    validate.path_part("app", args.app)
    validate.path_part("env", args.env)
    return DeployRequest.path_for(Settings(path_template=args.path_template), args.app, args.env)


def file_history(args: argparse.Namespace) -> FileHistory:
    common.check_location(args)
    if args.gitops_dir:
        from autodeploy.gitlocal import GitFileHistory

        return GitFileHistory(args.gitops_dir)
    source: FileHistory = common.github_args().file_history(args)
    return source


def read(args: argparse.Namespace, *, limit: int) -> Iterator[Deploy]:
    """The deploys, newest first, at most `limit`, read as they are consumed: up to three versions
    of the file per deploy asked for (not every commit that touches the file deploys)."""
    if limit < 1:
        raise InputError("--limit must be 1 or more")
    path = path_of(args)
    versions = file_history(args).versions(path, limit=max(3 * limit, 30))
    return islice(iter_deploys(versions, path), limit)


def as_json(deploy: Deploy) -> dict[str, Any]:
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
        "subject": deploy.subject,
    }


def table(found: list[Deploy]) -> str:
    rows = [("TAG", "DIGEST", "SOURCE", "GITOPS", "DATE", "BY")]
    for number, deploy in enumerate(found):
        block = deploy.block
        by = deploy.author + (f" (#{deploy.pull_request})" if deploy.pull_request else "")
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
