"""`autodeploy wait` and `deploy --wait` end to end through the CLI, against the fake GitHub: exit
codes, the JSON, the flags each command offers, and bad input as one line."""

from __future__ import annotations

import json
from typing import Any

import pytest
from github_fake import TOKEN, WRITE_ALL, FakeGitHub
from github_fake_statuses import STATUS_READ
from github_world import GITOPS, World, with_block
from test_github_cli import deploy_args, run
from test_json_docs import assert_same_shape, documented

PULL = "/repos/{owner}/{repo}/pulls/{pull_number}"


@pytest.fixture
def world(github: FakeGitHub, env: None) -> World:
    made = World(github)
    github.add_token(TOKEN, {**WRITE_ALL, **STATUS_READ})
    return made


def merge_on_first_poll(world: World) -> None:
    """A person merges the pull request just as the wait first asks about it."""

    def hook(method: str, template: str, params: dict[str, str], body: Any) -> None:
        pull = world.gitops.pulls.get(int(params.get("pull_number", 0)))
        if method == "GET" and template == PULL and pull is not None and pull.state == "open":
            world.merge_pull(pull.number)

    world.fake.before_request = hook


def two_deploys_in_one_commit(world: World) -> str:
    files = {}
    for app, tag in (("api", "2.0.0"), ("web", "3.0.0")):
        path = f"{app}/staging/image.yaml"
        text = world.text("main", path)
        assert text is not None
        files[path] = with_block(text, app, tag, world.commits[3])
    return world.gitops.write("main", files, "deploy api and web to staging")


def test_deploy_wait_exits_0_once_flux_reconciled_the_merge(world: World, capsys: Any) -> None:
    merge_on_first_poll(world)
    world.fake.flux_reconciles(world.gitops, "apps-staging", pull=1, after=1)
    code, out, err = run(capsys, deploy_args(world, "api", "staging", "2.0.0", 2, "--wait", "--json"))
    assert code == 0, err
    shown = json.loads(out)
    assert (shown["rollout"], shown["flux-status"]) == ("success", "reconciliation succeeded")
    assert shown["merged-at"] == "2026-01-01T00:00:00Z" and shown["deployment-id"] == ""
    assert shown["pr_number"] == 1
    assert [e["event"] for e in shown["wait"]["timeline"]] == ["opened", "merged", "reconciled"]
    assert "rolled out: reconciliation succeeded" in err
    assert world.fake.count(PULL) == 1


def test_deploy_wait_exits_1_on_flux_s_failure(world: World, capsys: Any) -> None:
    merge_on_first_poll(world)
    world.fake.flux_reconciles(world.gitops, "apps-staging", pull=1, after=1, state="failure")
    code, out, err = run(capsys, deploy_args(world, "api", "staging", "2.0.0", 2, "--wait"))
    assert code == 1
    assert "autodeploy: error: Flux reported a failure: health check failed" in err


def test_wait_for_a_gitops_commit_reports_every_deploy_it_brought(world: World, capsys: Any) -> None:
    sha = two_deploys_in_one_commit(world)
    world.fake.flux_reconciles(world.gitops, "apps-staging", on=sha, after=0)
    mark = world.mark()
    code, out, err = run(capsys, ["wait", "--gitops-repo", GITOPS, "--gitops-commit", sha, "--json"])
    assert code == 0, err
    shown = json.loads(out)
    assert shown["rollout"] == "success" and shown["merged-at"] == ""
    assert [(t["app"], t["env"], t["tag"], t["rollout"]) for t in shown["wait"]["targets"]] == [
        ("api", "staging", "2.0.0", "success"),
        ("web", "staging", "3.0.0", "success"),
    ]
    assert world.calls_since(mark) == [
        "GET /repos/{owner}/{repo}/git/commits/{commit_sha}",  # its first parent
        "GET /repos/{owner}/{repo}/compare/{basehead}",  # the image files it changed
        "POST /graphql",  # their texts at the commit
        "GET /repos/{owner}/{repo}",  # the default branch (no --base-branch)
        "GET /repos/{owner}/{repo}/commits/{ref}/status",  # its head: this commit, with Flux's status
    ]
    assert_same_shape(documented()["wait"], shown)
    code, out, err = run(
        capsys, ["wait", "--gitops-repo", GITOPS, "--gitops-commit", sha, "--app", "web", "--json"]
    )
    assert [t["app"] for t in json.loads(out)["wait"]["targets"]] == ["web"]


