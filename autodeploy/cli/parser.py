"""The command line's flags. argparse lives here and in `build`, nowhere else; a usage error is an
InputError like every other bad input, not a SystemExit."""

from __future__ import annotations

import argparse
from typing import NoReturn

from autodeploy import __version__, flux, plan
from autodeploy.errors import InputError
from autodeploy.options import DEFAULT_GITHUB_MAX_WAIT, DEFAULT_WAIT_TIMEOUT, ON_TIMEOUT
from autodeploy.registry.access import DEFAULT_MAX_WAIT as DEFAULT_REGISTRY_MAX_WAIT

COMMANDS: dict[str, str] = {
    "deploy": "pin an image's digest in <app>/<env>/image.yaml and open or update a pull request",
    "plan": "show what `deploy` would change, without writing anything (deploy --dry-run)",
    "resolve": "print the manifest digest that IMAGE:TAG points at in its registry",
    "rollback": "deploy an earlier tag of an app and env again, found in the GitOps history",
    "history": "list the deploys of an app and env, newest first",
    "wait": "wait for a deploy's pull request to merge and for Flux to roll it out, or for Flux's "
    "verdict on a merged GitOps commit (--gitops-commit)",
    "status": "show what runs where: every app's image in every environment, from the base branch",
    "promote": "copy what one environment runs (tag, digest, commit) into another, gated on its health",
}
MERGE_METHODS = ("merge", "squash", "rebase")
DEFAULT_AUTO_MERGE_ENVS = ("development",)


class Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        raise InputError(f"{message} (see '{self.prog} --help')")


def _deadline(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--deadline",
        type=float,
        metavar="SECONDS",
        help="end the command, with one line, if it runs longer than this in all "
        "(default: $AUTODEPLOY_DEADLINE, else 600)",
    )


def build_parser(command: str | None) -> Parser:
    """The parser, with the flags of `command` only (each command's own `--help`)."""
    parser = Parser(
        prog="autodeploy",
        description="Deploy a container image through GitOps: resolve its digest, rewrite the "
        "generated block of <app>/<env>/image.yaml, open or update a pull request.",
        epilog="Exit codes: 0 deployed or nothing to do, 1 the deploy failed, 2 bad input, "
        "3 unexpected error (rerun with --debug), 130 interrupted.",
        allow_abbrev=False,  # `--env` must never be taken for `--environment-url`
    )
    parser.add_argument("--version", action="version", version=f"autodeploy {__version__}")
    parser.add_argument("--debug", action="store_true", help="show a traceback for unexpected errors")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=Parser)
    for name, summary in COMMANDS.items():
        command_parser = sub.add_parser(name, help=summary, description=summary, allow_abbrev=False)
        if name == command:
            _ADDERS[name](command_parser)
            _deadline(command_parser)
    return parser


def _deploy(parser: argparse.ArgumentParser, *, dry_run: bool = True) -> None:
    _location(parser, several=True)
    parser.add_argument(
        "--targets",
        metavar="FILE",
        help="a YAML file listing targets (app, env, and optionally image, tag, digest) to deploy in one PR",
    )
    what = parser.add_argument_group("what")
    what.add_argument("--image", help="the image without its tag, e.g. harbor.example.com/team/my-api")
    what.add_argument("--tag", help="the tag to deploy (a full IMAGE:TAG reference works too)")
    what.add_argument(
        "--digest", help="the manifest digest (sha256:...); resolved from the registry when omitted"
    )
    what.add_argument("--commit", help="the source commit the image was built from (default: $GITHUB_SHA)")
    what.add_argument(
        "--source-repo",
        help="OWNER/NAME of the repository the image is built from (default: $GITHUB_REPOSITORY)",
    )
    guard = parser.add_argument_group("downgrade guard")
    guard.add_argument(
        "--allow-downgrade",
        action="store_true",
        help="deploy even when the environment runs an image built from a newer commit",
    )
    guard.add_argument(
        "--source-dir",
        metavar="DIR",
        help="a clone of the source repository to compare commits in (default: the current directory "
        "when it is one; with --gitops-repo, GitHub's compare API otherwise)",
    )
    if dry_run:  # deploy, not plan
        _wait_flags(parser, with_switch=True)
    _write(parser, dry_run=dry_run)


def _plan(parser: argparse.ArgumentParser) -> None:
    _deploy(parser, dry_run=False)


def _rollback(parser: argparse.ArgumentParser) -> None:
    _location(parser, several=False)
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
        help="deploy what the tag points at now, not the digest that ran (default: the digest that ran)",
    )
    what.add_argument(
        "--no-registry-check",
        dest="registry_check",
        action="store_false",
        help="deploy the recorded digest without asking the registry whether it still holds it",
    )
    what.add_argument(
        "--limit", type=int, default=50, help="how many deploys back to look (default: %(default)s)"
    )
    _wait_flags(parser, with_switch=True)
    _write(parser, dry_run=True, rollback=True)


