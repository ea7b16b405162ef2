"""The GitHub Action's entrypoint: INPUT_* variables -> the CLI's argv -> `autodeploy deploy|rollback`.

Inputs become exactly the flags a person would type, parsed by `cli.build_parser`, and the command's
own `execute` does the work, so the Action and the CLI cannot drift apart. Secrets never enter argv:
they are masked first, then handed over in the variables the CLI reads. Results go to
$GITHUB_OUTPUT and a short table to $GITHUB_STEP_SUMMARY.
"""

from __future__ import annotations

import contextlib
import importlib
import json
import os
import re
import shlex
import signal
import sys
import traceback
import uuid
from collections.abc import Mapping, MutableMapping
from typing import Any

from autodeploy import cli, envmap, report, tags
from autodeploy.commands import common
from autodeploy.errors import EXIT_BAD_INPUT, EXIT_BUG, EXIT_INTERRUPTED, AutodeployError, InputError

# Every input action.yml declares, with the default it declares there (tests hold the two equal).
INPUTS: Mapping[str, str] = {
    "mode": "deploy",
    "gitops-repo": "",
    "gitops-dir": "",
    "app": "",
    "env": "auto",
    "env-map": "",
    "image": "",
    "tag": "",
    "digest": "",
    "token": "",
    "github-token": "",  # action.yml's default is ${{ github.token }}
    "app-id": "",
    "private-key": "",
    "registry-username": "",
    "registry-password": "",
    "base-branch": "",
    "branch": "",
    "path-template": "",
    "labels": "",
    "reviewers": "",
    "auto-merge": "",
    "merge-method": "",
    "allow-downgrade": "false",
    "dry-run": "false",
    "reason": "",
    "steps": "",
    "allow-retag": "false",
}
BOOLEANS = ("dry-run", "allow-downgrade", "allow-retag")
ONLY_FOR = {
    "digest": "deploy",
    "allow-downgrade": "deploy",
    "reason": "rollback",
    "steps": "rollback",
    "allow-retag": "rollback",
}
# Input -> the variable the CLI reads it from. Secrets travel this way, never as argv.
SECRET_VARIABLES = {
    "token": "AUTODEPLOY_GITHUB_TOKEN",
    "github-token": "GITHUB_TOKEN",  # the downgrade guard reads the source repo with it
    "private-key": "AUTODEPLOY_APP_PRIVATE_KEY",
    "registry-password": "AUTODEPLOY_REGISTRY_PASSWORD",
}
VARIABLES = {**SECRET_VARIABLES, "registry-username": "AUTODEPLOY_REGISTRY_USERNAME"}
_LIST_SEPARATORS = re.compile(r"[\n,]+")
_TRUE, _FALSE = {"true", "yes", "on", "1"}, {"false", "no", "off", "0", ""}


def read_inputs(environ: Mapping[str, str]) -> dict[str, str]:
    """Every declared input, as the runner passes it (`INPUT_GITOPS-REPO`) or with underscores
    (`INPUT_GITOPS_REPO`, handier with `docker run -e`); missing ones take action.yml's default."""
    values = {}
    for name, default in INPUTS.items():
        key = f"INPUT_{name.upper()}"
        value = environ.get(key, environ.get(key.replace("-", "_")))
        values[name] = default if value is None else value.strip()
    return values


def main() -> int:
    env = os.environ
    report.use_github_actions()
    # PID 1 in the container ignores SIGTERM unless it handles it: a cancelled job would hang 10 s.
    previous = signal.signal(signal.SIGTERM, _interrupt)
    try:
        return _main(env)
    finally:
        signal.signal(signal.SIGTERM, previous)


def _main(env: MutableMapping[str, str]) -> int:
    try:
        inputs = read_inputs(env)
        env.update(variables(inputs))
        for name in ("GITHUB_OUTPUT", "GITHUB_STEP_SUMMARY"):
            _check_writable(name, env.get(name))
        command, argv = build_argv(inputs, env)
        report.info("running: autodeploy " + shlex.join(argv))
        try:
            args = cli.build_parser(argv).parse_args(argv)
        except SystemExit as exc:  # a usage error, already reported on one line
            return exc.code if isinstance(exc.code, int) else EXIT_BAD_INPUT
        outcome = importlib.import_module(f"autodeploy.commands.{command}").execute(args)
        common.print_outcome(outcome, json_output=False)
        result: dict[str, Any] = common.outcome_json(outcome)
        write_outputs(env.get("GITHUB_OUTPUT"), outputs(result))
        write_summary(env.get("GITHUB_STEP_SUMMARY"), summary(result, rollback=command == "rollback"))
        return 0
    except AutodeployError as exc:
        report.error(exc.message)
        _summary_line(env, f"**autodeploy failed:** {report.redact(exc.message)}")
        return exc.exit_code
    except KeyboardInterrupt:
        report.error("interrupted")
        return EXIT_INTERRUPTED
    except Exception as exc:
        if env.get("RUNNER_DEBUG") == "1":
            report.info(traceback.format_exc())
        report.error(
            f"unexpected error: {type(exc).__name__}: {exc} "
            "(re-run the job with debug logging enabled for the traceback)"
        )
        return EXIT_BUG


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def variables(inputs: Mapping[str, str]) -> dict[str, str]:
    """The variables that carry secrets (and the registry user) to the CLI; secrets are masked here,
    before anything else is printed."""
    found = {VARIABLES[name]: inputs[name] for name in VARIABLES if inputs[name]}
    for name in SECRET_VARIABLES:
        if inputs[name]:
            report.secret(inputs[name])
    return found