def test_wait_on_timeout_warn_exits_0(world: World, capsys: Any) -> None:
    sha = two_deploys_in_one_commit(world)
    argv = ["wait", "--gitops-repo", GITOPS, "--gitops-commit", sha, "--wait-timeout", "0.01"]
    code, _, err = run(capsys, argv)
    assert code == 1 and "no verdict from Flux before --wait-timeout" in err
    code, out, err = run(capsys, [*argv, "--on-timeout", "warn", "--json"])
    assert code == 0 and json.loads(out)["rollout"] == "timeout"
    assert "warning: no verdict from Flux" in err


def test_a_commit_that_deploys_nothing_is_not_waited_for(world: World, capsys: Any) -> None:
    sha = world.gitops.write("main", {"docs/x.md": "x\n"}, "docs")
    code, out, err = run(capsys, ["wait", "--gitops-repo", GITOPS, "--gitops-commit", sha, "--json"])
    assert code == 0 and json.loads(out)["rollout"] == "not-waited"
    assert "changed no image file" in err


def test_each_command_offers_the_wait_s_flags_only_where_they_apply(capsys: Any) -> None:
    for command, offered in (("deploy", True), ("rollback", True), ("wait", True), ("plan", False)):
        code, out, _ = run(capsys, [command, "--help"])
        assert code == 0
        assert ("--flux-context" in out, "--wait-timeout" in out, "--deployment" in out) == (offered,) * 3
        assert ("--wait " in out or "--wait\n" in out) == (command in ("deploy", "rollback")), command
    code, out, _ = run(capsys, ["wait", "--help"])
    assert "--gitops-commit" in out and "--pr" in out and "--dry-run" not in out
    code, out, _ = run(capsys, ["history", "--help"])
    assert "--flux-context" not in out and "--gitops-commit" not in out


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--flux-context", "helmrelease/*"], "--flux-context applies to the wait: add --wait"),
        (
            ["--wait", "--flux-context", "kustomization/{environment}"],
            "the only placeholders are {app} and {env}",
        ),
        (["--wait", "--wait-timeout", "0"], "--wait-timeout must be a number of seconds above 0"),
        (["--deployment"], "--deployment applies to the wait: add --wait"),
    ],
)
def test_bad_wait_flags_are_one_line_and_exit_2(
    world: World, capsys: Any, extra: list[str], message: str
) -> None:
    mark = world.mark()
    code, _, err = run(capsys, deploy_args(world, "api", "staging", "2.0.0", 2, *extra))
    assert code == 2 and message in err and len(err.strip().splitlines()) == 1
    assert world.mark() == mark  # nothing was asked of GitHub, nothing written


def test_bad_wait_commands_are_one_line_and_exit_2(world: World, capsys: Any, tmp_path: Any) -> None:
    for argv, message in (
        (["wait", "--gitops-repo", GITOPS, "--gitops-commit", "abc123"], "not a full commit sha"),
        (["wait", "--gitops-repo", GITOPS], "one of the arguments --pr --gitops-commit is required"),
        (["wait", "--gitops-commit", "a" * 40], "give --gitops-repo OWNER/REPO"),
        (["wait", "--gitops-repo", GITOPS, "--pr", "7"], "there is no pull request #7"),
    ):
        code, _, err = run(capsys, argv)
        assert code == 2 and message in err, (argv, err)
    code, _, err = run(
        capsys,
        ["deploy", "--gitops-dir", str(tmp_path), "--app", "a", "--env", "b", "--tag", "x:1", "--wait"],
    )
    assert code == 2 and "--wait needs --gitops-repo" in err


def test_rollback_wait_follows_the_rollback_s_pull_request(world: World, capsys: Any) -> None:
    world.deploy("api", "staging", "2.0.0", 2, guard=False)
    world.merge_pull(1)
    merge_on_first_poll(world)
    world.fake.flux_reconciles(world.gitops, "apps-staging", pull=2, after=1)
    argv = ["rollback", "--gitops-repo", GITOPS, "--base-branch", "main", "--app", "api", "--env", "staging",
            "--image", "registry.example.com/team/api", "--no-registry-check", "--wait", "--json"]  # fmt: skip
    code, out, err = run(capsys, argv)
    assert code == 0, err
    shown = json.loads(out)
    assert (shown["new_tag"], shown["pr_number"], shown["rollout"]) == ("1.0.0", 2, "success")
    assert shown["wait"]["targets"][0]["tag"] == "1.0.0"


def test_wait_for_a_gitops_commit_finishes_the_deployments_its_deploys_made(
    world: World, capsys: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from github.Auth import Token
    from github_world import SOURCE
    from wait_world import DEPLOY_TOKEN

    from autodeploy.github.client import Client
    from autodeploy.github.connection import ClientOptions
    from autodeploy.github.deployments import Deployments

    world.fake.add_token(DEPLOY_TOKEN, {"deployments": "write", "metadata": "read"}, repos={SOURCE})
    monkeypatch.setenv("AUTODEPLOY_DEPLOYMENT_TOKEN", DEPLOY_TOKEN)
    sha = two_deploys_in_one_commit(world)
    made = Deployments(
        Client(Token(DEPLOY_TOKEN), ClientOptions(api_url=world.fake.api_url), credentials_hint="x"), SOURCE
    )
    ids = [
        made.create(
            sha=world.commits[3], environment=f"{app}-staging", production=False, payload={}, description=app
        )
        for app in ("api", "web")
    ]
    world.fake.flux_reconciles(world.gitops, "apps-staging", on=sha, after=0)
    argv = ["wait", "--gitops-repo", GITOPS, "--base-branch", "main", "--gitops-commit", sha, "--deployment"]
    code, out, err = run(capsys, [*argv, "--deployment-environment", "{app}-{env}", "--json"])
    assert code == 0, err
    assert json.loads(out)["deployment-id"] == f"{ids[0]},{ids[1]}"
    for deployment in world.fake.deployments_of(SOURCE):
        assert [(s.state, s.description) for s in deployment.statuses] == [
            ("in_progress", "merged; waiting for Flux"),
            ("success", "reconciliation succeeded"),
        ]
    code, out, err = run(capsys, [*argv, "--json"])  # {env}: no deployment named staging was made
    assert code == 0 and json.loads(out)["deployment-id"] == ""
    assert "no deployment of " in err and " to staging to update" in err


def test_a_secondary_rate_limit_while_polling_is_waited_out_as_retry_after_says(world: World) -> None:
    from wait_world import WaitRun

    waiting_run = WaitRun(world.fake)
    outcome = waiting_run.deploy("api", "staging", "2.0.0")
    waiting_run.world.merge_pull(outcome.applied.pr_number if outcome.applied else 0)
    waiting_run.fake.fail(
        403,
        template="/repos/{owner}/{repo}/commits/{ref}/status",
        message="You have exceeded a secondary rate limit",
        headers={"Retry-After": "7"},
    )
    waiting_run.fake.flux_reconciles(waiting_run.gitops, "apps-staging", after=0)
    slept: list[float] = []
    watch = waiting_run.watch(sleep=slept.append)
    waited = waiting_run.wait_after(outcome, watch=watch)
    assert waited.result.value == "success" and slept == [7.0]


def test_deployment_flags_without_wait_are_refused(world: World, capsys: Any) -> None:
    argv = deploy_args(world, "api", "staging", "2.0.0", 2, "--environment-url", "https://{env}.example.com")
    code, _, err = run(capsys, argv)
    assert code == 2 and "--environment-url applies to --deployment only" in err
    assert world.gitops.open_pull("staging-release") is None


def test_since_reports_every_deploy_a_push_of_several_commits_brought(world: World, capsys: Any) -> None:
    """A push of two direct commits: the first deploys api, the second web. `--since` the push's
    `before` waits for both, and saves the first-parent lookup; all zeros (the push created the
    branch) falls back to the commit's own deploys."""
    before = world.gitops.refs["main"]
    for app, tag in (("api", "2.0.0"), ("web", "3.0.0")):
        path = f"{app}/staging/image.yaml"
        text = world.text("main", path)
        assert text is not None
        head = world.gitops.write("main", {path: with_block(text, app, tag, world.commits[3])}, f"deploy {app}")
    world.fake.flux_reconciles(world.gitops, "apps-staging", on=head, after=0)
    argv = ["wait", "--gitops-repo", GITOPS, "--gitops-commit", head, "--json"]
    mark = world.mark()
    code, out, err = run(capsys, [*argv, "--since", before.upper()])
    assert code == 0, err
    assert [t["app"] for t in json.loads(out)["wait"]["targets"]] == ["api", "web"]
    assert "GET /repos/{owner}/{repo}/git/commits/{commit_sha}" not in world.calls_since(mark)
    code, out, err = run(capsys, [*argv, "--since", "0" * 40])
    assert code == 0, err
    assert [t["app"] for t in json.loads(out)["wait"]["targets"]] == ["web"]


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--gitops-commit", "a" * 40, "--since", "abc"], "--since 'abc' is not a full commit sha"),
        (["--pr", "1", "--since", "a" * 40], "--since applies to --gitops-commit only"),
    ],
)
def test_bad_since_is_one_line(world: World, capsys: Any, extra: list[str], message: str) -> None:
    code, _, err = run(capsys, ["wait", "--gitops-repo", GITOPS, *extra])
    assert code == 2 and message in err and err.count("\n") == 1, err
