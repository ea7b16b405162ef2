"""The GitHub Action's entrypoint: INPUT_* -> the options the CLI would build -> the same command.

It logs the equivalent `autodeploy ...` command line (secrets left out), so a user can rerun a
step locally with --dry-run; results go to $GITHUB_OUTPUT and a table to $GITHUB_STEP_SUMMARY.
"""

from __future__ import annotations

import contextlib
import os
import shlex
import traceback
from collections.abc import Sequence

from autodeploy import commands, render, report
from autodeploy.action import inputs, outputs
from autodeploy.boundary import ErrorBoundary
from autodeploy.cli.argv import argv
from autodeploy.environment import Environment
from autodeploy.options import RollbackOptions, WaitCommandOptions

DEBUG_HINT = "re-run the job with debug logging enabled for the traceback"
# What the CLI's messages say, as an Action user says it: inputs, not flags; never `docker login`,
# which the container cannot see.
AS_INPUTS = [
    ("pass --allow-downgrade", "set `allow-downgrade: true`"),
    ("pass --no-require-healthy", "set `require-healthy: false`"),
    ("--registry-check needs --image", "`registry-check: true` needs the input image"),
    ("Promote without --registry-check", "Set `registry-check: false`"),
    ("--deployment-environment", "the input deployment-environment"),
    ("pass --allow-retag", "set `allow-retag: true`"),
    ("pass --no-registry-check", "set `registry-check: false`"),
    ("pass --commit-from-image", "set `commit-from-image: true`"),
    (
        "pass --registry-username and --registry-password-stdin, set AUTODEPLOY_REGISTRY_USERNAME and "
        "AUTODEPLOY_REGISTRY_PASSWORD, or run docker login",
        "give the inputs registry-username and registry-password for",
    ),
    (
        "give credentials with --registry-username, AUTODEPLOY_REGISTRY_USERNAME or docker login",
        "give the inputs registry-username and registry-password",
    ),
    ("run docker login again", "check the inputs registry-username and registry-password"),
    ("pass --insecure-registry", "the registry must serve HTTPS for"),
    (
        "pick a branch it does not cover with --branch",
        "pick a branch it does not cover with the input branch",
    ),
    ("pass another --branch", "set another branch input"),
    ("--github-max-wait", "GitHub's time limit"),
    ("--registry-max-wait", "the registries' time limit"),
    ("--deadline", "the input deadline"),
    ("--path-template", "the input path-template"),
    ("--gitops-dir", "the input gitops-dir"),
    ("--gitops-repo", "the input gitops-repo"),
    ("--protected-branch", "the input protected-branches"),
    ("--private-key-file", "the input private-key"),
    ("--app-id", "the input client-id"),
    ("--title", "the input title"),
    ("--message", "the input commit-message"),
    ("--label", "the input labels"),
    ("--reason", "the input reason"),
    ("--steps", "the input images-back"),
    ("--digest", "the input digest"),
    ("--image", "the input image"),
    ("--tag", "the input tag"),
    ("--env", "the input env"),
    ("--app", "the input app"),
    ("--wait-timeout", "the input wait-timeout"),
    ("--on-timeout warn", "`on-timeout: warn`"),
    ("--flux-context", "the input flux-context"),
    ("--environment-url", "the input environment-url"),
    ("--gitops-commit", "the input gitops-commit"),
    ("add --wait", "set `wait: true`"),
    ("--wait", "`wait: true`"),
]


def main(argv: Sequence[str] = ()) -> int:
    """`argv` is what a sub-action's action.yml passes (`args: [rollback]`); empty for the root one."""
    report.use_github_actions()
    report.phrase(AS_INPUTS)
    env = Environment.read(os.environ)

    def on_error(message: str, bug: BaseException | None) -> None:
        if env.runner_debug and bug is not None:
            report.info("".join(traceback.format_exception(bug)))
        with contextlib.suppress(OSError):  # the error itself is reported already
            outputs.write_summary(env.summary_path, f"**autodeploy failed:** {report.redact(message)}\n")

    with ErrorBoundary(debug=False, hint=DEBUG_HINT, on_error=on_error) as boundary:
        return run(env, action=argv[0] if argv else None)
    return boundary.code