def _history(parser: argparse.ArgumentParser) -> None:
    _location(parser, several=False)
    parser.add_argument("--limit", type=int, default=20, help="show at most N deploys (default: %(default)s)")
    parser.add_argument("--json", action="store_true", help="print the deploys as a JSON list")
    _github(parser)


def _resolve(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "images",
        nargs="+",
        metavar="IMAGE:TAG",
        help="image references such as ghcr.io/org/app:1.2.3 or my-api:dev-843632a (Docker Hub)",
    )
    parser.add_argument(
        "--json",
        action="store_true",
        help="print a JSON list of {image, digest, media_type, platforms, labels}",
    )
    _registry(parser, commit_from_image=False)


def _status(parser: argparse.ArgumentParser) -> None:
    _location(parser, several=True, reads=True)
    parser.add_argument(
        "--env-order",
        metavar="ENV,ENV,...",
        help="the order environments are promoted in, for the columns and the marks "
        "(default: development,staging,production; --env sets it too)",
    )
    out = parser.add_mutually_exclusive_group()
    out.add_argument("--json", action="store_true", help="print one JSON entry per app and environment")
    out.add_argument("--markdown", action="store_true", help="print the matrix as a Markdown table")
    _github(parser)


def _promote(parser: argparse.ArgumentParser) -> None:
    where = parser.add_argument_group("where and what")
    where.add_argument(
        "--gitops-dir", metavar="DIR", help="edit a local checkout (or any directory) in place"
    )
    which = where.add_mutually_exclusive_group()
    which.add_argument("--app", action="append", default=[], help="the app to promote; repeatable")
    which.add_argument(
        "--all", action="store_true", help="every app whose two environments run different builds"
    )
    where.add_argument(
        "--from", dest="source_env", required=True, metavar="ENV", help="the source environment"
    )
    where.add_argument("--to", dest="target_env", required=True, metavar="ENV", help="the target environment")
    _path_template(where)
    gate = parser.add_argument_group("health gate and downgrade guard")
    gate.add_argument(
        "--no-require-healthy",
        dest="require_healthy",
        action="store_false",
        help="promote without checking that the source version succeeded (its GitHub Deployment, "
        "or Flux's commit statuses)",
    )
    gate.add_argument(
        "--allow-downgrade",
        action="store_true",
        help="promote even when the target runs an image built from a newer commit",
    )
    gate.add_argument(
        "--source-dir",
        metavar="DIR",
        help="a clone of the source repository to compare commits in (default: the current directory "
        "when it is one; with --gitops-repo, GitHub's compare API otherwise)",
    )
    check = parser.add_argument_group("registry check (no registry is needed otherwise)")
    check.add_argument(
        "--registry-check",
        action="store_true",
        help="ask the registry whether it still holds each digest (needs --image)",
    )
    check.add_argument(
        "--image",
        metavar="REG/ORG/{app}",
        help="the image of each app, with {app}, for --registry-check",
    )
    _write(parser, dry_run=True, promote=True)
    _wait_flags(parser, with_switch=True, gate=True)


def _wait(parser: argparse.ArgumentParser) -> None:
    what = parser.add_argument_group("what to wait for (one of)")
    choice = what.add_mutually_exclusive_group(required=True)
    choice.add_argument(
        "--pr",
        type=int,
        metavar="NUMBER",
        help="a pull request of the GitOps repo: until it merges, then Flux",
    )
    choice.add_argument(
        "--gitops-commit",
        metavar="SHA",
        help="a merged commit of the GitOps repo: Flux's verdict on every deploy it brought (the image "
        "files it changed)",
    )
    what.add_argument(
        "--since",
        metavar="SHA",
        help="with --gitops-commit: every deploy since this commit (a push's github.event.before), "
        "not only the commit's own; all zeros (a new branch) means the commit's own",
    )
    what.add_argument("--app", help="only this app's deploys")
    what.add_argument("--env", help="only this environment's deploys")
    what.add_argument(
        "--path-template",
        default=plan.DEFAULT_PATH_TEMPLATE,
        help="where an environment's image file lives (default: %(default)s)",
    )
    parser.add_argument("--json", action="store_true", help="print the outcome as JSON on standard output")
    _wait_flags(parser, with_switch=False)
    _github(parser)


