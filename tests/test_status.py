"""`autodeploy status`: what runs where, from the base branch, through the API (a constant number of
requests however many apps) and from a checkout (one git process however many files)."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest
from checkouts import example_checkout, git
from github_fake import FakeGitHub
from github_world import SOURCE, World, digest

from autodeploy import cli, gitlocal
from autodeploy.imagefile import Block, write_block

STATUS = ["status", "--gitops-repo", "team/gitops", "--base-branch", "main"]


def status(capsys: pytest.CaptureFixture[str], *args: str) -> dict[str, Any]:
    assert cli.main([*args, "--json"]) == 0
    found: dict[str, Any] = json.loads(capsys.readouterr().out)
    return found


def entry(found: dict[str, Any], app: str, env: str) -> dict[str, Any]:
    return next(e for e in found["entries"] if (e["app"], e["env"]) == (app, env))


def test_the_matrix_through_the_api_in_three_requests(
    github: FakeGitHub, env: None, capsys: pytest.CaptureFixture[str]
) -> None:
    world = World(github)
    world.deploy("api", "staging", "1.1.0", 2)
    staged = world.gitops.open_pull("staging-release")
    assert staged is not None
    world.merge_pull(staged.number)
    world.deploy("api", "production", "1.2.0", 3)  # open: pending
    pending = world.gitops.open_pull("prod-release")
    assert pending is not None

    mark = world.mark()
    found = status(capsys, *STATUS)
    assert world.calls_since(mark) == [
        "POST /graphql",
        "GET /repos/{owner}/{repo}/git/trees/{tree_sha}",
        "POST /graphql",
    ]
    assert found["environments"] == ["development", "staging", "production"]
    assert [(e["app"], e["env"]) for e in found["entries"]] == [
        (app, env) for app in ("api", "web") for env in ("development", "staging", "production")
    ]
    staging = entry(found, "api", "staging")
    assert staging == {
        "app": "api",
        "env": "staging",
        "path": "api/staging/image.yaml",
        "tag": "1.1.0",
        "digest": digest("1.1.0"),
        "commit": world.commits[2],
        "source_repo": SOURCE,
        "reached-at": staging["reached-at"],
        "gitops_commit": world.gitops.refs["main"],
        "pending": [],
        "differs": True,
        "newer_than": ["development"],
        "problem": None,
    }
    assert staging["reached-at"] and staging["reached-at"] > entry(found, "api", "development")["reached-at"]
    production = entry(found, "api", "production")
    assert production["tag"] == "1.0.0" and production["differs"] and production["newer_than"] == []
    assert production["pending"] == [
        {
            "pull_request": pending.number,
            "branch": "prod-release",
            "author": "autodeploy-bot",
            "tag": "1.2.0",
            "digest": digest("1.2.0"),
            "commit": world.commits[3],
        }
    ]
    web = entry(found, "web", "production")
    assert (web["tag"], web["differs"], web["pending"]) == ("1.0.0", False, [])


def test_the_requests_do_not_grow_with_the_apps(
    github: FakeGitHub, env: None, capsys: pytest.CaptureFixture[str]
) -> None:
    world = World(github, apps=tuple(f"app-{n:02d}" for n in range(30)))
    mark = world.mark()
    found = status(capsys, *STATUS)
    assert len(found["entries"]) == 90
    assert len(world.calls_since(mark)) == 3  # the target is at most 5

    mark = world.mark()
    named = status(capsys, *STATUS, "--app", "app-03", "--app", "app-01", "--env", "production")
    assert world.calls_since(mark) == ["POST /graphql", "POST /graphql"]  # no listing needed
    assert [(e["app"], e["env"]) for e in named["entries"]] == [
        ("app-03", "production"),
        ("app-01", "production"),
    ]


def test_the_table_and_the_markdown(
    github: FakeGitHub, env: None, capsys: pytest.CaptureFixture[str]
) -> None:
    world = World(github)
    world.deploy("api", "staging", "1.1.0", 2)
    assert cli.main([*STATUS, "--env-order", "production,staging,development"]) == 0
    table = capsys.readouterr().out.splitlines()
    assert table[0].split() == [
        "APP",
        "ENV",
        "TAG",
        "DIGEST",
        "SOURCE",
        "REACHED",
        "BASE",
        "PENDING",
        "MARKS",
    ]
    assert [line.split()[:2] for line in table[1:4]] == [
        ["api", "production"],
        ["api", "staging"],
        ["api", "development"],
    ]
    assert "1.1.0 (#" in table[2]
    assert cli.main([*STATUS, "--markdown"]) == 0
    markdown = capsys.readouterr().out
    assert "| App | development | staging | production |" in markdown
    assert (
        "⏳ `1.1.0` (#" in markdown and f"(https://github.com/{SOURCE}/commit/{world.commits[1]})" in markdown
    )


def test_bad_input_is_one_line(github: FakeGitHub, env: None, capsys: pytest.CaptureFixture[str]) -> None:
    World(github)
    for args, message in (
        ([*STATUS, "--app", "../x"], "app"),
        ([*STATUS, "--path-template", "{app}/{stage}.yaml"], "{stage}"),
        ([*STATUS, "--json", "--markdown"], "not allowed with"),
        (["status", "--gitops-repo", "team/none"], "does not exist"),
        (["status", "--gitops-repo", "team/gitops", "--base-branch", "nope"], "nope does not exist"),
    ):
        assert cli.main(args) == 2, args
        err = capsys.readouterr().err
        assert message in err and err.count("\n") == 1 and "Traceback" not in err, err


def commit(gitops: Path, app: str, env: str, tag: str, number: int) -> None:
    path = gitops / app / env / "image.yaml"
    block = Block(SOURCE, tag, digest(tag), f"https://github.com/{SOURCE}", f"{number:040x}")
    path.write_text(write_block(path.read_text(), block))
    git(gitops, "commit", "-q", "-am", f"deploy {app} {env} {tag}")


def test_a_checkout_in_one_git_process(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    gitops = example_checkout(tmp_path)
    commit(gitops, "my-api", "staging", "1.4.0", 1)
    first = git(gitops, "rev-parse", "HEAD")
    git(gitops, "commit", "-q", "--allow-empty", "-m", "something else")
    commit(gitops, "my-api", "production", "1.4.0", 1)
    processes: list[list[str]] = []
    for name in ("Popen", "run"):
        real = getattr(subprocess, name)

        def counted(args: list[str], *rest: Any, _real: Any = real, **kwargs: Any) -> Any:
            processes.append(list(args))
            return _real(args, *rest, **kwargs)

        monkeypatch.setattr(gitlocal.subprocess, name, counted)
    found = status(capsys, "status", "--gitops-dir", str(gitops))
    assert len(processes) == 1 and processes[0][3] == "log", processes
    staging, production = entry(found, "my-api", "staging"), entry(found, "my-api", "production")
    assert (staging["tag"], staging["gitops_commit"]) == ("1.4.0", first)
    assert production["gitops_commit"] == git(gitops, "rev-parse", "HEAD")
    assert not production["differs"] and staging["differs"]
    assert entry(found, "my-api", "development")["gitops_commit"] == git(
        gitops, "rev-list", "--max-parents=0", "HEAD"
    )

    (gitops / "my-api" / "production" / "image.yaml").write_text(
        (gitops / "my-api" / "production" / "image.yaml").read_text() + "# edited\n"
    )
    edited = status(capsys, "status", "--gitops-dir", str(gitops))
    assert entry(edited, "my-api", "production")["reached-at"] is None  # not committed yet


def test_a_plain_directory_has_no_dates(
    gitops: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    found = status(capsys, "status", "--gitops-dir", str(gitops), "--env", "production", "--env", "staging")
    assert [(e["env"], e["tag"], e["reached-at"]) for e in found["entries"]] == [
        ("production", "1.3.0", None),
        ("staging", "main-1f0c2d9", None),
    ]
    assert found["environments"] == ["production", "staging"]


def test_a_pull_request_with_more_files_than_github_lists_has_all_read_at_its_head(
    github: FakeGitHub, env: None, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from autodeploy.github import fleet

    world = World(github)
    world.deploy("api", "production", "1.2.0", 3)
    world.deploy("web", "production", "1.3.0", 4)  # the same release pull request, two files
    monkeypatch.setattr(fleet, "PULL_FILES", 1)  # GitHub lists one, and says there are more
    mark = world.mark()
    found = status(capsys, *STATUS, "--env", "production")
    assert len(world.calls_since(mark)) == 3
    assert [(e["app"], [p["tag"] for p in e["pending"]]) for e in found["entries"]] == [
        ("api", ["1.2.0"]),
        ("web", ["1.3.0"]),
    ]


def test_env_and_env_order_together(
    gitops: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    args = ["status", "--gitops-dir", str(gitops), "--env", "production", "--env", "development"]
    assert status(capsys, *args)["environments"] == ["production", "development"]
    ordered = status(capsys, *args, "--env-order", "development,staging,production")
    assert ordered["environments"] == ["development", "production"]
    assert [e["differs"] for e in ordered["entries"]] == [False, True]


def test_a_file_that_cannot_be_read_is_a_cell_with_its_problem(
    gitops: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    (gitops / "my-api" / "development" / "image.yaml").write_text("spec: [unclosed\n")
    found = status(capsys, "status", "--gitops-dir", str(gitops))
    broken = entry(found, "my-api", "development")
    assert broken["tag"] is None and "invalid YAML" in broken["problem"]
    assert entry(found, "my-api", "staging")["differs"] is False  # nothing to compare with
    assert cli.main(["status", "--gitops-dir", str(gitops)]) == 0
    assert "(my-api/development/image.yaml:" in capsys.readouterr().out
