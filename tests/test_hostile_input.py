"""Issue classes of hostile or broken input: each ends in one line and exit 2 before anything is
written, never in a traceback (exit 3), a hang, or a write where nobody reviews."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from github_fake import FakeGitHub
from github_world import World
from test_github_cli import deploy_args

from autodeploy import cli

ROOT = Path(__file__).resolve().parent.parent
DIGEST = "sha256:" + "ab" * 32
COMMIT = "2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d5e"


def local_args(gitops: Path, *extra: str, app: str = "my-api", env: str = "staging") -> list[str]:
    return [
        "deploy",
        "--gitops-dir",
        str(gitops),
        "--app",
        app,
        "--env",
        env,
        "--image",
        "ghcr.io/my-team/my-api",
        "--tag",
        "1.5.0",
        "--digest",
        DIGEST,
        "--commit",
        COMMIT,
        "--source-repo",
        "my-team/my-api",
        *extra,
    ]


@pytest.fixture
def gitops(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    target = tmp_path / "gitops"
    shutil.copytree(ROOT / "examples" / "gitops", target)
    return target


def snapshot(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def one_line_error(capsys: pytest.CaptureFixture[str], argv: list[str], code: int = 2) -> str:
    assert cli.main(argv) == code
    err = capsys.readouterr().err
    lines = [line for line in err.splitlines() if line.startswith("autodeploy: error:")]
    assert len(lines) == 1 and "Traceback" not in err and "unexpected error" not in err, err
    return lines[0]


# -- a deploy branch that is the base, or protected ------------------------------------------------


def test_a_branch_equal_to_the_base_is_refused_before_any_write(github: FakeGitHub, env, capsys) -> None:
    world = World(github)
    before = dict(world.gitops.refs)
    mark = world.mark()
    line = one_line_error(capsys, deploy_args(world, "api", "staging", "1.5.0", 2, "--branch", "main"))
    assert "the deploy branch main is the base branch" in line
    assert world.gitops.refs == before
    assert not [c for c in world.calls_since(mark) if not c.startswith("GET ")], "nothing is written"


def test_a_protected_branch_pattern_is_refused(github: FakeGitHub, env, capsys) -> None:
    world = World(github)
    before = dict(world.gitops.refs)
    args = deploy_args(
        world, "api", "staging", "1.5.0", 2, "--branch", "release/{env}", "--protected-branch", "release/*"
    )
    line = one_line_error(capsys, args)
    assert "matches the protected branch pattern 'release/*'" in line
    assert world.gitops.refs == before


# -- control and bidi characters ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("flag", "value"),
    [
        ("--path-template", "{app}/{env}/image\n.yaml"),
        ("--path-template", "{app}/{env}/\timage.yaml"),
        ("--path-template", "{app}/{env}/\u202eimage.yaml"),
        ("--label", "auto\u2066deploy"),
        ("--title", "Deploy\r\n::warning::x"),
        ("--message", "deploy \x00 {app}"),
    ],
)
def test_control_characters_in_names_are_refused(gitops: Path, capsys, flag: str, value: str) -> None:
    before = snapshot(gitops)
    line = one_line_error(capsys, local_args(gitops, flag, value))
    assert "holds the control character U+" in line
    assert snapshot(gitops) == before


# -- bad input that used to end in exit 3 ---------------------------------------------------------


@pytest.mark.parametrize(
    ("image", "message"),
    [
        ("registry.example.com:99999/team/api", "has the port 99999, outside 1-65535"),
        ("registry.example.com:0/team/api", "has the port 0, outside 1-65535"),
        ("registry.example.com/" + "a" * 250, "has a name longer than 255 characters"),
    ],
)
def test_bad_image_references(gitops: Path, capsys, image: str, message: str) -> None:
    args = local_args(gitops)
    args[args.index("--image") + 1] = image
    assert message in one_line_error(capsys, args)


def test_a_targets_file_that_is_not_utf8(gitops: Path, tmp_path: Path, capsys) -> None:
    targets = tmp_path / "targets.yaml"
    targets.write_bytes(b"targets:\n  - app: my-api\n    env: \xff\xfe\n")
    args = local_args(gitops)[:3] + ["--targets", str(targets), *local_args(gitops)[7:]]
    assert "is not UTF-8 text" in one_line_error(capsys, args)


def test_an_image_file_in_a_symlink_loop(gitops: Path, capsys) -> None:
    path = gitops / "my-api/staging/image.yaml"
    path.unlink()
    os.symlink(path.parent / "loop", path)
    os.symlink(path, path.parent / "loop")
    line = one_line_error(capsys, local_args(gitops))
    # Python 3.11 finds the loop while resolving the path, 3.13 when it reads the file: one line either way
    assert "cannot resolve my-api/staging/image.yaml" in line or (
        "cannot read my-api/staging/image.yaml" in line and "symbolic links" in line
    ), line


def test_an_image_file_that_is_a_fifo_does_not_hang(gitops: Path) -> None:
    path = gitops / "my-api/staging/image.yaml"
    path.unlink()
    os.mkfifo(path)
    done = subprocess.run(
        [sys.executable, "-m", "autodeploy", *local_args(gitops, "--dry-run")],
        capture_output=True,
        text=True,
        timeout=30,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    assert done.returncode == 2, done.stderr
    assert done.stderr.strip() == "autodeploy: error: my-api/staging/image.yaml is not a regular file"


def test_usage_errors_are_input_errors(capsys) -> None:
    line = one_line_error(capsys, ["deploy", "--no-such-flag"])
    assert "unrecognized arguments: --no-such-flag" in line
    assert cli.main([]) == 2  # no command: the help, then one line
    assert capsys.readouterr().err.endswith(
        "\nautodeploy: error: give a command: deploy, plan, resolve, rollback, history, wait, status, promote\n"
    )


def test_sigterm_ends_the_cli_with_130(gitops: Path) -> None:
    """A real process, stopped while it waits on standard input for a registry password."""
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "autodeploy",
            *local_args(gitops, "--registry-username", "u", "--registry-password-stdin"),
        ],
        stdin=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    try:
        # Wait until it is blocked reading stdin (the parent's end of the pipe stays open).
        for _ in range(100):  # at most 10 s
            time.sleep(0.1)
            if proc.poll() is not None:
                break
            with open(f"/proc/{proc.pid}/wchan") as handle:
                if handle.read().strip() in {"pipe_read", "pipe_wait", "wait_woken"}:
                    break
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=10)
    finally:
        proc.kill()
    assert proc.returncode == 130, err
    assert err.strip().splitlines()[-1] == "autodeploy: error: interrupted"


def test_a_closed_stdout_exits_quietly(gitops: Path) -> None:
    cmd = [sys.executable, "-m", "autodeploy", *local_args(gitops, "--dry-run", "--json")]
    proc = subprocess.Popen(
        cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env={**os.environ, "PYTHONPATH": str(ROOT)}
    )
    assert proc.stdout is not None and proc.stderr is not None
    proc.stdout.close()  # the reader is gone before autodeploy prints
    err = proc.stderr.read().decode()
    assert proc.wait(timeout=30) == 0, err
    assert "BrokenPipeError" not in err and "unexpected error" not in err


def test_every_control_format_and_separator_character_is_refused() -> None:
    import unicodedata

    from autodeploy import validate
    from autodeploy.errors import InputError

    for code in range(0x110000):
        char = chr(code)
        if unicodedata.category(char) in {"Cc", "Cf", "Zl", "Zp"}:
            with pytest.raises(InputError):
                validate.plain("label", f"a{char}b")
    assert validate.plain("label", "déploiement-日本-✓") == "déploiement-日本-✓"


# -- the command deadline, through the whole CLI ---------------------------------------------------


@pytest.mark.parametrize("command", ["resolve", "deploy"])
def test_a_silent_server_ends_the_command_at_its_deadline(
    serve, command: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys
) -> None:
    from misbehaving import SILENT, SLACK

    server = serve(lambda request: SILENT)
    host = server.url("/").split("/")[2]
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("GITHUB_API_URL", server.url("").rstrip("/"))
    monkeypatch.setenv("GITHUB_TOKEN", "ghp_deadline_test_token_0000")
    monkeypatch.delenv("AUTODEPLOY_GITHUB_TOKEN", raising=False)
    if command == "resolve":  # the registry, whose own bound (120 s) is far off
        argv = ["resolve", f"{host}/team/api:1.0.0", "--deadline", "1"]
    else:  # GitHub, whose own bound (300 s) is far off
        argv = [
            "deploy", "--gitops-repo", "team/gitops", "--app", "api", "--env", "staging",
            "--tag", "registry.example.com/team/api:1.0.0", "--digest", DIGEST,
            "--commit", COMMIT, "--source-repo", "team/api", "--deadline", "1",
        ]  # fmt: skip
    started = time.monotonic()
    line = one_line_error(capsys, argv, code=1)
    assert time.monotonic() - started < 1.0 + SLACK + 1.0
    assert "--deadline" in line and "1 s" in line, line


def test_a_deadline_that_is_not_a_number(capsys, monkeypatch: pytest.MonkeyPatch) -> None:
    assert "--deadline must be a number of seconds above 0" in one_line_error(
        capsys, ["resolve", "ghcr.io/a/b:1", "--deadline", "0"]
    )
    monkeypatch.setenv("AUTODEPLOY_DEADLINE", "soon")
    assert "AUTODEPLOY_DEADLINE 'soon' is not a number" in one_line_error(
        capsys, ["resolve", "ghcr.io/a/b:1"]
    )


def test_a_deeply_nested_targets_file_is_refused_before_the_parser_recurses(
    gitops: Path, tmp_path: Path
) -> None:
    targets = tmp_path / "targets.yaml"
    targets.write_text("targets: " + "[" * 30_000 + "\n")
    args = [*local_args(gitops)[:3], "--targets", str(targets), *local_args(gitops)[7:], "--dry-run"]
    done = subprocess.run(
        [sys.executable, "-m", "autodeploy", *args],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    assert done.returncode == 2, (done.returncode, done.stderr[-500:])
    [line] = done.stderr.splitlines()
    assert line.startswith(f"autodeploy: error: --targets {targets}:1: nests deeper than"), line


def test_digest_from_docker_without_the_extra_names_it(capsys, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "docker", None)  # as when autodeploy[docker] is not installed
    line = one_line_error(capsys, ["resolve", "ghcr.io/team/api:1.0.0", "--digest-from", "docker"], code=1)
    assert "--digest-from docker needs the docker extra: pip install 'autodeploy[docker]'" in line
