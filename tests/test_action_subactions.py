"""The sub-actions: `uses: ditkrg/autodeploy/rollback@v0` beside the root deploy action, each an
action.yml with only its own inputs, on the same image, run through the same entrypoint."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from checkouts import git, init_checkout
from ruamel.yaml import YAML
from test_action import Workspace, make_workspace, parse_outputs

from autodeploy.action import inputs as action_inputs
from autodeploy.imagefile import Block, read_block, write_block

ROOT = Path(__file__).resolve().parent.parent
ACTIONS = {
    "deploy": ROOT / "action.yml",
    "rollback": ROOT / "rollback" / "action.yml",
    "wait": ROOT / "wait" / "action.yml",
}
DECLARED = {**action_inputs.INPUTS, **action_inputs.DEPLOYMENT_INPUTS}
STAGING = "my-api/staging/image.yaml"


def metadata(name: str) -> dict[str, Any]:
    data: dict[str, Any] = YAML(typ="safe").load(ACTIONS[name].read_text())
    return data


@pytest.fixture
def workspace(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> Workspace:
    return make_workspace(tmp_path, monkeypatch, capsys)


def test_every_action_yml_is_valid_action_metadata() -> None:
    command = [sys.executable, "-m", "check_jsonschema", "--builtin-schema", "vendor.github-actions"]
    done = subprocess.run([*command, *map(str, ACTIONS.values())], capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr


def test_the_rollback_action_runs_the_root_image_with_only_its_own_inputs() -> None:
    root, rollback = metadata("deploy"), metadata("rollback")
    assert rollback["runs"] == {**root["runs"], "args": ["rollback"]}
    assert list(rollback["outputs"]) == list(root["outputs"])
    names = set(rollback["inputs"])
    assert names <= set(DECLARED)
    assert not names & {"mode", "steps"}, "no deprecated input, and none that shadows the steps context"
    assert not names & {n for n, only in action_inputs.ONLY_FOR.items() if only == "deploy"}
    for name, spec in rollback["inputs"].items():
        default = str(spec.get("default", ""))
        assert (default if not default.startswith("${{") else "") == DECLARED[name], name
    assert root["inputs"]["mode"].get("deprecationMessage") and root["inputs"]["steps"].get(
        "deprecationMessage"
    )


def test_the_wait_action_runs_the_root_image_with_only_the_wait_s_inputs() -> None:
    root, waiting = metadata("deploy"), metadata("wait")
    assert waiting["runs"] == {**root["runs"], "args": ["wait"]}
    assert list(waiting["outputs"]) == ["rollout", "flux-status", "merged-at", "deployment-id"]
    assert list(waiting["outputs"]) == list(root["outputs"])[-4:]
    known = {**DECLARED, **action_inputs.WAIT_ONLY}
    assert set(waiting["inputs"]) <= set(known)
    assert set(action_inputs.WAIT_ONLY) | set(action_inputs.DEPLOYMENT_INPUTS) <= set(waiting["inputs"])
    assert not set(waiting["inputs"]) & {"mode", "wait", "tag", "digest", "image", "dry-run", "branch"}
    for name, spec in waiting["inputs"].items():
        default = str(spec.get("default", ""))
        expected = "" if name in ("app", "env") else known[name]  # filters there, not targets
        assert (default if not default.startswith("${{") else "") == expected, name


def commit_deploys(gitops: Path, *tags: str) -> None:
    init_checkout(gitops, author="deployer")
    for number, tag in enumerate(tags, 1):
        path = gitops / STAGING
        block = Block(
            "my-team/my-api",
            tag,
            f"sha256:{number:064x}",
            "https://github.com/my-team/my-api",
            f"{number:040x}",
        )
        path.write_text(write_block(path.read_text(), block))
        git(gitops, "commit", "-q", "-am", f"deploy {tag}", author="deployer")


def test_the_rollback_action_as_the_runner_runs_it(workspace: Workspace) -> None:
    """Its action.yml's defaults as INPUT_* variables, `args: [rollback]`, in a fresh interpreter."""
    commit_deploys(workspace.gitops, "2.0.0", "2.1.0")
    env = {k: v for k, v in os.environ.items() if not k.startswith("INPUT_")}
    for name, spec in metadata("rollback")["inputs"].items():
        default = str(spec.get("default", ""))
        env[f"INPUT_{name.upper()}"] = "" if default.startswith("${{") else default
    given = {"gitops-dir": "gitops", "app": "my-api", "env": "staging", "image": "ghcr.io/my-team/my-api"}
    env.update({f"INPUT_{k.upper()}": v for k, v in given.items()})
    env.update(
        {"INPUT_REGISTRY-CHECK": "false", "INPUT_REASON": "2.1.0 drops orders", "PYTHONPATH": str(ROOT)}
    )
    args = metadata("rollback")["runs"]["args"]
    done = subprocess.run(
        [sys.executable, "-m", "autodeploy.action", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    block = read_block((workspace.gitops / STAGING).read_text())
    assert block is not None and (block.tag, block.digest) == ("2.0.0", f"sha256:{1:064x}")
    outputs = parse_outputs(workspace.output.read_text())
    assert (outputs["tag"], outputs["old-tag"], outputs["changed"]) == ("2.0.0", "2.1.0", "true")


def test_images_back_and_the_mode_input_on_a_sub_action(workspace: Workspace) -> None:
    commit_deploys(workspace.gitops, "1.0.0", "1.1.0", "1.2.0")
    base = {
        "gitops_dir": "gitops",
        "app": "my-api",
        "env": "staging",
        "image": "ghcr.io/my-team/my-api",
        "registry_check": "false",
    }
    assert (
        workspace.run(**base, mode="rollback", images_back="2").code == 0
    )  # the root action, deprecated mode
    assert read_block((workspace.gitops / STAGING).read_text()).tag == "1.0.0"  # type: ignore[union-attr]
    run = workspace.run(**base, mode="rollback", images_back="2", steps="2")
    assert run.code == 2 and "give images-back (steps is its deprecated name), not both" in run.out


def test_the_mode_input_does_not_steer_a_sub_action(workspace: Workspace) -> None:
    from autodeploy import action

    commit_deploys(workspace.gitops, "1.0.0", "1.1.0")
    for key, value in {
        "GITOPS-DIR": "gitops",
        "APP": "my-api",
        "ENV": "staging",
        "IMAGE": "ghcr.io/t/a",
        "MODE": "promote",
    }.items():
        workspace.monkeypatch.setenv(f"INPUT_{key}", value)
    workspace.capsys.readouterr()
    assert action.main(["rollback"]) == 2
    assert (
        "::error title=autodeploy::input mode is not for the rollback action"
        in workspace.capsys.readouterr().out
    )
