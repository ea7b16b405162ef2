"""The command line: `autodeploy <command> ...`.

Each command lives in `autodeploy.commands.<name>` with `add_arguments(parser)` and `run(args) -> int`.
Only the chosen command's module is imported, so `--help` and a local dry run never load
PyGithub, docker or requests.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence
from types import ModuleType

from autodeploy import __version__
from autodeploy.errors import EXIT_BAD_INPUT, EXIT_BUG, EXIT_INTERRUPTED, AutodeployError
from autodeploy.report import error

COMMANDS: dict[str, str] = {
    "deploy": "pin an image's digest in <app>/<env>/image.yaml and open or update a pull request",
    "plan": "show what `deploy` would change, without writing anything (deploy --dry-run)",
    "resolve": "print the manifest digest that IMAGE:TAG points at in its registry",
    "rollback": "deploy an earlier tag of an app and env again, found in the GitOps history",
    "history": "list the deploys of an app and env, newest first",
}


class _Parser(argparse.ArgumentParser):
    """argparse, but usage errors are one line and exit 2 like every other bad input."""

    def error(self, message: str) -> None:  # type: ignore[override]
        error(f"{message} (see '{self.prog} --help')")
        raise SystemExit(EXIT_BAD_INPUT)


def _command_module(name: str) -> ModuleType:
    return importlib.import_module(f"autodeploy.commands.{name}")


def build_parser(argv: Sequence[str]) -> argparse.ArgumentParser:
    parser = _Parser(
        prog="autodeploy",
        description="Deploy a container image through GitOps: resolve its digest, rewrite the "
        "generated block of <app>/<env>/image.yaml, open or update a pull request.",
        epilog="Exit codes: 0 deployed or nothing to do, 1 the deploy failed, 2 bad input, "
        "3 unexpected error (rerun with --debug), 130 interrupted.",
    )
    parser.add_argument("--version", action="version", version=f"autodeploy {__version__}")
    parser.add_argument("--debug", action="store_true", help="show a traceback for unexpected errors")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    chosen = next((arg for arg in argv if arg in COMMANDS), None)
    for name, summary in COMMANDS.items():
        command = sub.add_parser(name, help=summary, description=summary)
        if name == chosen:
            _command_module(name).add_arguments(command)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args_list = list(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in args_list
    try:
        try:
            args = build_parser(args_list).parse_args(args_list)
        except SystemExit as exc:  # --help, --version, or a usage error already reported
            return exc.code if isinstance(exc.code, int) else EXIT_BAD_INPUT
        if not args.command:
            build_parser([]).print_help(sys.stderr)
            return EXIT_BAD_INPUT
        code: int = _command_module(args.command).run(args)
        return code
    except AutodeployError as exc:
        error(exc.message)
        return exc.exit_code
    except KeyboardInterrupt:
        error("interrupted")
        return EXIT_INTERRUPTED
    except Exception as exc:
        if debug:
            raise
        error(f"unexpected error: {type(exc).__name__}: {exc} (rerun with --debug for the traceback)")
        return EXIT_BUG
