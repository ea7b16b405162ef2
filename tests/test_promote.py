"""`autodeploy promote`: what one environment runs, copied into another through the deploy pipeline
(release branch, compare-and-swap, the downgrade guard), through the API and in a checkout."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from checkouts import example_checkout, git
from github_fake import FakeGitHub
from github_world import SOURCE, World, digest
from test_status import commit

from autodeploy import cli
from autodeploy.imagefile import read_block

PROMOTE = [
    "promote",
    "--gitops-repo",
    "team/gitops",
    "--base-branch",
    "main",
    "--from",
    "staging",
    "--to",
    "production",
]
UNGATED = [*PROMOTE, "--no-require-healthy"]


def staged(world: World, app: str, tag: str, number: int) -> None:
    """`app` runs `tag` (built from commit `number`) in staging: deployed and merged."""
    world.deploy(app, "staging", tag, number)
    pull = world.gitops.open_pull("staging-release")
    assert pull is not None
    world.merge_pull(pull.number)


def promote(capsys: pytest.CaptureFixture[str], *args: str, code: int = 0) -> dict[str, Any]:
    assert cli.main([*args, "--json"]) == code
    out, err = capsys.readouterr()
    assert code == 0, err
    found: dict[str, Any] = json.loads(out)
    return found


def test_promote_copies_the_staging_block_into_a_release_pull_request(
    github: FakeGitHub, env: None, capsys: pytest.CaptureFixture[str]
) -> None:
    world = World(github)
    staged(world, "api", "1.1.0", 2)
    found = promote(capsys, *UNGATED, "--app", "api")
    pull = world.gitops.open_pull("prod-release")
    assert pull is not None and found["pr_number"] == pull.number and found["branch"] == "prod-release"
    block = read_block(world.text("prod-release", "api/production/image.yaml") or "")
    assert block is not None
    assert (block.tag, block.digest, block.commit, block.source_repo) == (
        "1.1.0",
        digest("1.1.0"),
        world.commits[2],
        SOURCE,
    )
    head = world.gitops.commits[world.gitops.refs["prod-release"]]
    assert head.message == "promote(api): production 1.0.0 -> 1.1.0"
    assert "**Promotion** of `api` to `production`: `1.1.0`" in pull.body
    assert "from staging, where it has run since 2026-" in pull.body
    assert f"compare/{world.commits[1]}...{world.commits[2]}" in pull.body
    [promotion] = found["promotions"]
    assert promotion["old_tag"] == "1.0.0" and promotion["tag"] == "1.1.0" and promotion["changed"]
    assert promotion["source_since"].startswith("2026-") and promotion["health"] == "unknown"


def test_all_gathers_every_app_that_differs_in_one_commit(
    github: FakeGitHub, env: None, capsys: pytest.CaptureFixture[str]
) -> None:
    world = World(github, apps=("api", "web", "worker"))
    staged(world, "api", "1.1.0", 2)
    staged(world, "worker", "1.3.0", 4)
    mark = world.mark()
    found = promote(capsys, *UNGATED, "--all")
    assert sorted(p["app"] for p in found["promotions"]) == ["api", "worker"]
    assert found["already"] == ["web"]
    head = world.gitops.commits[world.gitops.refs["prod-release"]]
    assert head.message.startswith("deploy: 2 images") or "promote(api)" in head.message
    for app, tag, number in (("api", "1.1.0", 2), ("worker", "1.3.0", 4)):
        block = read_block(world.text("prod-release", f"{app}/production/image.yaml") or "")
        assert block is not None and (block.tag, block.commit) == (tag, world.commits[number])
    assert world.text("prod-release", "web/production/image.yaml") == world.text(
        "main", "web/production/image.yaml"
    )
    calls = world.calls_since(mark)
    assert calls.count("GET /repos/{owner}/{repo}/git/trees/{tree_sha}") == 1
    assert len(calls) <= 14, calls


def test_promoting_what_the_target_runs_is_a_no_op(
    github: FakeGitHub, env: None, capsys: pytest.CaptureFixture[str]
) -> None:
    world = World(github)
    mark = world.mark()
    found = promote(capsys, *PROMOTE, "--app", "web")  # the gate is not even asked
    assert found["changed"] is False and found["promotions"] == [] and found["already"] == ["web"]
    assert all(call.startswith("POST /graphql") for call in world.calls_since(mark))
    assert "prod-release" not in world.gitops.refs
    assert cli.main([*PROMOTE, "--all"]) == 0
    assert "nothing to promote" in capsys.readouterr().err


def test_a_downgrade_is_refused_unless_allowed(
    github: FakeGitHub, env: None, capsys: pytest.CaptureFixture[str]
) -> None:
    world = World(github)
    staged(world, "api", "1.1.0", 2)
    world.deploy("api", "production", "1.2.0", 3)  # production runs a build of a later commit
    world.merge_pull(world.gitops.open_pull("prod-release").number)  # type: ignore[union-attr]
    before = world.gitops.refs["main"]
    found = promote(capsys, *UNGATED, "--app", "api")
    assert found["changed"] is False and found["skipped"][0]["kind"] == "downgrade"
    assert "newer than" in found["skipped"][0]["reason"] and "prod-release" in world.gitops.refs
    assert world.text("prod-release", "api/production/image.yaml") == world.gitops.text(
        before, "api/production/image.yaml"
    )

    found = promote(capsys, *UNGATED, "--app", "api", "--allow-downgrade")
    assert found["changed"] is True and found["promotions"][0]["old_tag"] == "1.2.0"


def test_a_dry_run_prints_the_exact_diff_and_writes_nothing(
    github: FakeGitHub, env: None, capsys: pytest.CaptureFixture[str]
) -> None:
    world = World(github)
    staged(world, "api", "1.1.0", 2)
    refs = dict(world.gitops.refs)
    assert cli.main([*UNGATED, "--app", "api", "--dry-run"]) == 0
    out, err = capsys.readouterr()
    assert out.startswith("--- a/api/production/image.yaml\n+++ b/api/production/image.yaml\n")
    assert "-        tag: 1.0.0\n" in out and "+        tag: 1.1.0\n" in out
    assert f"+        digest: {digest('1.1.0')}\n" in out
    assert "would create branch prod-release" in err and "would open pull request" in err
    assert world.gitops.refs == refs


def test_the_gate_refuses_without_a_verdict_and_names_the_way_out(
    github: FakeGitHub, env: None, capsys: pytest.CaptureFixture[str]
) -> None:
    world = World(github)
    staged(world, "api", "1.1.0", 2)
    assert cli.main([*PROMOTE, "--app", "api"]) == 1
    err = capsys.readouterr().err
    assert "--no-require-healthy" in err and err.count("autodeploy: error:") == 1
    assert "prod-release" not in world.gitops.refs


def test_bad_input(github: FakeGitHub, env: None, capsys: pytest.CaptureFixture[str]) -> None:
    World(github)
    for args, message in (
        ([*UNGATED], "give --app APP (repeatable) or --all"),
        ([*UNGATED, "--app", "api", "--all"], "not allowed with"),
        ([*PROMOTE[:5], "--from", "staging", "--to", "staging", "--app", "api"], "both staging"),
        ([*UNGATED, "--app", "nope"], "nope/staging has no image file to promote from"),
        ([*UNGATED, "--app", "api", "--registry-check"], "--registry-check needs --image"),
        ([*UNGATED, "--app", "api", "--flux-context", "{environment}"], "the only placeholders"),
        ([*UNGATED, "--app", "api", "--env", "production"], "unrecognized arguments: --env"),
        ([*UNGATED, "--app", "api", "--commit-from-image"], "unrecognized arguments"),
    ):
        assert cli.main(args) == 2, args
        err = capsys.readouterr().err
        assert message in err and err.count("\n") == 1, err


def test_promote_in_a_checkout(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    gitops = example_checkout(tmp_path)
    monkeypatch.chdir(tmp_path)
    local = [
        "promote",
        "--gitops-dir",
        str(gitops),
        "--app",
        "my-api",
        "--from",
        "staging",
        "--to",
        "production",
    ]
    assert cli.main(local) == 2  # the example's staging file is the old action's: no digest
    assert "without a recorded digest" in capsys.readouterr().err
    commit(gitops, "my-api", "staging", "1.4.0", 7)
    assert cli.main(local) == 1
    err = capsys.readouterr().err
    assert "--gitops-dir does not use" in err and "--no-require-healthy" in err and err.count("\n") == 1
    assert cli.main([*local, "--no-require-healthy", "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert "+        tag: 1.4.0\n" in out
    found = promote(capsys, *local, "--no-require-healthy")
    assert found["promotions"][0]["source_since"] is not None
    block = read_block((gitops / "my-api" / "production" / "image.yaml").read_text())
    assert block is not None and (block.tag, block.commit) == ("1.4.0", f"{7:040x}")
    assert git(gitops, "status", "--porcelain") == "M my-api/production/image.yaml"
    again = promote(capsys, *local, "--no-require-healthy")
    assert again["already"] == ["my-api"] and again["changed"] is False


def test_all_and_the_downgrade_guard_in_a_plain_directory(
    gitops: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """No git at all (and no clone of the source repository): the tags' versions decide a downgrade."""
    from autodeploy.imagefile import Block, write_block

    monkeypatch.chdir(tmp_path)
    for app, env, tag, number in (
        ("my-api", "staging", "1.4.0", 4),
        ("my-api", "production", "1.5.0", 5),  # production runs a later version
    ):
        path = gitops / app / env / "image.yaml"
        block = Block(SOURCE, tag, digest(tag), f"https://github.com/{SOURCE}", f"{number:040x}")
        path.write_text(write_block(path.read_text(), block))
    local = ["promote", "--gitops-dir", str(gitops), "--all", "--from", "staging", "--to", "production"]
    found = promote(capsys, *local, "--no-require-healthy")
    assert found["changed"] is False and [s["kind"] for s in found["skipped"]] == ["downgrade"]
    assert "a later version than 1.4.0" in found["skipped"][0]["reason"]
    assert read_block((gitops / "my-api" / "production" / "image.yaml").read_text()).tag == "1.5.0"  # type: ignore[union-attr]
    found = promote(capsys, *local, "--no-require-healthy", "--allow-downgrade")
    assert found["changed"] is True and [p["app"] for p in found["promotions"]] == ["my-api"]
    assert read_block((gitops / "my-api" / "production" / "image.yaml").read_text()).tag == "1.4.0"  # type: ignore[union-attr]