def _wait_flags(parser: argparse.ArgumentParser, *, with_switch: bool, gate: bool = False) -> None:
    """The wait's flags; with `gate` (promote) --flux-context and --deployment-environment also say
    how the health gate judges the source environment."""
    group = parser.add_argument_group(
        "waiting for Flux (with --gitops-repo; Flux's notification-controller posts commit statuses)"
    )
    if with_switch:
        group.add_argument(
            "--wait",
            action="store_true",
            help="after the pull request is opened, wait until it merges and Flux reports on it",
        )
    group.add_argument(
        "--flux-context",
        action="append",
        default=[],
        metavar="GLOB",
        help="the commit status contexts that decide, with {app} and {env}; repeatable "
        f"(default: {flux.DEFAULT_CONTEXTS[0]})"
        + ("; the source environment's for the health gate, the target's for --wait" if gate else ""),
    )
    group.add_argument(
        "--wait-timeout",
        type=float,
        default=DEFAULT_WAIT_TIMEOUT,
        metavar="SECONDS",
        help="give up waiting after this long (default: %(default)g)",
    )
    group.add_argument(
        "--on-timeout",
        choices=ON_TIMEOUT,
        default="fail",
        help="when Flux says nothing by then: fail (exit 1, the default) or warn (exit 0)",
    )
    deployment_flags(parser, gate=gate)


_ADDERS = {
    "deploy": _deploy,
    "plan": _plan,
    "resolve": _resolve,
    "rollback": _rollback,
    "history": _history,
    "status": _status,
    "promote": _promote,
    "wait": _wait,
}


def _location(parser: argparse.ArgumentParser, *, several: bool, reads: bool = False) -> None:
    where = parser.add_argument_group("where")
    where.add_argument(
        "--gitops-dir",
        metavar="DIR",
        help="read a local checkout (or any directory); a checkout's git log dates each version"
        if reads
        else "edit a local checkout (or any directory) in place",
    )
    repeat = "; repeatable" if several else ""
    for flag, what in (
        ("--app", "the app's folder in the GitOps repo"),
        ("--env", "the environment's folder"),
    ):
        where.add_argument(
            flag,
            action="append" if several else "store",
            default=[] if several else None,
            help=f"{what}{repeat}",
        )
    _path_template(where)


def _path_template(group: argparse._ArgumentGroup) -> None:
    group.add_argument(
        "--path-template",
        default=plan.DEFAULT_PATH_TEMPLATE,
        help="where an environment's image file lives (default: %(default)s)",
    )


def _write(
    parser: argparse.ArgumentParser, *, dry_run: bool, rollback: bool = False, promote: bool = False
) -> None:
    """What every command that writes a deploy shares: naming, output, registry and GitHub flags."""
    how = parser.add_argument_group("branch, commit and pull request")
    how.add_argument(
        "--branch",
        help="branch template, e.g. 'deploy-{env}-{app}' (default: "
        + (
            "rollback-{env}-{app}, a branch of its own)"
            if rollback
            else "prod-release, staging-release, update-{env}-{app}, as today's action)"
        ),
    )
    how.add_argument(
        "--protected-branch",
        action="append",
        default=[],
        metavar="GLOB",
        help="a branch the deploy must never write to, besides the base branch; repeatable",
    )
    how.add_argument(
        "--title",
        help="pull request title template ({app}, {env}, {new_tag}; default: "
        + (
            f"{plan.ROLLBACK_TITLE_TEMPLATE!r})"
            if rollback
            else f"Production release, Staging release, or {plan.DEFAULT_TITLE_TEMPLATE!r})"
        ),
    )
    how.add_argument(
        "--message",
        default=plan.PROMOTE_MESSAGE_TEMPLATE if promote else plan.DEFAULT_MESSAGE_TEMPLATE,
        help="commit message template ({app}, {env}, {old_tag}, {new_tag}; default: %(default)s)",
    )
    how.add_argument(
        "--label", action="append", default=None, help="pull request label; repeatable (default: auto-deploy)"
    )
    out = parser.add_argument_group("output")
    if dry_run:
        out.add_argument(
            "--dry-run", action="store_true", help="print the exact diff and the writes it would make"
        )
    out.add_argument("--json", action="store_true", help="print the outcome as JSON on standard output")
    _registry(parser, commit_from_image=not promote)
    _github(parser, pull_requests=True)


