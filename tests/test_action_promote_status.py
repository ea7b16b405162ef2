"""The promote and status sub-actions: `uses: ditkrg/autodeploy/promote@v0` and `.../status@v0`, each
an action.yml with only its own inputs, on the root action's image, through the same entrypoint."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from checkouts import git, init_checkout
from github_fake import TOKEN, WRITE_ALL, FakeGitHub
from github_world import World
from ruamel.yaml import YAML
from test_action import Workspace, make_workspace, parse_outputs
from test_promote import staged
from test_status import commit

from autodeploy import action
from autodeploy.action import promote_inputs
from autodeploy.imagefile import read_block

ROOT = Path(__file__).resolve().parent.parent
PROMOTE_API = {
    "gitops_repo": "team/gitops",
    "token": TOKEN,
    "from": "staging",
    "to": "production",
    "app": "api",
}
DECLARED = {"promote": promote_inputs.PROMOTE_INPUTS, "status": promote_inputs.STATUS_INPUTS}


def metadata(name: str) -> dict[str, Any]:
    data: dict[str, Any] = YAML(typ="safe").load((ROOT / name / "action.yml").read_text())
    return data


@pytest.fixture
def workspace(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> Workspace:
    return make_workspace(tmp_path, monkeypatch, capsys)


def run(workspace: Workspace, name: str, **given: str) -> tuple[int, str, dict[str, str], str]:
    for key in {*DECLARED["promote"], *DECLARED["status"]}:
        workspace.monkeypatch.delenv(f"INPUT_{key.upper()}", raising=False)
    for key, value in given.items():
        workspace.monkeypatch.setenv(f"INPUT_{key.replace('_', '-').upper()}", value)
    workspace.output.write_text("")
    workspace.summary.write_text("")
    workspace.capsys.readouterr()
    code = action.main([name])
    out, err = workspace.capsys.readouterr()
    return code, out + err, parse_outputs(workspace.output.read_text()), workspace.summary.read_text()


@pytest.mark.parametrize("name", ["promote", "status"])
def test_each_declares_exactly_its_inputs_on_the_root_image(name: str) -> None:
    root, mine = metadata("."), metadata(name)
    assert mine["runs"] == {**root["runs"], "args": [name]}
    assert list(mine["inputs"]) == list(DECLARED[name])
    for key, spec in mine["inputs"].items():
        default = str(spec.get("default", ""))
        assert (default if not default.startswith("${{") else "") == DECLARED[name][key], key
    assert not set(mine["inputs"]) & {"mode", "steps"}
    if name == "promote":
        assert mine["inputs"]["from"]["required"] and mine["inputs"]["to"]["required"]
        assert {"promoted", "already", "pull-request-number"} <= set(mine["outputs"])
    command = [sys.executable, "-m", "check_jsonschema", "--builtin-schema", "vendor.github-actions"]
    done = subprocess.run([*command, str(ROOT / name / "action.yml")], capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr


def test_the_status_action_as_the_runner_runs_it(workspace: Workspace) -> None:
    """Its action.yml's defaults as INPUT_* variables, `args: [status]`, in a fresh interpreter."""
    init_checkout(workspace.gitops)
    commit(workspace.gitops, "my-api", "staging", "1.4.0", 3)
    env = {k: v for k, v in os.environ.items() if not k.startswith("INPUT_")}
    for key, spec in metadata("status")["inputs"].items():
        default = str(spec.get("default", ""))
        env[f"INPUT_{key.upper()}"] = "" if default.startswith("${{") else default
    env.update({"INPUT_GITOPS-DIR": "gitops", "PYTHONPATH": str(ROOT)})
    done = subprocess.run(
        [sys.executable, "-m", "autodeploy.action", *metadata("status")["runs"]["args"]],
        env=env,
        cwd=workspace.root,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert "running: autodeploy status --gitops-dir gitops" in done.stderr
    matrix = json.loads(parse_outputs(workspace.output.read_text())["matrix"])
    staging = next(e for e in matrix["entries"] if e["env"] == "staging")
    assert staging["tag"] == "1.4.0" and staging["gitops_commit"] == git(
        workspace.gitops, "rev-parse", "HEAD"
    )
    summary = workspace.summary.read_text()
    assert "| App | development | staging | production |" in summary and "`1.4.0`" in summary


def test_the_promote_action_through_the_api_with_the_gate(github: FakeGitHub, workspace: Workspace) -> None:
    world = World(github)
    github.add_token(TOKEN, {**WRITE_ALL, "statuses": "read"})
    staged(world, "api", "1.1.0", 2)
    given = dict(PROMOTE_API)
    code, log, outputs, _ = run(workspace, "promote", **given)
    assert code == 1
    assert "::error title=autodeploy::api/staging runs 1.1.0" in log and "set `require-healthy: false`" in log
    assert "--no-require-healthy" not in log

    github.flux_reconciles(world.gitops, "apps-staging", after=0)
    code, log, outputs, summary = run(workspace, "promote", **given)
    assert code == 0, log
    assert (
        "running: autodeploy promote --gitops-repo team/gitops --app api --from staging --to production"
        in log
    )
    pull = world.gitops.open_pull("prod-release")
    assert pull is not None
    assert outputs["promoted"] == "api" and outputs["pull-request-number"] == str(pull.number)
    assert outputs["pull-request-operation"] == "created" and outputs["already"] == ""
    assert "promote staging → production" in summary and "`api` in staging: healthy" in summary

    code, log, outputs, summary = run(workspace, "promote", **{**given, "app": "", "all": "true"})
    assert code == 0, log
    assert outputs["promoted"] == "" and outputs["changed"] == "false"


def test_the_promote_action_in_a_checkout_and_its_bad_inputs(workspace: Workspace) -> None:
    init_checkout(workspace.gitops)
    commit(workspace.gitops, "my-api", "staging", "1.4.0", 3)
    given = {"gitops_dir": "gitops", "from": "staging", "to": "production", "app": "my-api"}
    for bad, message in (
        ({"all": "true"}, "give the input app (one or more) or `all: true`"),
        ({"to": "staging"}, "the inputs from and to are both staging"),
        ({"registry_check": "true"}, "`registry-check: true` needs the input image"),
        ({"require_healthy": "maybe"}, "input require-healthy must be true or false"),
        ({}, "promote through the input gitops-repo"),
    ):
        code, log, _, _ = run(workspace, "promote", **{**given, **bad})
        assert code in (1, 2) and message in log, (bad, log)
    code, log, outputs, _ = run(workspace, "promote", **given, require_healthy="false", dry_run="true")
    assert code == 0, log
    assert "+        tag: 1.4.0" in outputs["diff"] and outputs["promoted"] == "my-api"
    code, log, outputs, _ = run(workspace, "promote", **given, require_healthy="false")
    block = read_block((workspace.gitops / "my-api" / "production" / "image.yaml").read_text())
    assert code == 0 and block is not None and block.tag == "1.4.0"


def test_the_promote_action_waits_for_the_target_environment(
    github: FakeGitHub, workspace: Workspace
) -> None:
    """`wait: true`: the rollout outputs and the timeline, as the root action's; flux-context is
    the gate's and the wait's at once, so it needs no `wait` of its own."""
    from test_wait_cli import merge_on_first_poll

    world = World(github)
    github.add_token(TOKEN, {**WRITE_ALL, "statuses": "read"})
    staged(world, "api", "1.1.0", 2)
    given = {**PROMOTE_API, "require_healthy": "false", "flux_context": "kustomization/*{env}*"}
    code, log, outputs, _ = run(workspace, "promote", **{**given, "wait_timeout": "60"})
    assert code == 2 and "input wait-timeout applies to the wait: set `wait: true`" in log
    assert world.gitops.open_pull("prod-release") is None

    merge_on_first_poll(world)
    github.flux_reconciles(world.gitops, "apps-production", pull=2, after=1, state="failure",
                           description="health check failed")  # fmt: skip
    code, log, outputs, summary = run(workspace, "promote", **{**given, "wait": "true"})
    assert code == 1, log
    assert (outputs["rollout"], outputs["flux-status"]) == ("failure", "health check failed")
    assert outputs["merged-at"] and outputs["promoted"] == "api"
    assert "running: autodeploy promote" in log and " --wait" in log
    assert "merged" in summary and "promote staging → production" in summary
