"""The CLI as a user types it, on a copy of the bundled example GitOps repo."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from autodeploy import __version__
from autodeploy.cli import COMMANDS, main
from autodeploy.imagefile import read_block

ROOT = Path(__file__).resolve().parent.parent
DIGEST = "sha256:" + "7" * 64
COMMIT = "4e5f6a7b8c9d0e1f2a3b4c5d6e7f8a9b0c1d2e3f"
STAGING = "my-api/staging/image.yaml"


@pytest.fixture(autouse=True)
def no_github_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in (
        "GITHUB_SHA",
        "GITHUB_REPOSITORY",
        "GITHUB_SERVER_URL",
        "GITHUB_TOKEN",
        "AUTODEPLOY_GITHUB_TOKEN",
    ):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)  # not inside the autodeploy checkout: no local source history


def deploy_args(gitops: Path, *extra: str, tag: str = "1.4.0") -> list[str]:
    return [
        "deploy",
        "--gitops-dir",
        str(gitops),
        "--app",
        "my-api",
        "--env",
        "staging",
        "--image",
        "harbor.example.com/my-team/my-api",
        "--tag",
        tag,
        "--digest",
        DIGEST,
        "--commit",
        COMMIT,
        "--source-repo",
        "my-team/my-api",
        *extra,
    ]


def snapshot(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def test_dry_run_prints_the_exact_diff_and_writes_nothing(
    gitops: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    before = snapshot(gitops)
    assert main(deploy_args(gitops, "--dry-run")) == 0
    out, err = capsys.readouterr()
    assert snapshot(gitops) == before
    assert out.startswith(f"--- a/{STAGING}\n+++ b/{STAGING}\n")
    assert "-        tag: main-1f0c2d9\n+        tag: 1.4.0\n+        digest: " + DIGEST in out
    assert "would deploy my-api/staging: main-1f0c2d9 -> 1.4.0" in err
    patch = gitops.parent / "change.patch"
    patch.write_text(out)
    subprocess.run(["git", "apply", str(patch)], check=True, cwd=gitops)
    assert main(deploy_args(gitops, "--dry-run")) == 0  # the diff, applied, is the deploy itself
    assert "nothing to change" in capsys.readouterr().err


def test_deploy_writes_then_a_second_run_is_a_byte_for_byte_no_op(
    gitops: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(deploy_args(gitops)) == 0
    first = snapshot(gitops)
    block = read_block((gitops / STAGING).read_text())
    assert block is not None and (block.tag, block.digest, block.commit) == ("1.4.0", DIGEST, COMMIT)
    capsys.readouterr()
    assert main(deploy_args(gitops)) == 0
    assert snapshot(gitops) == first
    assert "my-api/staging already runs 1.4.0@" + DIGEST + ": nothing to change" in capsys.readouterr().err


def test_only_the_target_file_changes(gitops: Path) -> None:
    before = snapshot(gitops)
    main(deploy_args(gitops))
    after = snapshot(gitops)
    assert {k for k in before if before[k] != after[k]} == {STAGING}


def test_json_output(gitops: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(deploy_args(gitops, "--json")) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["changed"] is True and result["branch"] == "staging-release"
    assert (result["old_tag"], result["new_tag"], result["digest"]) == ("main-1f0c2d9", "1.4.0", DIGEST)
    assert result["targets"][0]["path"] == STAGING and result["diff"] is None


def test_commit_and_source_default_to_the_actions_variables(
    gitops: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GITHUB_SHA", "abcdef0123456789abcdef0123456789abcdef01")
    monkeypatch.setenv("GITHUB_REPOSITORY", "other-org/other-repo")
    args = deploy_args(gitops)
    args = args[: args.index("--commit")]
    assert main(args) == 0
    block = read_block((gitops / STAGING).read_text())
    assert block is not None and block.commit == "abcdef0123456789abcdef0123456789abcdef01"
    assert (
        block.source_repo == "other-org/other-repo"
        and block.repo_url == "https://github.com/other-org/other-repo"
    )


def test_tag_may_carry_the_whole_reference(gitops: Path) -> None:
    args = deploy_args(gitops, tag="harbor.example.com/my-team/my-api:2.0.0")
    args.remove("--image")
    args.remove("harbor.example.com/my-team/my-api")
    assert main(args) == 0
    assert "tag: 2.0.0" in (gitops / STAGING).read_text()


def test_several_apps_and_envs_from_a_targets_file(gitops: Path) -> None:
    targets = gitops.parent / "targets.yaml"
    targets.write_text(
        "targets:\n"
        "  - {app: my-api, env: development}\n"
        "  - {app: my-api, env: production, tag: 3.0.0, digest: 'sha256:" + "8" * 64 + "'}\n"
    )
    args = deploy_args(gitops, "--targets", str(targets), "--branch", "deploy-{app}")
    for flag in ("--app", "--env"):
        index = args.index(flag)
        del args[index : index + 2]
    assert main(args) == 0
    dev = read_block((gitops / "my-api/development/image.yaml").read_text())
    prod = read_block((gitops / "my-api/production/image.yaml").read_text())
    assert dev is not None and (dev.tag, dev.digest) == ("1.4.0", DIGEST)
    assert prod is not None and (prod.tag, prod.digest) == ("3.0.0", "sha256:" + "8" * 64)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (["--tag", "bad tag"], "tag 'bad tag' is not a valid OCI tag"),
        (["--digest", "sha256:abc"], "is not 'sha256:' followed by 64 lowercase hex digits"),
        (["--commit", "zzz"], "commit 'zzz' is not a git commit hash"),
        (["--source-repo", "nope"], "source repository 'nope' is not of the form OWNER/NAME"),
        (["--env", "../../etc"], "env '../../etc' is not a plain relative path"),
        (["--app", "/etc"], "app '/etc' must be a relative path"),
        (
            ["--env", "prod"],
            "my-api/prod/ does not exist; the directories in my-api/ are: base, development, production, staging",
        ),
        (["--path-template", "{app}/{environment}.yaml"], "--path-template uses {environment}"),
        (["--no-such-flag"], "unrecognized arguments: --no-such-flag"),
    ],
)
def test_bad_input_is_one_line_exit_2_and_writes_nothing(
    gitops: Path, capsys: pytest.CaptureFixture[str], change: list[str], message: str
) -> None:
    args = deploy_args(gitops)
    flag = change[0]
    if flag in args:
        args[args.index(flag) + 1] = change[1]
    else:
        args += change
    before = snapshot(gitops)
    assert main(args) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("autodeploy: error: ") and message in err
    assert "Traceback" not in err
    assert snapshot(gitops) == before


def test_invalid_yaml_in_the_repo_is_refused(gitops: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (gitops / STAGING).write_text("spec:\n  values: [\n")
    assert main(deploy_args(gitops)) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"autodeploy: error: {STAGING}:") and "invalid YAML" in err and err.count("\n") == 1
    assert (gitops / STAGING).read_text() == "spec:\n  values: [\n"


def test_exactly_one_gitops_location(capsys: pytest.CaptureFixture[str]) -> None:
    assert (
        main(
            [
                "deploy",
                "--app",
                "a",
                "--env",
                "e",
                "--image",
                "r.io/a/b",
                "--tag",
                "1",
                "--commit",
                COMMIT,
                "--source-repo",
                "a/b",
            ]
        )
        == 2
    )
    assert "give exactly one of --gitops-dir DIR or --gitops-repo OWNER/REPO" in capsys.readouterr().err


def run_cli(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GITHUB_", "AUTODEPLOY_"))}
    return subprocess.run(
        [sys.executable, "-m", "autodeploy", *args], capture_output=True, text=True, cwd=cwd, env=env
    )


def test_version_and_help_for_every_command(tmp_path: Path) -> None:
    version = run_cli("--version", cwd=tmp_path)
    assert version.returncode == 0 and version.stdout.strip() == f"autodeploy {__version__}"
    top = run_cli("--help", cwd=tmp_path)
    assert top.returncode == 0 and "Exit codes: 0" in top.stdout
    for command in COMMANDS:
        result = run_cli(command, "--help", cwd=tmp_path)
        assert result.returncode == 0, result.stderr
        assert f"usage: autodeploy {command}" in result.stdout


def test_no_command_prints_help_and_exits_2(tmp_path: Path) -> None:
    result = run_cli(cwd=tmp_path)
    assert result.returncode == 2 and "usage: autodeploy" in result.stderr


def test_the_local_path_imports_neither_pygithub_nor_docker_nor_requests(
    gitops: Path, tmp_path: Path
) -> None:
    args = deploy_args(gitops, "--dry-run")
    result = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "autodeploy", *args],
        capture_output=True,
        text=True,
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr
    imported = {
        line.split("|")[-1].strip() for line in result.stderr.splitlines() if line.startswith("import time:")
    }
    assert "autodeploy.imagefile" in imported
    assert not {
        name for name in imported if name.split(".")[0] in {"github", "docker", "requests", "urllib3", "jwt"}
    }


def test_help_imports_no_adapter_library(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "autodeploy", "deploy", "--help"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
    )
    imported = {
        line.split("|")[-1].strip().split(".")[0]
        for line in result.stderr.splitlines()
        if line.startswith("import time:")
    }
    assert result.returncode == 0 and not imported & {"github", "docker", "requests", "urllib3"}


def test_rollback_help_shows_rollback_s_own_defaults_and_only_its_flags(capsys) -> None:
    assert main(["rollback", "--help"]) == 0
    text = " ".join(capsys.readouterr().out.split())
    assert "(default: rollback-{env}-{app}, a branch of its own)" in text
    assert "'Rollback {app} in {env} to {new_tag}'" in text and "prod-release" not in text
    assert "--allow-downgrade" not in text and "--targets" not in text
    assert main(["plan", "--help"]) == 0
    assert "[--dry-run]" not in capsys.readouterr().out
