"""The copy-paste workflows in docs/workflows/ (and the project's own): valid GitHub workflows that
use only inputs action.yml declares, shown verbatim in README.md; README's CLI example runs as shown;
the release workflow's version check passes for this version and fails for another."""

from __future__ import annotations

import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from ruamel.yaml import YAML

from autodeploy import __version__, cli
from autodeploy.cli.parser import build_parser

ROOT = Path(__file__).resolve().parent.parent
DOCS = sorted((ROOT / "docs" / "workflows").glob("*.yml"))
OWN = sorted((ROOT / ".github" / "workflows").glob("*.yml"))
ACTION: dict[str, Any] = YAML(typ="safe").load((ROOT / "action.yml").read_text())
SUB_ACTIONS: dict[str, dict[str, Any]] = {
    path.parent.name: YAML(typ="safe").load(path.read_text()) for path in sorted(ROOT.glob("*/action.yml"))
}
OWNER = re.fullmatch(r"docker://ghcr\.io/([^/]+)/autodeploy:.+", ACTION["runs"]["image"])[1]  # type: ignore[index]
USES = f"{OWNER}/autodeploy@v{__version__}"
README = ROOT / "README.md"


def load(path: Path) -> dict[str, Any]:
    data: dict[str, Any] = YAML(typ="safe").load(path.read_text())
    return data


def readme() -> str:
    if not README.exists():
        pytest.fail("README.md is missing: it must show docs/workflows/*.yml verbatim", pytrace=False)
    return README.read_text()


def autodeploy_steps(workflow: dict[str, Any]) -> list[tuple[dict[str, Any], list[dict[str, Any]]]]:
    return [
        (step, job["steps"])
        for job in workflow["jobs"].values()
        for step in job.get("steps", [])
        if re.search(r"/autodeploy(/\w+)?@", step.get("uses", ""))
    ]


def test_the_documented_workflows_exist() -> None:
    assert [p.name for p in DOCS] == ["deploy.yml", "promote.yml", "rollback.yml", "rollout.yml"]
    assert {p.name for p in OWN} >= {"release.yml", "ci.yml"}