def _registry(parser: argparse.ArgumentParser, *, commit_from_image: bool) -> None:
    group = parser.add_argument_group("registry")
    group.add_argument(
        "--registry-username",
        metavar="USER",
        help="log in to the registry as USER (with --registry-password-stdin); default: "
        "$AUTODEPLOY_REGISTRY_USERNAME, then Docker's config.json",
    )
    group.add_argument(
        "--registry-password-stdin",
        action="store_true",
        help="read the registry password or token from standard input "
        "(default: $AUTODEPLOY_REGISTRY_PASSWORD)",
    )
    group.add_argument(
        "--insecure-registry",
        action="append",
        default=[],
        metavar="HOST",
        help="speak plain HTTP to HOST[:PORT] (loopback registries always do); repeatable",
    )
    group.add_argument(
        "--digest-from",
        choices=("registry", "docker"),
        default="registry",
        help="ask the registry (default), or the local Docker daemon with its own credentials",
    )
    group.add_argument(
        "--registry-host",
        metavar="HOST",
        help="the registry --registry-username belongs to, when not the image's own; no other host "
        "is sent those credentials",
    )
    group.add_argument(
        "--registry-max-wait",
        type=float,
        default=DEFAULT_REGISTRY_MAX_WAIT,
        metavar="SECONDS",
        help="spend at most this long on registries in all: connecting, reading and retries "
        "(default: %(default)s)",
    )
    if commit_from_image:
        group.add_argument(
            "--commit-from-image",
            action="store_true",
            help="record the commit and source repository from the image's "
            "org.opencontainers.image.revision and .source labels",
        )


def _github(parser: argparse.ArgumentParser, *, pull_requests: bool = False) -> None:
    group = parser.add_argument_group(
        "GitHub (with --gitops-repo; a token from $AUTODEPLOY_GITHUB_TOKEN or $GITHUB_TOKEN, "
        "the API at $GITHUB_API_URL)"
    )
    group.add_argument(
        "--gitops-repo",
        metavar="OWNER/REPO",
        help="read and write the GitOps repo on GitHub through its API, with a pull request "
        "(default: $AUTODEPLOY_GITOPS_REPO)",
    )
    group.add_argument(
        "--base-branch",
        metavar="BRANCH",
        help="the branch pull requests go into (default: $AUTODEPLOY_BASE_BRANCH, else the repository's "
        "default branch, which costs one API call to look up)",
    )
    group.add_argument(
        "--app-id",
        help="authenticate as this GitHub App (key from $AUTODEPLOY_APP_PRIVATE_KEY or --private-key-file; "
        "default: $AUTODEPLOY_APP_ID)",
    )
    group.add_argument("--private-key-file", metavar="FILE", help="the GitHub App's private key (.pem)")
    group.add_argument(
        "--app-installation-id",
        type=int,
        metavar="ID",
        help="the App's installation to use (default: looked up for the GitOps repo, one API call)",
    )
    if pull_requests:
        group.add_argument(
            "--reviewer",
            action="append",
            default=[],
            metavar="USER|ORG/TEAM",
            help="request a review from USER or team ORG/TEAM on a new pull request; repeatable",
        )
        group.add_argument("--draft", action="store_true", help="open new pull requests as drafts")
        group.add_argument("--body", help="a new pull request's text, above autodeploy's table of deploys")
        group.add_argument(
            "--assignee",
            action="append",
            default=[],
            metavar="USER",
            help="assign a new pull request to USER; repeatable",
        )
        group.add_argument(
            "--merge-method",
            choices=MERGE_METHODS,
            default="merge",
            help="how auto-merge merges (default: %(default)s, as today's action)",
        )
        group.add_argument(
            "--auto-merge-env",
            action="append",
            default=None,
            metavar="ENV",
            help="enable auto-merge on pull requests for ENV; repeatable (default: development)",
        )
        group.add_argument("--no-auto-merge", action="store_true", help="never enable auto-merge")
    group.add_argument(
        "--github-max-wait",
        type=float,
        default=DEFAULT_GITHUB_MAX_WAIT,
        metavar="SECONDS",
        help="spend at most this long on GitHub in all: connecting, reading, rate limits and retries "
        "(default: %(default)s)",
    )


def deployment_flags(parser: argparse.ArgumentParser, *, gate: bool = False) -> None:
    """GitHub Deployments in the application repository, for the commands that wait to attach."""
    group = parser.add_argument_group(
        "GitHub Deployments (in the application repository, written with $AUTODEPLOY_DEPLOYMENT_TOKEN, "
        "else $GITHUB_TOKEN, else the GitOps credentials; the token needs `deployments: write` there)"
    )
    group.add_argument(
        "--deployment",
        action="store_true",
        help="record the deploy as a GitHub Deployment of the source commit: queued when the pull "
        "request opens, in progress when it merges, success or failure from Flux",
    )
    group.add_argument(
        "--deployment-environment",
        metavar="TEMPLATE",
        help="the deployment's environment name, from {app} and {env} (default: {env}; e.g. {app}-{env})"
        + ("; also where the health gate looks for the source's deployment" if gate else ""),
    )
    group.add_argument(
        "--production-environment",
        action="append",
        default=[],
        metavar="GLOB",
        help="environments (the name or the env) GitHub marks as production; repeatable "
        "(default: production)",
    )
    group.add_argument(
        "--environment-url",
        metavar="URL",
        help="where the environment runs, shown on the deployment, from {app} and {env} "
        "(e.g. https://{env}.example.com)",
    )
