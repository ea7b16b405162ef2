"""The command line: `autodeploy <command> ...` -> typed options -> the command -> printed results.

The environment is read here, once; the parser holds the chosen command's flags only, and no
adapter is imported before it is needed, so `--help` and a local dry run never load PyGithub,
docker or requests.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Sequence

from autodeploy import render, report
from autodeploy.boundary import ErrorBoundary
from autodeploy.cli.parser import COMMANDS, build_parser
from autodeploy.environment import Environment
from autodeploy.errors import InputError
from autodeploy.options import (
    DeployOptions,
    HistoryOptions,
    PromoteOptions,
    RollbackOptions,
    StatusOptions,
    WaitCommandOptions,
)

__all__ = ["COMMANDS", "main"]


def main(argv: Sequence[str] | None = None) -> int:
    args_list = list(sys.argv[1:] if argv is None else argv)
    with ErrorBoundary(debug="--debug" in args_list, hint="rerun with --debug for the traceback") as boundary:
        return run(args_list, Environment.read(os.environ))
    return boundary.code


def run(argv: Sequence[str], env: Environment) -> int:
    command = next((arg for arg in argv if arg in COMMANDS), None)
    parser = build_parser(command)
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # --help and --version, which have printed what was asked
        return exc.code if isinstance(exc.code, int) else 0
    if not args.command:
        parser.print_help(sys.stderr)
        raise InputError("give a command: " + ", ".join(COMMANDS))
    from autodeploy import commands
    from autodeploy.cli import build

    options = build.options(args, env)
    if isinstance(options, DeployOptions | RollbackOptions):
        outcome = (
            commands.deploy(options) if isinstance(options, DeployOptions) else commands.rollback(options)
        )
        render.show_outcome(outcome, json_output=args.json)
        return render.wait_exit(outcome.waited)
    if isinstance(options, WaitCommandOptions):
        waited = commands.wait(options)
        render.show_wait(waited, json_output=args.json)
        return render.wait_exit(waited)
    elif isinstance(options, HistoryOptions):
        found = commands.history(options)
        if args.json:
            report.out(json.dumps(render.history_json(found), indent=2))
        elif not found.ran and not found.pending:
            report.info(f"no deploys of {options.app}/{options.env} found")
        else:
            report.out(render.history_table(found))
    elif isinstance(options, StatusOptions):
        grid = commands.status(options)
        if args.json:
            report.out(json.dumps(render.status_json(grid), indent=2))
        elif args.markdown:
            report.out(render.status_markdown(grid))
        elif not grid.cells:
            report.info(f"no image files match {options.path_template} in {grid.where}")
        else:
            report.out(render.status_table(grid))
    elif isinstance(options, PromoteOptions):
        promoted = commands.promote(options)
        render.show_promoted(promoted, options, json_output=args.json)
        return render.wait_exit(promoted.outcome.waited if promoted.outcome else None)
    else:
        resolved = commands.resolve(options)
        if args.json:
            report.out(json.dumps(render.resolved_json(options.images, resolved), indent=2))
        else:
            report.out("".join(f"{found.digest}\n" for found in resolved))
    return 0
