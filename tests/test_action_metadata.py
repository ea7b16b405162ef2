"""action.yml: valid Action metadata, every input documented and read by the entrypoint, every output
written, and the prebuilt image it runs tagged with the package's version."""

from __future__ import annotations

import re
import subprocess
import sys
import tomllib
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from ruamel.yaml import YAML
from test_action import DIGEST, Workspace, make_workspace

from autodeploy import __version__
from autodeploy.action import inputs as action_inputs
from autodeploy.environment import Environment

ROOT = Path(__file__).resolve().parent.parent
METADATA: dict[str, Any] = YAML(typ="safe").load((ROOT / "action.yml").read_text())
INPUTS: dict[str, dict[str, Any]] = METADATA["inputs"]
OUTPUTS: dict[str, dict[str, Any]] = METADATA["outputs"]
IMAGE_RE = re.compile(r"docker://ghcr\.io/(?P<owner>[a-z0-9-]+)/autodeploy:(?P<version>\S+)")

# A valid value for each input other than its default; the entrypoint must act on each differently.
ALTERNATIVES = {
    "mode": "rollback",
    "gitops-repo": "my-team/other-gitops",
    "gitops-dir": "gitops",
    "app": "my-worker",
    "env": "production",
    "env-map": "default-branch: production",
    "image": "ghcr.io/my-team/my-api",
    "tag": "ghcr.io/my-team/my-api:1.5.0",
    "digest": DIGEST,
    "targets": "targets.yaml",
    "token": "ghs_0123456789",
    "github-token": "ghs_workflow0123",
    "client-id": "Iv23li00000000004242",
    "app-id": "4242",
    "private-key": "-----BEGIN KEY-----\nabcd\n-----END KEY-----",
    "registry-username": "robot",
    "registry-password": "hunter2-pw",
    "registry-host": "harbor.example.com",
    "deadline": "30",
    "base-branch": "trunk",
    "branch": "deploy-{env}",
    "protected-branches": "release/*",
    "path-template": "{app}/{env}.yaml",
    "labels": "deploy",
    "reviewers": "alice",
    "assignees": "alice",
    "team-reviewers": "platform",
    "auto-merge": "staging",
    "merge-method": "squash",
    "title": "Deploy {app}",
    "body": "Deployed by CI.",
    "commit-message": "deploy {app} {new_tag}",
    "draft": "true",
    "commit-from-image": "true",
    "source-dir": "app",
    "allow-downgrade": "true",
    "dry-run": "true",
    "summary": "false",
    "reason": "broken",
    "steps": "2",
    "images-back": "3",
    "allow-retag": "true",
    "registry-check": "false",
    "wait": "true",
    "flux-context": "helmrelease/{app}/*",
    "wait-timeout": "60",
    "on-timeout": "warn",
    "deployment": "true",
    "deployment-environment": "{app}-{env}",
    "production-environment": "prod*",
    "environment-url": "https://{env}.example.com",
    "deployment-token": "ghs_deploy0123",
}
# Inputs of one mode only are tried in that mode.
MODE_OF = {
    "reason": "rollback",
    "steps": "rollback",
    "images-back": "rollback",
    "allow-retag": "rollback",
    "registry-check": "rollback",
}


@pytest.fixture
def workspace(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> Workspace:
    return make_workspace(tmp_path, monkeypatch, capsys)


def test_action_yml_is_valid_action_metadata() -> None:
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "check_jsonschema",
            "--builtin-schema",
            "vendor.github-actions",
            str(ROOT / "action.yml"),
        ],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stdout + done.stderr


def test_it_is_a_container_action_on_the_prebuilt_image_of_this_version() -> None:
    runs = METADATA["runs"]
    assert runs["using"] == "docker"
    match = IMAGE_RE.fullmatch(runs["image"])
    assert match, f"runs.image {runs['image']!r} is not docker://ghcr.io/OWNER/autodeploy:VERSION"
    assert match["version"] == __version__
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert pyproject["project"]["version"] == __version__


DECLARED = {**action_inputs.INPUTS, **action_inputs.DEPLOYMENT_INPUTS}  # the root action waits too
# Inputs that shape the wait are tried with it on.
WITH = {
    name: {"INPUT_WAIT": "true", **({"INPUT_DEPLOYMENT": "true"} if name != "deployment" else {})}
    for name in ("flux-context", "wait-timeout", "on-timeout", *action_inputs.DEPLOYMENT_INPUTS)
}
for _name in ("flux-context", "wait-timeout", "on-timeout", "deployment"):
    WITH[_name].pop("INPUT_DEPLOYMENT", None)


def test_every_input_is_documented_and_has_the_entrypoint_s_default() -> None:
    assert list(INPUTS) == list(DECLARED)
    for name, spec in INPUTS.items():
        assert len(spec.get("description", "")) > 20, f"input {name} needs a description"
        default = str(spec.get("default", ""))
        if default.startswith("${{"):  # an expression the runner evaluates; absent, the entrypoint has none
            assert DECLARED[name] == "", name
        else:
            assert default == DECLARED[name], name
        assert not spec.get("required", False), name  # app is required unless targets is given
    assert set(action_inputs.ONLY_FOR) | set(action_inputs.BOOLEANS) | set(action_inputs.SECRETS) <= set(
        INPUTS
    )


def _effect(values: dict[str, str], environ: Environment) -> object:
    """What the entrypoint makes of a set of inputs: the options (or the error), and the summary switch."""
    try:
        made: object = action_inputs.options(values, environ)
    except Exception as exc:
        made = f"{type(exc).__name__}: {exc}"
    return made, action_inputs.flag(values, "summary")  # read by the entrypoint itself


@pytest.mark.parametrize("name", list(INPUTS))
def test_every_input_is_read_by_the_entrypoint(name: str) -> None:
    assert set(ALTERNATIVES) == set(INPUTS), "give every input an alternative value above"
    environ = Environment(ref="refs/heads/main", repository_owner="my-team")
    values = {f"INPUT_{n.upper()}": v for n, v in DECLARED.items()}
    values.update(
        {
            "INPUT_GITOPS-REPO": "my-team/gitops",
            "INPUT_APP": "my-api",
            "INPUT_TAG": "ghcr.io/a/b:1",
            "INPUT_GITHUB-TOKEN": "ghs_default0123",
        }
    )
    if name in MODE_OF:
        values["INPUT_MODE"] = MODE_OF[name]
    values.update(WITH.get(name, {}))
    if name == "gitops-dir":
        del values["INPUT_GITOPS-REPO"]
    if name == "private-key":  # a key means something with an App only
        values.update({"INPUT_APP-ID": "4242", "INPUT_PRIVATE-KEY": _pem()})
    baseline = _effect(action_inputs.read_inputs(values, DECLARED), environ)
    values[f"INPUT_{name.upper()}"] = ALTERNATIVES[name] if name != "private-key" else _pem()
    assert _effect(action_inputs.read_inputs(values, DECLARED), environ) != baseline, (
        f"input {name} changes nothing"
    )


def _pem() -> str:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()


def test_every_output_is_written(workspace: Workspace) -> None:
    for name, spec in OUTPUTS.items():
        assert len(spec.get("description", "")) > 10, f"output {name} needs a description"
    run = workspace.run(
        gitops_dir="gitops", app="my-api", env="staging", tag="ghcr.io/my-team/my-api:1.5.0", digest=DIGEST
    )
    assert run.code == 0, run.err
    assert list(run.outputs) == list(OUTPUTS)
