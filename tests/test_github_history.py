"""History and rollback through the GitHub API (GraphQL on the fake, checked against GitHub's
schema): what the base branch's first-parent line held, what open pull requests would deploy, and
the requests each costs."""

from __future__ import annotations

import json

import pytest
from github_fake import FakeGitHub
from github_world import SOURCE, World, digest, image_yaml

from autodeploy import cli

PATH = "api/production/image.yaml"
HISTORY = ["history", "--gitops-repo", "team/gitops", "--app", "api", "--env", "production", "--json"]


def history(capsys: pytest.CaptureFixture[str], *extra: str) -> dict[str, list[dict[str, object]]]:
    assert cli.main([*HISTORY, *extra]) == 0
    return json.loads(capsys.readouterr().out)  # type: ignore[no-any-return]


@pytest.mark.parametrize("method", ["merge", "squash", "rebase"])
def test_a_tag_replaced_on_the_release_branch_never_ran(
    github: FakeGitHub, env: None, capsys: pytest.CaptureFixture[str], method: str
) -> None:
    world = World(github)
    world.deploy("api", "production", "2.0.0", 2)  # opens prod-release
    world.gitops.merge(world.gitops.open_pull("prod-release"), method)  # type: ignore[arg-type]
    world.deploy("api", "production", "2.1.0", 3)
    world.deploy("api", "production", "2.1.1", 4)  # replaces 2.1.0 on the branch before the merge
    pull = world.gitops.open_pull("prod-release")
    assert pull is not None
    world.gitops.merge(pull, method)

    found = history(capsys)
    tags = [d["tag"] for d in found["ran"]]
    assert tags[:2] == ["2.1.1", "2.0.0"] and "2.1.0" not in tags
    top = found["ran"][0]
    assert top["gitops_commit"] == world.gitops.refs["main"] and top["pull_request"] == pull.number
    assert top["merged_by"] == "alice" and top["digest"] == digest("2.1.1")
    assert found["pending"] == []

    assert (
        cli.main(
            [
                "rollback",
                *HISTORY[1:-1],
                "--image",
                "registry.example.com/team/api",
                "--no-registry-check",
                "--dry-run",
            ]
        )
        == 0
    )
    out, err = capsys.readouterr()
    assert "would deploy api/production: 2.1.1 -> 2.0.0" in err and digest("2.0.0") in out


def test_an_open_pull_request_is_pending_not_history(
    github: FakeGitHub, env: None, capsys: pytest.CaptureFixture[str]
) -> None:
    world = World(github)
    world.deploy("api", "production", "2.0.0", 2)
    found = history(capsys)
    pull = world.gitops.open_pull("prod-release")
    assert pull is not None
    assert [d["tag"] for d in found["ran"]] == ["1.0.0"]
    assert found["pending"] == [
        {
            "tag": "2.0.0",
            "digest": digest("2.0.0"),
            "source_commit": world.commits[2],
            "source_repo": SOURCE,
            "pull_request": pull.number,
            "branch": "prod-release",
            "author": "autodeploy-bot",
        }
    ]
    assert cli.main(HISTORY[:-1]) == 0
    table = capsys.readouterr().out.splitlines()
    assert table[1].startswith(f"2.0.0 (pending #{pull.number})") and table[2].startswith("1.0.0 (now)")


def test_history_and_a_one_step_rollback_cost_a_few_requests_on_a_long_history(
    github: FakeGitHub, env: None, capsys: pytest.CaptureFixture[str]
) -> None:
    """200 versions of the file on main: the requests do not grow with the history's length."""
    world = World(github)
    for number in range(200):
        tag = f"1.{number}.0"
        world.gitops.write(
            "main", {PATH: image_yaml("api", tag, world.commits[1 + number % 7])}, f"deploy {tag}"
        )
    mark = world.mark()
    found = history(capsys, "--limit", "10", "--base-branch", "main")
    assert [d["tag"] for d in found["ran"]] == [f"1.{n}.0" for n in range(199, 189, -1)]
    calls = world.calls_since(mark)
    assert calls == ["POST /graphql"], calls  # 11 versions: the 10th deploy is known at the 11th

    mark = world.mark()
    args = ["rollback", *HISTORY[1:-1], "--base-branch", "main", "--image", "registry.example.com/team/api"]
    assert cli.main([*args, "--no-registry-check", "--dry-run"]) == 0
    calls = world.calls_since(mark)
    assert calls == [
        "POST /graphql",  # one page of history: 11 versions, and the open pull requests
        "GET /repos/{owner}/{repo}/pulls",  # then the dry run of the deploy it becomes
        "GET /repos/{owner}/{repo}/contents/{path}",
        "GET /repos/{owner}/{repo}/git/ref/{ref}",
        "GET /repos/{owner}/{repo}/contents/{path}",
    ], calls
    assert "1.199.0 -> 1.198.0" in capsys.readouterr().err


def test_the_rollback_pull_request_says_what_a_reviewer_needs(
    github: FakeGitHub, env: None, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    world = World(github)
    world.deploy("api", "production", "2.0.0", 2)
    first = world.gitops.open_pull("prod-release")
    assert first is not None
    world.gitops.merge(first, "merge")
    world.deploy("api", "production", "2.1.0", 3)
    second = world.gitops.open_pull("prod-release")
    assert second is not None
    world.gitops.merge(second, "squash")
    monkeypatch.setenv("GITHUB_REPOSITORY", "team/api")
    monkeypatch.setenv("GITHUB_RUN_ID", "4242")
    args = ["rollback", *HISTORY[1:-1], "--image", "registry.example.com/team/api", "--no-registry-check"]
    assert cli.main([*args, "--reason", "2.1.0 drops orders", "--json"]) == 0
    pull = world.gitops.pulls[json.loads(capsys.readouterr().out)["pr_number"]]
    line = next(line for line in pull.body.splitlines() if line.startswith("**Rollback**"))
    assert f"from `2.1.0` (`{digest('2.1.0')[:19]}`) to `2.0.0` (`{digest('2.0.0')[:19]}`)" in line
    assert f"2.1.0 drops orders; 2.0.0 reached the base on " in line
    assert f"through #{first.number}, merged by alice ({first.merge_commit_sha[:12]})" in line  # type: ignore[index]
    assert "the registry was not asked whether it still holds this digest" in line
    assert "run: https://github.com/team/api/actions/runs/4242" in line