def build_argv(inputs: Mapping[str, str], environ: Mapping[str, str]) -> tuple[str, list[str]]:
    """The command and the argv `autodeploy` would take for these inputs."""
    mode = inputs["mode"]
    if mode not in ("deploy", "rollback"):
        raise InputError(f"input mode must be deploy or rollback, not {mode!r}")
    for name, only in ONLY_FOR.items():
        if only != mode and (_bool(name, inputs[name]) if name in BOOLEANS else inputs[name]):
            raise InputError(f"input {name} applies to mode: {only} only")
    argv = [mode, *_location(inputs, environ)]
    apps = _list(inputs["app"])
    if not apps:
        raise InputError("input app is required: the app's folder in the GitOps repo")
    envs = _envs(inputs, environ)
    if mode == "rollback" and (len(apps) > 1 or len(envs) > 1):
        raise InputError("mode: rollback takes one app and one env")
    argv += [arg for app in apps for arg in ("--app", app)]
    argv += [arg for env in envs for arg in ("--env", env)]
    argv += _what(mode, inputs)
    argv += _flag("--path-template", inputs["path-template"])
    argv += _flag("--branch", inputs["branch"])
    argv += _flag("--base-branch", inputs["base-branch"])
    argv += _flag("--app-id", inputs["app-id"])
    argv += _flag("--merge-method", inputs["merge-method"])
    argv += [arg for label in _list(inputs["labels"]) for arg in ("--label", label)]
    argv += [arg for reviewer in _list(inputs["reviewers"]) for arg in ("--reviewer", reviewer)]
    argv += _auto_merge(inputs["auto-merge"])
    for name in BOOLEANS:
        if _bool(name, inputs[name]):
            argv.append(f"--{name}")
    return mode, argv


def _location(inputs: Mapping[str, str], environ: Mapping[str, str]) -> list[str]:
    repo, directory = inputs["gitops-repo"], inputs["gitops-dir"]
    if bool(repo) == bool(directory):
        raise InputError("give exactly one of the inputs gitops-repo (OWNER/NAME) and gitops-dir")
    if directory:
        return ["--gitops-dir", directory]
    if "/" not in repo and environ.get("GITHUB_REPOSITORY_OWNER"):
        repo = f"{environ['GITHUB_REPOSITORY_OWNER']}/{repo}"  # as today's action's `owner` default
    return ["--gitops-repo", repo]


def _envs(inputs: Mapping[str, str], environ: Mapping[str, str]) -> list[str]:
    envs = _list(inputs["env"])
    if envs != ["auto"]:
        if not envs or "auto" in envs:
            raise InputError("input env is a list of environments, or auto on its own")
        if inputs["env-map"]:
            raise InputError("input env-map applies to env: auto only")
        return envs
    mapping = envmap.parse_map(inputs["env-map"])
    chosen = envmap.environment(environ.get("GITHUB_REF", ""), _default_branch(environ), mapping)
    report.info(f"env: auto -> {chosen} for {environ.get('GITHUB_REF')}")
    return [chosen]


def _default_branch(environ: Mapping[str, str]) -> str:
    try:
        with open(environ["GITHUB_EVENT_PATH"], encoding="utf-8") as handle:
            branch = json.load(handle)["repository"]["default_branch"]
    except (KeyError, TypeError, OSError, ValueError):
        return "main"
    return branch if isinstance(branch, str) and branch else "main"