def test_promote_wait_follows_the_target_environment_until_flux_reconciled(
    github: FakeGitHub, env: None, capsys: pytest.CaptureFixture[str]
) -> None:
    """--wait after a promotion, as after a deploy: the pull request merges, then the production
    Kustomization's status decides; --flux-context is the gate's and the wait's at once."""
    from github_fake import TOKEN, WRITE_ALL
    from github_fake_statuses import STATUS_READ
    from test_wait_cli import merge_on_first_poll

    world = World(github)
    github.add_token(TOKEN, {**WRITE_ALL, **STATUS_READ})
    staged(world, "api", "1.1.0", 2)
    merge_on_first_poll(world)
    github.flux_reconciles(world.gitops, "apps-staging", pull=2, after=1)  # another env: never decides
    github.flux_reconciles(world.gitops, "apps-production", pull=2, after=2)
    found = promote(capsys, *UNGATED, "--app", "api", "--wait", "--flux-context", "kustomization/*{env}*")
    assert (found["rollout"], found["flux-status"]) == ("success", "reconciliation succeeded")
    assert found["pr_number"] == 2 and world.gitops.pulls[2].merged
    assert found["promotions"][0]["tag"] == "1.1.0"


def test_promote_wait_flags_need_wait(github: FakeGitHub, env: None, capsys: pytest.CaptureFixture[str]) -> None:
    World(github)
    assert cli.main([*UNGATED, "--app", "api", "--wait-timeout", "60"]) == 2
    assert "--wait-timeout applies to the wait: add --wait" in capsys.readouterr().err
    assert cli.main([*UNGATED, "--app", "api", "--environment-url", "https://x"]) == 2
    assert "--environment-url applies to --deployment only" in capsys.readouterr().err
    code = cli.main(["promote", "--help"])
    out = capsys.readouterr().out
    assert code == 0 and "--wait " in out and "--on-timeout" in out and out.count("--flux-context GLOB") == 2