def test_workflows_are_valid() -> None:
    files = [str(p) for p in DOCS + OWN]
    command = [
        sys.executable,
        "-m",
        "check_jsonschema",
        "--builtin-schema",
        "vendor.github-workflows",
        *files,
    ]
    done = subprocess.run(command, capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr


@pytest.mark.parametrize("path", DOCS, ids=lambda p: p.name)
def test_documented_workflows_use_only_declared_inputs(path: Path) -> None:
    steps = autodeploy_steps(load(path))
    assert steps, f"{path.name} does not use autodeploy"
    for step, job_steps in steps:
        sub = re.fullmatch(rf"{OWNER}/autodeploy(?:/(\w+))?@v{re.escape(__version__)}", step["uses"])
        assert sub, "use the released version, as action.yml's image"
        declared = SUB_ACTIONS[sub[1]] if sub[1] else ACTION
        given = set(step.get("with", {}))
        assert given <= set(declared["inputs"]), f"undeclared inputs: {given - set(declared['inputs'])}"
        assert ({"gitops-repo", "gitops-commit"} if sub[1] == "wait" else {"app", "gitops-repo"}) <= given
        ids = {s.get("id") for s in job_steps}
        for value in step["with"].values():
            for used in re.findall(r"steps\.([\w-]+)\.outputs\.([\w-]+)", str(value)):
                assert used[0] in ids, f"{path.name} uses the output of a step it does not have: {used}"


def test_the_deploy_workflow_feeds_metadata_and_build_push_outputs() -> None:
    [(step, _)] = autodeploy_steps(load(ROOT / "docs" / "workflows" / "deploy.yml"))
    assert step["with"]["tag"] == "${{ steps.meta.outputs.tags }}"
    assert step["with"]["digest"] == "${{ steps.build.outputs.digest }}"
    assert step["with"]["env"] == "auto"


def test_the_promote_workflow_is_dispatched_with_apps_and_environments() -> None:
    workflow = load(ROOT / "docs" / "workflows" / "promote.yml")
    assert {"app", "from", "to", "dry_run"} <= set(workflow["on"]["workflow_dispatch"]["inputs"])
    [(status, _), (promote, _)] = autodeploy_steps(workflow)
    assert status["uses"] == f"{OWNER}/autodeploy/status@v{__version__}"
    assert promote["uses"] == f"{OWNER}/autodeploy/promote@v{__version__}"
    assert (promote["with"]["from"], promote["with"]["to"]) == ("${{ inputs.from }}", "${{ inputs.to }}")
    assert promote["with"]["all"] == "${{ inputs.app == '' }}" and "require-healthy" not in promote["with"]


def test_the_rollback_workflow_is_dispatched_with_tag_and_reason() -> None:
    workflow = load(ROOT / "docs" / "workflows" / "rollback.yml")
    dispatch = workflow["on"]["workflow_dispatch"]
    assert {"env", "tag", "reason"} <= set(dispatch["inputs"])
    [(step, _)] = autodeploy_steps(workflow)
    assert step["uses"] == f"{OWNER}/autodeploy/rollback@v{__version__}" and "mode" not in step["with"]
    assert (step["with"]["tag"], step["with"]["reason"]) == ("${{ inputs.tag }}", "${{ inputs.reason }}")


def test_the_rollout_workflow_waits_for_the_pushed_gitops_commit() -> None:
    workflow = load(ROOT / "docs" / "workflows" / "rollout.yml")
    assert workflow["on"] == {"push": {"branches": ["main"]}}
    [(step, _)] = autodeploy_steps(workflow)
    assert step["uses"] == f"{OWNER}/autodeploy/wait@v{__version__}"
    assert step["with"]["gitops-commit"] == "${{ github.sha }}"
    [job] = workflow["jobs"].values()
    assert job["permissions"] == {"contents": "read", "pull-requests": "read", "statuses": "read"}


@pytest.mark.parametrize("path", DOCS, ids=lambda p: p.name)
def test_readme_shows_the_workflow_verbatim(path: Path) -> None:
    assert f"```yaml\n{path.read_text()}```\n" in readme(), f"paste docs/workflows/{path.name} into README.md"


def test_readme_lists_every_input_and_output() -> None:
    text = readme()
    for kind in ("inputs", "outputs"):
        for name in [*ACTION[kind], *SUB_ACTIONS["wait"][kind]]:
            assert re.search(rf"^\| `{re.escape(name)}` \|", text, re.M), (
                f"README lacks a row for the {kind[:-1]} {name}"
            )


def cli_commands(text: str) -> list[list[str]]:
    """Each `autodeploy ...` command of README's ```sh blocks, as argv (continuation lines joined)."""
    commands = []
    for block in re.findall(r"```sh\n(.*?)```", text, re.S):
        for line in block.replace("\\\n", " ").splitlines():
            words = shlex.split(line, comments=True)
            at = next((i for i, w in enumerate(words) if w.rpartition("/")[2] == "autodeploy"), None)
            if at is not None and at + 1 < len(words):
                commands.append(words[at + 1 :])
    return commands


def test_readme_cli_examples_parse_and_the_local_one_runs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    commands = cli_commands(readme())
    assert {c[0] for c in commands} >= {"deploy", "rollback"}
    for argv in commands:
        build_parser(argv[0]).parse_args(argv)
    local = [c for c in commands if "examples/gitops" in c]
    assert local, "README shows a dry run on examples/gitops"
    shutil.copytree(ROOT / "examples", tmp_path / "examples")
    monkeypatch.chdir(tmp_path)
    for name in ("GITHUB_SHA", "GITHUB_REPOSITORY", "GITHUB_TOKEN", "AUTODEPLOY_GITHUB_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    for argv in local:
        assert "--dry-run" in argv
        assert cli.main(argv) == 0
    assert not subprocess.run(
        ["diff", "-r", str(ROOT / "examples"), "examples"], capture_output=True
    ).returncode


def release_check(version: str, repository: str, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    steps = load(ROOT / ".github" / "workflows" / "release.yml")["jobs"]["image"]["steps"]
    [script] = [s["run"] for s in steps if s.get("id") == "check"]
    output = tmp_path / "output"
    env = {"PATH": "/usr/bin:/bin", "GITHUB_REF_NAME": f"v{version}", "GITHUB_REPOSITORY": repository,
           "GITHUB_OUTPUT": str(output)}  # fmt: skip
    output.write_text("")
    return subprocess.run(["bash", "-e", "-c", script], cwd=ROOT, env=env, capture_output=True, text=True)


def test_release_checks_the_tag_against_the_package_and_action_yml(tmp_path: Path) -> None:
    done = release_check(__version__, f"{OWNER}/autodeploy", tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    assert (tmp_path / "output").read_text() == f"image=ghcr.io/{OWNER}/autodeploy\n"
    done = release_check("9.9.9", f"{OWNER}/autodeploy", tmp_path)
    assert done.returncode == 1 and "::error::pyproject.toml's version is not 9.9.9" in done.stdout
    done = release_check(__version__, "someone-else/autodeploy", tmp_path)
    assert done.returncode == 1 and "action.yml's image is not ghcr.io/someone-else/autodeploy" in done.stdout


def test_release_pins_the_actions_to_the_pushed_digest_and_moves_the_major_tag(tmp_path: Path) -> None:
    """The release step run for real, in a copy of the repository, pushing to a local bare remote
    that git's `insteadOf` puts in GitHub's place."""
    steps = load(ROOT / ".github" / "workflows" / "release.yml")["jobs"]["image"]["steps"]
    [script] = [s["run"] for s in steps if str(s.get("name", "")).startswith("Pin the actions")]
    work, remote = tmp_path / "work", tmp_path / "remote.git"
    work.mkdir()
    actions = ["action.yml", *sorted(str(p.relative_to(ROOT)) for p in ROOT.glob("*/action.yml"))]
    assert "rollback/action.yml" in actions
    for name in actions:
        (work / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(ROOT / name, work / name)
    config = tmp_path / "gitconfig"
    env = {
        "PATH": "/usr/bin:/bin",
        "HOME": str(tmp_path),
        "GIT_CONFIG_GLOBAL": str(config),
        "GITHUB_REF_NAME": "v1.2.3",
        "GITHUB_REPOSITORY": f"{OWNER}/autodeploy",
        "DIGEST": "sha256:" + "ab" * 32,
        "IMAGE": f"ghcr.io/{OWNER}/autodeploy",
        "TOKEN": "ghs_release_test_token_0000",
        "GITHUB_STEP_SUMMARY": str(tmp_path / "summary.md"),
    }

    def git(*args: str, cwd: Path = work) -> str:
        done = subprocess.run(["git", *args], cwd=cwd, env=env, capture_output=True, text=True, check=True)
        return done.stdout.strip()

    git("init", "-q", "--bare", str(remote), cwd=tmp_path)
    config.write_text(
        f'[url "{remote}"]\n\tinsteadOf = https://x-access-token:{env["TOKEN"]}@github.com/{OWNER}/autodeploy.git\n'
        "[user]\n\tname = test\n\temail = test@example.com\n"
    )
    git("init", "-q", "-b", "main")
    git("add", ".")
    git("commit", "-q", "-m", "release candidate")
    done = subprocess.run(["bash", "-e", "-c", script], cwd=work, env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr
    pinned = f"  image: docker://ghcr.io/{OWNER}/autodeploy@{env['DIGEST']}"
    for name in actions:
        assert pinned in git("--git-dir", str(remote), "show", f"v1:{name}").splitlines(), name
    commit = git("--git-dir", str(remote), "rev-parse", "v1")
    assert commit == git("rev-parse", "HEAD")
    summary = (tmp_path / "summary.md").read_text()
    assert f"uses: {OWNER}/autodeploy@{commit} # v1.2.3" in summary.splitlines()
    assert f"uses: {OWNER}/autodeploy/rollback@{commit} # v1.2.3" in summary.splitlines()
    assert "ghs_release_test_token" not in summary
    assert "the actions run" in git("log", "-1", "--format=%s")
