"""The Action's entrypoint end to end, driven as the runner drives it: INPUT_* and GITHUB_* variables,
the $GITHUB_OUTPUT and $GITHUB_STEP_SUMMARY files, a workspace holding a copy of the example GitOps repo."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from autodeploy import action, render, report
from autodeploy.action import inputs as action_inputs
from autodeploy.action import outputs as action_outputs

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "examples" / "gitops"
COMMIT = "2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d5e"
DIGEST = "sha256:" + "ab" * 32
STAGING = "my-api/staging/image.yaml"


@dataclass(frozen=True)
class Run:
    code: int
    out: str
    err: str
    outputs: dict[str, str]
    summary: str


class Workspace:
    def __init__(
        self, root: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
    ) -> None:
        self.root = root
        self.gitops = root / "gitops"
        self.output = root.parent / "file_commands" / "set_output"
        self.summary = root.parent / "file_commands" / "step_summary"
        self.event = root.parent / "event.json"
        self.monkeypatch = monkeypatch
        self.capsys = capsys

    def event_default_branch(self, branch: str) -> None:
        self.event.write_text(json.dumps({"repository": {"default_branch": branch}}))

    def run(self, *args: str, **inputs: str) -> Run:
        """Inputs by their action.yml names, '_' for '-'; set as the runner names them: INPUT_GITOPS-DIR.
        `args` are a sub-action's (`wait`)."""
        for name in {**action_inputs.INPUTS, **action_inputs.DEPLOYMENT_INPUTS, **action_inputs.WAIT_ONLY}:
            self.monkeypatch.delenv(f"INPUT_{name.upper()}", raising=False)
        for key, value in inputs.items():
            self.monkeypatch.setenv(f"INPUT_{key.replace('_', '-').upper()}", value)
        self.output.write_text("")
        self.summary.write_text("")
        self.capsys.readouterr()
        code = action.main(list(args))
        out, err = self.capsys.readouterr()
        return Run(code, out, err, parse_outputs(self.output.read_text()), self.summary.read_text())


def parse_outputs(text: str) -> dict[str, str]:
    """$GITHUB_OUTPUT as the runner reads it: `name=value` lines and `name<<DELIMITER` blocks."""
    values: dict[str, str] = {}
    lines = iter(text.split("\n"))
    for line in lines:
        if not line:
            continue
        if "<<" in line and ("=" not in line or line.index("<<") < line.index("=")):
            name, _, delimiter = line.partition("<<")
            body = []
            for inner in lines:
                if inner == delimiter:
                    break
                body.append(inner)
            else:
                raise AssertionError(f"output {name}: delimiter {delimiter} never closes")
            values[name] = "\n".join(body)
        else:
            name, _, value = line.partition("=")
            values[name] = value
    return values