def run(env: Environment, *, action: str | None = None) -> int:
    """The step; its exit code (1 when the wait ends in Flux's failure or a timeout that fails)."""
    if action in ("promote", "status"):
        return _promote_or_status(env, action)
    values = inputs.read_inputs(os.environ, {**inputs.INPUTS, **inputs.DEPLOYMENT_INPUTS, **inputs.WAIT_ONLY})
    outputs.check_writable("GITHUB_OUTPUT", env.output_path)
    outputs.check_writable("GITHUB_STEP_SUMMARY", env.summary_path)
    options = inputs.options(values, env, action=action)
    report.info("running: autodeploy " + shlex.join(argv(options)))
    summary = inputs.flag(values, "summary")
    if isinstance(options, WaitCommandOptions):
        waited = commands.wait(options)
        render.show_wait(waited, json_output=False)
        outputs.write_outputs(env.output_path, outputs.WaitOutputs.of(waited))
        if summary:
            outputs.write_summary(env.summary_path, outputs.wait_summary(waited))
        return render.wait_exit(waited)
    rollback = isinstance(options, RollbackOptions)
    outcome = commands.rollback(options) if isinstance(options, RollbackOptions) else commands.deploy(options)
    render.show_outcome(outcome, json_output=False)
    outputs.write_outputs(env.output_path, outputs.Outputs.of(outcome))
    outputs.write_outputs(env.output_path, outputs.WaitOutputs.of(outcome.waited))
    if summary:
        text = outputs.summary(outcome, rollback=rollback)
        if outcome.waited is not None:
            text += "\n" + outputs.wait_summary(outcome.waited)
        outputs.write_summary(env.summary_path, text)
    return render.wait_exit(outcome.waited)


def _promote_or_status(env: Environment, action: str) -> int:
    """The ditkrg/autodeploy/promote and /status actions: their own inputs, the same commands."""
    from autodeploy.action import promote_inputs

    values = promote_inputs.read(os.environ, action)
    outputs.check_writable("GITHUB_OUTPUT", env.output_path)
    outputs.check_writable("GITHUB_STEP_SUMMARY", env.summary_path)
    summary = inputs.flag(values, "summary")
    if action == "status":
        status = promote_inputs.status_options(values, env)
        report.info("running: autodeploy " + shlex.join(argv(status)))
        grid = commands.status(status)
        report.out(render.status_table(grid) if grid.cells else "no image files found")
        outputs.write_outputs(env.output_path, promote_inputs.StatusOutputs.of(grid))
        if summary:
            outputs.write_summary(env.summary_path, render.status_markdown(grid))
        return 0
    promote = promote_inputs.promote_options(values, env)
    report.info("running: autodeploy " + shlex.join(argv(promote)))
    promoted = commands.promote(promote)
    render.show_promoted(promoted, promote, json_output=False)
    if promoted.outcome is not None:
        outputs.write_outputs(env.output_path, outputs.Outputs.of(promoted.outcome))
    else:
        outputs.write_outputs(env.output_path, promote_inputs.nothing_written())
    waited = promoted.outcome.waited if promoted.outcome is not None else None
    outputs.write_outputs(env.output_path, outputs.WaitOutputs.of(waited))
    outputs.write_outputs(env.output_path, promote_inputs.PromotedOutputs.of(promoted))
    if summary:
        text = promote_inputs.promote_summary(promoted, promote)
        if waited is not None:
            text += "\n" + outputs.wait_summary(waited)
        outputs.write_summary(env.summary_path, text)
    return render.wait_exit(waited)
