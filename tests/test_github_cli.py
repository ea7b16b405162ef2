"""`autodeploy deploy --gitops-repo` end to end: flags and variables, --dry-run, --json, exit codes,
GitHub Enterprise Server URLs, and no token in any output."""

from __future__ import annotations

import json
import sys

from github_fake import FakeGitHub
from github_world import SOURCE, TOKEN, World, digest

from autodeploy import cli
from autodeploy.imagefile import read_block

GHES = "https://ghe.example.com/api/v3"


def deploy_args(world: World, app: str, env_name: str, tag: str, commit: int, *extra: str) -> list[str]:
    return [
        "deploy",
        "--gitops-repo",
        "team/gitops",
        "--app",
        app,
        "--env",
        env_name,
        "--image",
        f"registry.example.com/team/{app}",
        "--tag",
        tag,
        "--digest",
        digest(tag),
        "--commit",
        world.commits[commit],
        "--source-repo",
        SOURCE,
        *extra,
    ]


def run(capsys, argv: list[str]) -> tuple[int, str, str]:
    code = cli.main(argv)
    out, err = capsys.readouterr()
    return code, out, err


def test_deploy_prints_json_for_the_action(github: FakeGitHub, env, capsys) -> None:
    world = World(github)
    code, out, err = run(
        capsys, deploy_args(world, "api", "production", "1.1.0", 2, "--base-branch", "main", "--json")
    )

    assert code == 0, err
    result = json.loads(out)
    assert {"changed", "branch", "commit", "pr_number", "pr_url", "digest", "old_tag", "new_tag"} <= set(
        result
    )
    assert result["changed"] is True and result["branch"] == "prod-release"
    assert result["commit"] == world.gitops.refs["prod-release"]
    assert (result["pr_number"], result["pr_url"]) == (1, "https://github.com/team/gitops/pull/1")
    assert (result["old_tag"], result["new_tag"], result["digest"]) == ("1.0.0", "1.1.0", digest("1.1.0"))
    assert "pull request: https://github.com/team/gitops/pull/1" in err
    assert TOKEN not in out + err

    code, out, err = run(
        capsys, deploy_args(world, "api", "production", "1.1.0", 2, "--base-branch", "main", "--json")
    )
    again = json.loads(out)
    assert code == 0 and again["changed"] is False and "nothing to change" in err


def test_dry_run_prints_the_diff_and_the_pull_request_it_would_open(github: FakeGitHub, env, capsys) -> None:
    world = World(github)
    code, out, err = run(capsys, deploy_args(world, "api", "development", "dev-7", 3, "--dry-run"))

    assert code == 0, err
    assert "+        tag: dev-7" in out and "-        tag: 1.0.0" in out
    assert "would open pull request 'chore: Update api image tag in development'" in err
    assert "auto-merge (merge)" in err
    assert all(c.method == "GET" for c in github.calls) and not world.gitops.pulls


def test_flags_shape_the_pull_request(github: FakeGitHub, env, capsys) -> None:
    world = World(github)
    world.gitops.collaborators.add("alice")
    code, out, err = run(
        capsys,
        deploy_args(
            world,
            "api",
            "staging",
            "1.1.0",
            2,
            "--base-branch",
            "main",
            "--reviewer",
            "alice",
            "--auto-merge-env",
            "staging",
            "--merge-method",
            "squash",
            "--label",
            "deploys",
            "--json",
        ),
    )

    assert code == 0, err
    pull = world.gitops.pulls[json.loads(out)["pr_number"]]
    assert pull.reviewers == ["alice"] and pull.labels == ["deploys"]
    assert pull.auto_merge and pull.auto_merge["merge_method"] == "squash"


def test_bad_credentials_are_one_line_and_exit_1(github: FakeGitHub, env, capsys, monkeypatch) -> None:
    world = World(github)
    monkeypatch.setenv("GITHUB_TOKEN", "ghp_not_a_real_token_0000")
    code, out, err = run(capsys, deploy_args(world, "api", "production", "1.1.0", 2))

    assert code == 1 and out == ""
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(
        "autodeploy: error: looking for an open pull request from prod-release"
    )
    assert "401 Bad credentials" in lines[0] and "ghp_not_a_real_token_0000" not in err


def test_no_credentials_is_bad_input(github: FakeGitHub, env, capsys, monkeypatch) -> None:
    world = World(github)
    monkeypatch.delenv("GITHUB_TOKEN")
    code, _, err = run(capsys, deploy_args(world, "api", "production", "1.1.0", 2))
    assert code == 2 and "no GitHub credentials" in err


def test_a_gitops_repo_that_is_not_owner_slash_name(env, capsys) -> None:
    code, _, err = run(
        capsys,
        [
            "deploy",
            "--gitops-repo",
            "gitops",
            "--app",
            "a",
            "--env",
            "b",
            "--image",
            "r.io/a",
            "--tag",
            "1",
            "--digest",
            digest("1"),
            "--commit",
            "a" * 40,
            "--source-repo",
            SOURCE,
        ],
    )
    assert code == 2 and "--gitops-repo 'gitops' is not of the form OWNER/REPO" in err


def test_github_enterprise_server_urls(env, capsys, monkeypatch) -> None:
    fake = FakeGitHub(GHES)
    with fake.serve():
        world = World(fake)
        monkeypatch.setenv("GITHUB_API_URL", GHES)
        monkeypatch.setenv("GITHUB_SERVER_URL", "https://ghe.example.com")
        code, out, err = run(
            capsys, deploy_args(world, "api", "development", "dev-9", 3, "--json", "--base-branch", "main")
        )

    assert code == 0, err
    assert json.loads(out)["pr_url"] == "https://ghe.example.com/team/gitops/pull/1"
    assert any(
        c.template == "/graphql" for c in fake.calls
    )  # auto-merge at https://ghe.example.com/api/graphql
    assert world.gitops.pulls[1].auto_merge
    block = read_block(world.text("update-development-api", "api/development/image.yaml") or "")
    assert block and block.repo_url == "https://ghe.example.com/team/api"
    assert not fake.problems


def test_history_through_the_api(github: FakeGitHub, env, capsys) -> None:
    world = World(github)
    world.gitops.write(
        "main",
        {"api/staging/image.yaml": world.text("main", "api/staging/image.yaml").replace("1.0.0", "1.0.1")},
        "bump",
    )
    code, out, err = run(
        capsys,
        [
            "history",
            "--gitops-repo",
            "team/gitops",
            "--base-branch",
            "main",
            "--app",
            "api",
            "--env",
            "staging",
            "--json",
        ],
    )

    assert code == 0, err
    assert [d["tag"] for d in json.loads(out)["ran"]][:2] == ["1.0.1", "1.0.0"]


def test_the_local_path_never_imports_pygithub(tmp_path) -> None:
    import subprocess

    code = (
        "import sys\n"
        "from autodeploy.cli import build, parser\n"
        "from autodeploy.environment import Environment\n"
        "argv = ['deploy', '--gitops-repo', 'o/r', '--app', 'a', '--env', 'e', '--tag', 'r.io/i:1']\n"
        "build.options(parser.build_parser('deploy').parse_args(argv), Environment(github_token='t0ken'))\n"
        "assert 'github' not in sys.modules and 'requests' not in sys.modules, sorted(sys.modules)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