def make_workspace(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> Workspace:
    for name in list(os.environ):
        if name.startswith(("INPUT_", "GITHUB_", "RUNNER_", "AUTODEPLOY_")):
            monkeypatch.delenv(name)
    monkeypatch.setattr(report, "_github_actions", False)
    monkeypatch.setattr(report, "_secrets", set())
    root = tmp_path / "workspace"
    shutil.copytree(EXAMPLE, root / "gitops")
    (tmp_path / "file_commands").mkdir()
    (tmp_path / "action-docker-config").mkdir()
    ws = Workspace(root, monkeypatch, capsys)
    ws.event_default_branch("main")
    for name, value in {
        "GITHUB_ACTIONS": "true",
        "GITHUB_OUTPUT": str(ws.output),
        "GITHUB_STEP_SUMMARY": str(ws.summary),
        "GITHUB_EVENT_PATH": str(ws.event),
        "GITHUB_REF": "refs/heads/main",
        "GITHUB_SHA": COMMIT,
        "GITHUB_REPOSITORY": "my-team/my-api",
        "GITHUB_REPOSITORY_OWNER": "my-team",
        "GITHUB_SERVER_URL": "https://github.com",
        "GITHUB_WORKSPACE": str(root),
        "DOCKER_CONFIG": str(tmp_path / "action-docker-config"),
    }.items():
        monkeypatch.setenv(name, value)
    monkeypatch.chdir(root)
    return ws


@pytest.fixture
def workspace(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> Workspace:
    return make_workspace(tmp_path, monkeypatch, capsys)


METADATA_TAGS = "ghcr.io/my-team/my-api:main-2b3c4d5\n"
RELEASE_TAGS = "ghcr.io/my-team/my-api:1.4.0\nghcr.io/my-team/my-api:1.4\nghcr.io/my-team/my-api:latest\n"


def deploy_inputs(**extra: str) -> dict[str, str]:
    return {
        "gitops_dir": "gitops",
        "app": "my-api",
        "image": "ghcr.io/my-team/my-api",
        "tag": METADATA_TAGS,
        "digest": DIGEST,
        **extra,
    }


def error_lines(run: Run) -> list[str]:
    return [line for line in run.out.splitlines() if line.startswith("::error title=autodeploy::")]


def test_deploy_on_the_default_branch_goes_to_staging(workspace: Workspace) -> None:
    run = workspace.run(**deploy_inputs())
    assert run.code == 0, run.err
    text = (workspace.gitops / STAGING).read_text()
    assert f"        tag: main-2b3c4d5\n        digest: {DIGEST}\n" in text
    assert f"GITHUB_COMMIT_HASH: {COMMIT}" in text
    assert run.outputs == {
        "changed": "true",
        "branch": "staging-release",
        "commit": "",
        "pr-number": "",
        "pr-url": "",
        "digest": DIGEST,
        "env": "staging",
        "tag": "main-2b3c4d5",
        "old-tag": "main-1f0c2d9",
        "diff": "",
        "skipped": "",
        "pull-request-number": "",
        "pull-request-url": "",
        "pull-request-operation": "none",
        "pull-request-head-sha": "",
        "pull-request-branch": "",
        "rollout": "not-waited",
        "flux-status": "",
        "merged-at": "",
        "deployment-id": "",
    }
    assert "| my-api | staging | `main-1f0c2d9` → `main-2b3c4d5` | `" + DIGEST + "` |" in run.summary
    assert run.summary.startswith("### autodeploy: deployed\n")
    assert not error_lines(run) and "Traceback" not in run.err
    assert "env: auto -> staging for refs/heads/main" in run.err


def test_the_logged_command_is_the_cli_s(workspace: Workspace) -> None:
    run = workspace.run(**deploy_inputs(dry_run="true"))
    line = next(line for line in run.err.splitlines() if line.startswith("running: autodeploy "))
    assert line == (
        "running: autodeploy deploy --gitops-dir gitops --app my-api --env staging "
        f"--tag ghcr.io/my-team/my-api:main-2b3c4d5 --digest {DIGEST} --dry-run"
    )


def test_a_second_run_changes_nothing(workspace: Workspace) -> None:
    assert workspace.run(**deploy_inputs()).code == 0
    before = (workspace.gitops / STAGING).read_bytes()
    run = workspace.run(**deploy_inputs())
    assert run.code == 0
    assert (workspace.gitops / STAGING).read_bytes() == before
    assert run.outputs["changed"] == "false" and run.outputs["old-tag"] == "main-2b3c4d5"
    assert run.summary.startswith("### autodeploy: nothing to change\n")
    assert "| my-api | staging | `main-2b3c4d5` |" in run.summary


def test_dry_run_writes_nothing_and_outputs_the_multi_line_diff(workspace: Workspace) -> None:
    before = (workspace.gitops / STAGING).read_bytes()
    run = workspace.run(**deploy_inputs(dry_run="true"))
    assert run.code == 0, run.err
    assert (workspace.gitops / STAGING).read_bytes() == before
    assert run.outputs["changed"] == "false"
    diff = run.outputs["diff"]
    assert diff.startswith(f"--- a/{STAGING}\n+++ b/{STAGING}\n")
    assert "-        tag: main-1f0c2d9\n+        tag: main-2b3c4d5\n" in diff
    assert run.summary.startswith("### autodeploy: dry run, nothing written\n")
    assert "```diff\n" + diff.rstrip("\n") + "\n```" in run.summary
    # the delimiter syntax: every value's block closes, and no delimiter appears in a value
    assert workspace.output.read_text().count("<<ghadelimiter_") == len(run.outputs)


@pytest.mark.parametrize(
    ("ref", "env_map", "env"),
    [
        ("refs/tags/v1.4.0", "", "production"),
        ("refs/heads/main", "", "staging"),
        ("refs/heads/feature/login", "", "development"),
        ("refs/pull/7/merge", "refs/pull/*: development", "development"),
        ("refs/heads/release/1.4", "refs/heads/release/*: production", "production"),
        ("refs/heads/feature/x", "branch: staging", "staging"),
    ],
)
def test_env_auto(workspace: Workspace, ref: str, env_map: str, env: str) -> None:
    workspace.monkeypatch.setenv("GITHUB_REF", ref)
    run = workspace.run(**deploy_inputs(tag=RELEASE_TAGS, env_map=env_map))
    assert run.code == 0, run.err
    assert run.outputs["env"] == env and run.outputs["tag"] == "1.4.0"
    assert "        tag: 1.4.0\n" in (workspace.gitops / f"my-api/{env}/image.yaml").read_text()


def test_env_auto_reads_the_default_branch_from_the_event(workspace: Workspace) -> None:
    workspace.event_default_branch("trunk")
    workspace.monkeypatch.setenv("GITHUB_REF", "refs/heads/trunk")
    assert workspace.run(**deploy_inputs()).outputs["env"] == "staging"
    workspace.monkeypatch.setenv("GITHUB_REF", "refs/heads/main")
    assert workspace.run(**deploy_inputs()).outputs["env"] == "development"


def test_several_apps_and_envs(workspace: Workspace) -> None:
    shutil.copytree(workspace.gitops / "my-api", workspace.gitops / "my-worker")
    run = workspace.run(
        **deploy_inputs(app="my-api\nmy-worker", env="staging, production", branch="deploy-all")
    )
    assert run.code == 0, run.err
    assert run.outputs["env"] == "staging,production" and run.outputs["branch"] == "deploy-all"
    assert run.summary.count("`main-2b3c4d5`") == 4


@pytest.mark.parametrize(
    ("inputs", "code", "message"),
    [
        ({"mode": "promote"}, 2, "input mode must be deploy or rollback, not 'promote'"),
        ({"app": ""}, 2, "input app is required"),
        ({"tag": ""}, 2, "input tag is required"),
        (
            {"gitops_repo": "my-team/gitops"},
            2,
            "give exactly one of the inputs gitops-repo (OWNER/NAME) and gitops-dir",
        ),
        ({"gitops_dir": ""}, 2, "give exactly one of the inputs gitops-repo"),
        (
            {"digest": "sha256:abc"},
            2,
            "digest 'sha256:abc' is not 'sha256:' followed by 64 lowercase hex digits",
        ),
        ({"dry_run": "maybe"}, 2, "input dry-run must be true or false, not 'maybe'"),
        ({"env": "auto, staging"}, 2, "input env is a list of environments, or auto on its own"),
        ({"env": "staging", "env_map": "branch: dev"}, 2, "input env-map applies to env: auto only"),
        ({"env_map": "main=staging"}, 2, "env-map entry 'main=staging' is not 'KEY: ENV'"),
        ({"env_map": "main: staging"}, 2, "env-map key 'main' is not one of tag, default-branch, branch"),
        ({"reason": "broken"}, 2, "input reason applies to mode: rollback only"),
        ({"steps": "2"}, 2, "input steps applies to mode: rollback only"),
        ({"image": "ghcr.io/other/app"}, 2, "none of the tags names the image ghcr.io/other/app"),
        ({"env": "qa"}, 2, "my-api/qa/ does not exist; the directories in my-api/ are: base, development"),
        (
            {"path_template": "{app}/{stage}.yaml"},
            2,
            "the input path-template uses {stage}, which is not one of {app}, {env}",
        ),
        ({"gitops_dir": "missing"}, 2, "the input gitops-dir 'missing' is not a directory"),
        ({"mode": "rollback", "digest": DIGEST}, 2, "input digest applies to mode: deploy only"),
    ],
)
def test_bad_input_is_one_error_annotation(
    workspace: Workspace, inputs: dict[str, str], code: int, message: str
) -> None:
    run = workspace.run(**deploy_inputs(**inputs))
    assert run.code == code
    [line] = error_lines(run)
    assert line.startswith("::error title=autodeploy::") and message in line, line
    assert "Traceback" not in run.err and run.err.count("autodeploy: error:") == 1
    assert run.outputs == {}
    assert run.summary.startswith("**autodeploy failed:** ")


def test_secrets_are_masked_first_and_stay_out_of_argv_and_the_environment(workspace: Workspace) -> None:
    key = "\n".join(
        [
            "-----BEGIN PRIVATE KEY-----",
            "MIIEvQIBADANBgkqhkiG9w0BAQEFAASC",
            "BKcwggSjAgEAAoIBAQC7",
            "-----END PRIVATE KEY-----",
        ]
    )
    secrets = {"token": "ghs_token0123456789", "private_key": key, "registry_password": "hunter2-registry"}
    run = workspace.run(**deploy_inputs(dry_run="true", registry_username="robot", **secrets))
    assert run.code == 0, run.err
    lines = run.out.splitlines()
    masks = [line for line in lines if line.startswith("::add-mask::")]
    assert lines[: len(masks)] == masks, "the masks come before any other output"
    assert {"::add-mask::ghs_token0123456789", "::add-mask::hunter2-registry"} <= set(masks)
    assert "::add-mask::MIIEvQIBADANBgkqhkiG9w0BAQEFAASC" in masks  # every line of the key
    for name in ("AUTODEPLOY_GITHUB_TOKEN", "AUTODEPLOY_APP_PRIVATE_KEY", "AUTODEPLOY_REGISTRY_PASSWORD"):
        assert name not in os.environ  # credentials are values handed down, never variables set
    command = next(line for line in run.err.splitlines() if line.startswith("running: "))
    for value in ("ghs_token0123456789", "MIIEvQ", "hunter2-registry"):
        assert value not in command
        assert value not in run.summary


def test_secrets_are_masked_even_when_the_inputs_are_bad(workspace: Workspace) -> None:
    run = workspace.run(mode="bogus", token="ghs_token0123456789")
    assert run.code == 2
    assert run.out.splitlines()[0] == "::add-mask::ghs_token0123456789"
    assert error_lines(run) == [
        "::error title=autodeploy::input mode must be deploy or rollback, not 'bogus'"
    ]


def test_an_unwritable_output_file_fails_before_deploying(workspace: Workspace) -> None:
    before = (workspace.gitops / STAGING).read_bytes()
    real_access = os.access
    output = str(workspace.output)
    workspace.monkeypatch.setattr(
        action_outputs.os, "access", lambda p, m: False if p == output else real_access(p, m)
    )
    run = workspace.run(**deploy_inputs())
    assert run.code == 2
    [line] = error_lines(run)
    assert f"cannot write $GITHUB_OUTPUT ({output}) as uid {os.getuid()}" in line
    assert (workspace.gitops / STAGING).read_bytes() == before


def test_an_unexpected_error_is_one_line_and_exit_3(workspace: Workspace) -> None:
    def boom(*args: object, **kwargs: object) -> None:
        raise RuntimeError("disk on fire")

    workspace.monkeypatch.setattr(render, "show_outcome", boom)
    run = workspace.run(**deploy_inputs())
    assert run.code == 3
    assert error_lines(run) == [
        "::error title=autodeploy::unexpected error: RuntimeError: disk on fire "
        "(re-run the job with debug logging enabled for the traceback)"
    ]
    assert "Traceback" not in run.err
    workspace.monkeypatch.setenv("RUNNER_DEBUG", "1")
    assert "Traceback" in workspace.run(**deploy_inputs()).err


def test_sigterm_is_an_interrupt(workspace: Workspace) -> None:
    def cancelled(*args: object, **kwargs: object) -> None:
        os.kill(os.getpid(), signal.SIGTERM)

    workspace.monkeypatch.setattr(render, "show_outcome", cancelled)
    before = signal.getsignal(signal.SIGTERM)
    run = workspace.run(**deploy_inputs())
    assert run.code == 130 and error_lines(run) == ["::error title=autodeploy::interrupted"]
    assert signal.getsignal(signal.SIGTERM) is before


def test_runs_as_the_image_runs_it(workspace: Workspace) -> None:
    """`python -m autodeploy.action`, the image's ENTRYPOINT, in a fresh interpreter."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("INPUT_")}
    env.update({f"INPUT_{k.replace('_', '-').upper()}": v for k, v in deploy_inputs(dry_run="true").items()})
    env["PYTHONPATH"] = str(ROOT)
    done = subprocess.run(
        [sys.executable, "-m", "autodeploy.action"], env=env, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    assert parse_outputs(workspace.output.read_text())["tag"] == "main-2b3c4d5"
    env["INPUT_MODE"] = "bogus"
    done = subprocess.run(
        [sys.executable, "-m", "autodeploy.action"], env=env, capture_output=True, text=True
    )
    assert (done.returncode, done.stdout) == (
        2,
        "::error title=autodeploy::input mode must be deploy or rollback, not 'bogus'\n",
    )


@pytest.mark.parametrize(
    "inputs",
    [
        {"app": "my-api\n::stop-commands::x"},
        {"tag": METADATA_TAGS + "::warning::pwned"},
        {"env_map": "branch: staging\n::add-mask::my-api"},
        {"labels": "a\n::error::pwned"},
        {"gitops_dir": "gitops\n::notice::x"},
        {"dry_run": "true", "branch": "x\r::group::y"},
    ],
)
def test_no_input_starts_a_workflow_command(workspace: Workspace, inputs: dict[str, str]) -> None:
    """The runner reads `::command::` at the start of any line of stdout or stderr."""
    run = workspace.run(**deploy_inputs(**inputs))
    ours = (
        "::error title=autodeploy::",
        "::warning title=autodeploy::",
        "::add-mask::",
        "::group::",
        "::endgroup::",
    )
    for line in (run.out + run.err).splitlines():
        if line.startswith("::"):
            assert line.startswith(ours), line
            assert "pwned" not in line.partition("::")[2].partition("::")[0], line
            assert not line.startswith("::group::") or line in {
                "::group::resolve the digests",
                "::group::read the GitOps repo and plan",
                "::group::write and open or update the pull request",
            }, line
    assert not any(
        line.startswith(("::stop-commands::x", "::notice::", "::group::y", "::warning::", "::error::"))
        for line in (run.out + run.err).splitlines()
    )


def test_the_diff_of_a_dry_run_is_fenced_from_the_runner(workspace: Workspace) -> None:
    run = workspace.run(**deploy_inputs(dry_run="true"))
    lines = run.out.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("::stop-commands::"))
    token = lines[start].removeprefix("::stop-commands::")
    assert len(token) == 32 and f"::{token}::" in lines[start + 1 :]
    assert lines[start + 1].startswith("--- a/")


def test_a_mask_is_escaped_as_the_runner_decodes_it(workspace: Workspace) -> None:
    run = workspace.run(
        **deploy_inputs(dry_run="true", registry_username="robot", registry_password="pa%25ss")
    )
    assert "::add-mask::pa%2525ss" in run.out.splitlines()


def test_an_output_file_that_is_a_directory_fails_before_deploying(workspace: Workspace) -> None:
    before = (workspace.gitops / STAGING).read_bytes()
    directory = workspace.root.parent / "output-dir"
    directory.mkdir()
    workspace.monkeypatch.setenv("GITHUB_OUTPUT", str(directory))
    for key, value in deploy_inputs().items():
        workspace.monkeypatch.setenv(f"INPUT_{key.replace('_', '-').upper()}", value)
    workspace.capsys.readouterr()
    assert action.main() == 2
    out = workspace.capsys.readouterr().out
    assert f"::error title=autodeploy::$GITHUB_OUTPUT ({directory}) is not a regular file" in out
    assert (workspace.gitops / STAGING).read_bytes() == before


def test_a_skipped_downgrade_is_a_warning_and_says_what_was_chosen(workspace: Workspace) -> None:
    """Production runs 1.3.0 built from a commit the app's checkout lacks: the versions decide."""
    source = workspace.root / "app"
    source.mkdir()
    subprocess.run(["git", "init", "-q", str(source)], check=True)
    workspace.monkeypatch.chdir(
        source
    )  # the workspace holds the app's checkout, as actions/checkout leaves it
    before = (workspace.gitops / "my-api/production/image.yaml").read_bytes()
    run = workspace.run(
        **deploy_inputs(env="production", tag="ghcr.io/my-team/my-api:1.2.0", gitops_dir="../gitops")
    )
    assert run.code == 0, run.err
    assert (workspace.gitops / "my-api/production/image.yaml").read_bytes() == before
    [warning] = [line for line in run.out.splitlines() if line.startswith("::warning title=autodeploy::")]
    assert "already runs 1.3.0 (built from 0b1c2d3e4f5a)" in warning and COMMIT[:12] in warning
    assert {k: run.outputs[k] for k in ("changed", "skipped", "env", "tag", "digest", "old-tag")} == {
        "changed": "false",
        "skipped": "downgrade",
        "env": "production",
        "tag": "1.2.0",
        "digest": DIGEST,
        "old-tag": "1.3.0",
    }
    assert "skipped: " in run.summary
    run = workspace.run(
        **deploy_inputs(
            env="production",
            tag="ghcr.io/my-team/my-api:1.2.0",
            gitops_dir="../gitops",
            allow_downgrade="true",
        )
    )
    assert run.code == 0, run.err
    assert run.outputs["changed"] == "true" and run.outputs["skipped"] == ""


def test_env_auto_refuses_a_pull_request_ref_the_map_does_not_name(workspace: Workspace) -> None:
    workspace.monkeypatch.setenv("GITHUB_REF", "refs/pull/7/merge")
    before = (workspace.gitops / "my-api/development/image.yaml").read_bytes()
    run = workspace.run(**deploy_inputs())
    assert run.code == 2
    [line] = error_lines(run)
    assert "env: auto does not deploy pull request refs (refs/pull/7/merge)" in line
    assert (workspace.gitops / "my-api/development/image.yaml").read_bytes() == before


def test_the_log_folds_each_phase_and_the_summary_can_be_left_out(workspace: Workspace) -> None:
    run = workspace.run(**deploy_inputs(summary="false"))
    assert run.code == 0, run.err
    folds = [line for line in run.out.splitlines() if line.startswith(("::group::", "::endgroup::"))]
    assert folds == [
        "::group::resolve the digests",
        "::endgroup::",
        "::group::read the GitOps repo and plan",
        "::endgroup::",
        "::group::write and open or update the pull request",
        "::endgroup::",
    ]
    assert run.summary == ""
