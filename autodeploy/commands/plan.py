"""`autodeploy plan`: `deploy --dry-run` under its own name; it never writes."""

from __future__ import annotations

import argparse

from autodeploy.commands import common, deploy


def add_arguments(parser: argparse.ArgumentParser) -> None:
    deploy.add_arguments(parser)


def run(args: argparse.Namespace) -> int:
    args.dry_run = True
    common.print_outcome(deploy.execute(args), json_output=args.json)
    return 0
