"""`autodeploy rollback`: deploy an earlier image of an app and env again, found in its history.

The tag comes from the image file's history (`--to TAG`, or `--steps N` images back); its digest is
resolved again and must still be the one recorded then, unless `--allow-retag`. The commit recorded
then (or the image's revision label) goes into the block; the downgrade guard is passed on purpose.
"""

from __future__ import annotations

import argparse
import os

from autodeploy import pipeline, report, validate
from autodeploy.commands import common, history
from autodeploy.commands.deploy import from_labels
from autodeploy.errors import InputError
from autodeploy.history import choose
from autodeploy.imageref import parse
from autodeploy.pipeline import Outcome
from autodeploy.plan import DeployRequest, Target


def add_arguments(parser: argparse.ArgumentParser) -> None:
    common.add_location_arguments(parser, several=False)
    what = parser.add_argument_group("what to roll back to")
    what.add_argument(
        "--image", required=True, help="the image without its tag, to resolve the old tag's digest"
    )
    choice = what.add_mutually_exclusive_group()
    choice.add_argument(
        "--to", metavar="TAG", help="the tag to go back to (its newest deploy in the history)"
    )
    choice.add_argument(
        "--steps",
        type=int,
        default=1,
        help="go back N different images (default: %(default)s, the previous one)",
    )
    what.add_argument("--reason", help="why: goes into the commit message and the pull request")
    what.add_argument(
        "--allow-retag",
        action="store_true",
        help="deploy what the tag points at now even when it was pushed again since it ran",
    )
    what.add_argument(
        "--limit", type=int, default=50, help="how many deploys back to look (default: %(default)s)"
    )
    common.add_write_arguments(parser)


def run(args: argparse.Namespace) -> int:
    common.print_outcome(execute(args), json_output=args.json)
    return 0


def execute(args: argparse.Namespace) -> Outcome:
    label = f"{args.app}/{args.env}"
    found = history.read(args, limit=args.limit)
    chosen = choose(found, to=args.to, steps=args.steps, label=label)
    recorded = chosen.block
    assert recorded.tag is not None
    image = parse(args.image).with_tag(recorded.tag)
    digest, provenance = common.image_source(args).resolve(image, with_labels=args.commit_from_image)
    if recorded.digest is None:
        report.warn(
            f"no digest was recorded when {label} ran {recorded.tag}; pinning what it points at now: {digest}"
        )
    elif digest != recorded.digest:
        if not args.allow_retag:
            raise InputError(
                f"{image} was pushed again: it points at {digest} now, but {recorded.digest} ran in "
                f"{label} (GitOps commit {chosen.gitops_commit[:12]}); pass --allow-retag to deploy what it "
                "points at now"
            )
        report.warn(f"{image} was pushed again since it ran; deploying what it points at now: {digest}")
    commit, source_repo = recorded.commit, recorded.source_repo
    if args.commit_from_image or not commit:
        commit, source_repo = from_labels({label: provenance}, None, source_repo, source_repo)
    source_repo = source_repo or os.environ.get("GITHUB_REPOSITORY")
    if not commit or not source_repo:
        raise InputError(
            f"the deploy of {recorded.tag} recorded no source commit or repository; pass --commit-from-image"
        )
    request = DeployRequest(
        targets=(Target(args.app, args.env, image, digest),),
        commit=validate.commit(commit),
        source_repo=validate.source_repo(source_repo),
        settings=common.settings(args),
        allow_downgrade=True,
        rollback=True,
        reason=args.reason,
    )
    return pipeline.deploy(request, common.open_repo(args), history=None, dry_run=args.dry_run)