def _what(mode: str, inputs: Mapping[str, str]) -> list[str]:
    image, tag = inputs["image"], inputs["tag"]
    choice = tags.choose(tag, image or None) if tag else None
    if choice is not None and choice.candidates > 1:
        report.info(f"tag: chose {choice.reference} out of {len(tags.entries(tag))} entries")
    if mode == "deploy":
        if choice is None:
            raise InputError("input tag is required: the tag, IMAGE:TAG, or metadata-action's tags output")
        return [*_flag("--image", image), "--tag", choice.reference, *_flag("--digest", inputs["digest"])]
    if not image:
        if choice is None or choice.image is None:
            raise InputError("mode: rollback needs the image input (the image without its tag)")
        image = choice.image.name
    argv = ["--image", image]
    if choice is not None and inputs["steps"]:
        raise InputError("give the input tag (the tag to roll back to) or steps, not both")
    if choice is not None:
        argv += ["--to", choice.tag]
    return argv + _flag("--steps", inputs["steps"]) + _flag("--reason", inputs["reason"])


def _auto_merge(value: str) -> list[str]:
    envs = _list(value)
    if [env.lower() for env in envs] in (["false"], ["none"]):
        return ["--no-auto-merge"]
    return [arg for env in envs for arg in ("--auto-merge-env", env)]


def _flag(flag: str, value: str) -> list[str]:
    return [flag, value] if value else []


def _list(value: str) -> list[str]:
    return [item.strip() for item in _LIST_SEPARATORS.split(value) if item.strip()]


def _bool(name: str, value: str) -> bool:
    lowered = value.lower()
    if lowered not in _TRUE | _FALSE:
        raise InputError(f"input {name} must be true or false, not {value!r}")
    return lowered in _TRUE


def _check_writable(name: str, path: str | None) -> None:
    """Fail before deploying, not after, when the container's user cannot write the runner's files."""
    if not path:
        return
    exists = os.path.exists(path)
    if os.access(path if exists else os.path.dirname(path) or ".", os.W_OK):
        return
    owner = os.stat(path if exists else os.path.dirname(path) or ".").st_uid
    raise InputError(
        f"cannot write ${name} ({path}) as uid {os.getuid()}: the runner's user (uid {owner}) owns it. "
        "The image runs as uid 1001 like GitHub-hosted runners; on a self-hosted runner with another uid, "
        "run the autodeploy CLI in a step instead (see README, self-hosted runners)"
    )


def outputs(result: Mapping[str, Any]) -> dict[str, str]:
    targets = result["targets"]
    return {
        "changed": "true" if result["changed"] else "false",
        "branch": result["branch"] or "",
        "commit": result["commit"] or "",
        "pr-number": str(result["pr_number"] or ""),
        "pr-url": result["pr_url"] or "",
        "digest": result["digest"] or "",
        "env": ",".join(dict.fromkeys(t["env"] for t in targets)),
        "tag": result["new_tag"] or "",
        "old-tag": result["old_tag"] or "",
        "diff": result["diff"] or "",
    }


def write_outputs(path: str | None, values: Mapping[str, str]) -> None:
    """Append `name<<DELIMITER` blocks, safe for values with newlines, as @actions/core does."""
    if not path:
        for name, value in values.items():
            report.info(f"output {name}={value}")
        return
    with open(path, "a", encoding="utf-8") as handle:
        for name, value in values.items():
            delimiter = f"ghadelimiter_{uuid.uuid4()}"
            handle.write(f"{name}<<{delimiter}\n{value}\n{delimiter}\n")


def summary(result: Mapping[str, Any], *, rollback: bool) -> str:
    verb = "rolled back" if rollback else "deployed"
    if result["dry_run"]:
        title = "dry run, nothing written"
    elif result["changed"]:
        title = verb
    else:
        title = "nothing to change"
    lines = [f"### autodeploy: {title}", "", "| App | Env | Tag | Digest |", "| --- | --- | --- | --- |"]
    for t in result["targets"]:
        old = f"`{t['old_tag']}` → " if t["old_tag"] and t["old_tag"] != t["new_tag"] else ""
        lines.append(f"| {t['app']} | {t['env']} | {old}`{t['new_tag']}` | `{t['digest']}` |")
    for s in result["skipped"]:
        lines.append(f"| {s['app']} | {s['env']} | skipped: {s['reason'].replace('|', '/')} | |")
    if result["pr_url"]:
        lines += ["", f"Pull request [#{result['pr_number']}]({result['pr_url']}) on `{result['branch']}`"]
    if result["diff"]:
        diff = result["diff"].rstrip("\n")
        lines += ["", "<details><summary>diff</summary>", "", "```diff", diff, "```", "", "</details>"]
    return "\n".join(lines) + "\n"


def write_summary(path: str | None, text: str) -> None:
    if path:
        with open(path, "a", encoding="utf-8") as handle:
            handle.write(report.redact(text))


def _summary_line(environ: Mapping[str, str], text: str) -> None:
    with contextlib.suppress(OSError):  # the error itself is reported already
        write_summary(environ.get("GITHUB_STEP_SUMMARY"), text + "\n")


if __name__ == "__main__":
    sys.exit(main())
