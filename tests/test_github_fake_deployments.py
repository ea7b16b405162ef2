"""The fake's deployments answer as GitHub documents them (docs.github.com/rest/deployments)."""

from __future__ import annotations

from typing import Any

import pytest
import requests
from github_fake import FakeGitHub
from github_fake_deployments import DEPLOYMENT_ROUTES

TOKEN = "ghs_fakedeploy0123456789abcdefghijklmnop"


@pytest.fixture
def app(github: FakeGitHub) -> Any:
    repo = github.create_repo("team/app", {"a.txt": "a\n"})
    github.create_repo("team/other", {"b.txt": "b\n"})
    github.add_token(TOKEN, {"deployments": "write", "metadata": "read"})
    return repo


def call(method: str, path: str, body: Any = None, token: str = TOKEN, **params: Any) -> requests.Response:
    return requests.request(
        method,
        f"https://api.github.com{path}",
        json=body,
        params=params or None,
        headers={"Authorization": f"token {token}", "Accept": "application/vnd.github+json"},
        timeout=5,
    )


def deploy(ref: str, repo: str = "team/app", **body: Any) -> requests.Response:
    return call("POST", f"/repos/{repo}/deployments", {"ref": ref, **body})


def test_defaults_production_and_newest_first_with_filters(github: FakeGitHub, app: Any) -> None:
    sha = app.refs["main"]
    first = deploy("main", auto_merge=False).json()
    assert (first["environment"], first["task"], first["production_environment"]) == (
        "production",
        "deploy",
        True,
    )
    assert first["sha"] == sha and first["ref"] == "main"
    staging = deploy(sha, environment="staging", task="deploy:x", payload={"k": "v"}).json()
    assert staging["production_environment"] is False and staging["payload"] == {"k": "v"}
    deploy(sha, environment="qa", production_environment=True)

    listed = call("GET", "/repos/team/app/deployments").json()
    assert [d["id"] for d in listed] == sorted((d["id"] for d in listed), reverse=True)
    assert len(listed) == 3
    assert [d["id"] for d in call("GET", "/repos/team/app/deployments", environment="staging").json()] == [
        staging["id"]
    ]
    assert (
        call("GET", "/repos/team/app/deployments", task="deploy:x", sha=sha).json()[0]["id"] == staging["id"]
    )
    assert call("GET", "/repos/team/app/deployments", ref="main").json()[0]["id"] == first["id"]
    assert len(call("GET", "/repos/team/app/deployments", per_page=2, page=2).json()) == 1
    assert call("GET", "/repos/team/other/deployments").json() == []  # each repository its own


def test_auto_merge_merges_the_default_branch_into_a_branch_behind_it(github: FakeGitHub, app: Any) -> None:
    app.write("topic", {"t.txt": "t\n"})
    app.write("main", {"a.txt": "a2\n"})
    merged = deploy("topic")
    assert merged.status_code == 202
    assert merged.json() == {"message": "Auto-merged main into topic on deployment."}
    assert github.deployments_of("team/app") == []  # nothing created: ask again
    assert app.refs["main"] in app.ancestors(app.refs["topic"])
    assert deploy("topic").status_code == 201
    assert deploy(app.refs["main"]).status_code == 201  # a commit: nothing to merge into

    app.write("clash", {"a.txt": "mine\n"})
    app.write("main", {"a.txt": "theirs\n"})
    assert deploy("clash").status_code == 409
    assert deploy("clash", auto_merge=False).status_code == 201


def test_required_contexts_as_github_reads_them(github: FakeGitHub, app: Any) -> None:
    sha = app.refs["main"]
    app.report_check(sha, "ci", "success")
    app.report_check(sha, "lint", "failure")
    refused = deploy(sha)  # omitted: every context on the commit must be success
    assert refused.status_code == 409
    assert refused.json()["message"] == f"Conflict: Commit status checks failed for {sha}."
    assert deploy(sha, required_contexts=["ci"]).status_code == 201
    assert deploy(sha, required_contexts=["ci", "e2e"]).status_code == 409  # not reported yet
    assert deploy(sha, required_contexts=[]).status_code == 201  # no check at all
    assert deploy("nowhere").status_code == 422


def test_statuses_states_descriptions_and_urls(github: FakeGitHub, app: Any) -> None:
    number = deploy(app.refs["main"], environment="staging").json()["id"]
    path = f"/repos/team/app/deployments/{number}/statuses"
    made = call("POST", path, {"state": "queued", "log_url": "https://x.example/pr/1"}).json()
    assert made["log_url"] == made["target_url"] == "https://x.example/pr/1"
    assert made["environment"] == "staging"
    assert call("POST", path, {"state": "in_progress", "description": "x" * 141}).status_code == 422
    assert call("POST", path, {"state": "in_progress", "description": "x" * 140}).status_code == 201
    github.validate = False  # a state GitHub's description refuses, sent anyway
    assert call("POST", path, {"state": "done"}).status_code == 422
    github.validate = True
    renamed = call("POST", path, {"state": "success", "environment": "stage-2"}).json()
    assert renamed["environment"] == "stage-2"
    assert [s["state"] for s in call("GET", path).json()] == ["success", "in_progress", "queued"]
    assert call("GET", "/repos/team/app/deployments", environment="stage-2").json()[0]["id"] == number
    assert call("GET", f"/repos/team/other/deployments/{number}/statuses").status_code == 404
    assert call("GET", "/repos/team/app/deployments/12345/statuses").status_code == 404


def test_auto_inactive_false_and_transient_environments(github: FakeGitHub, app: Any) -> None:
    sha = app.refs["main"]
    ids = [
        deploy(sha, environment="review", transient_environment=t).json()["id"] for t in (True, False, False)
    ]
    for number in ids[:2]:
        call("POST", f"/repos/team/app/deployments/{number}/statuses", {"state": "success"})
    call(
        "POST", f"/repos/team/app/deployments/{ids[2]}/statuses", {"state": "success", "auto_inactive": False}
    )
    assert [d.state for d in github.deployments_of("team/app")] == ["success", "success", "success"]
    call("POST", f"/repos/team/app/deployments/{ids[2]}/statuses", {"state": "success"})
    assert [d.state for d in github.deployments_of("team/app")] == ["success", "inactive", "success"]


def test_permissions(github: FakeGitHub, app: Any) -> None:
    github.add_token("ghs_none", {"contents": "write", "metadata": "read"})
    github.add_token("ghs_read", {"deployments": "read"})
    github.add_token("ghs_other", {"deployments": "write"}, repos={"team/other"})
    sha = app.refs["main"]
    assert call("GET", "/repos/team/app/deployments", token="ghs_none").status_code == 404
    assert call("GET", "/repos/team/app/deployments", token="ghs_read").status_code == 200
    denied = call("POST", "/repos/team/app/deployments", {"ref": sha}, token="ghs_read")
    assert denied.status_code == 403 and denied.json()["message"] == "Resource not accessible by integration"
    assert call("POST", "/repos/team/app/deployments", {"ref": sha}, token="ghs_other").status_code == 404
    assert call("GET", "/repos/team/app/deployments", token="ghs_bogus").status_code == 401
    assert github.deployments_of("team/app") == []


def test_every_deployment_route_is_answered_and_checked(github: FakeGitHub, app: Any) -> None:
    number = deploy(app.refs["main"]).json()["id"]
    call("GET", "/repos/team/app/deployments")
    call("POST", f"/repos/team/app/deployments/{number}/statuses", {"state": "success"})
    call("GET", f"/repos/team/app/deployments/{number}/statuses")
    assert set(DEPLOYMENT_ROUTES) <= {(c.method, c.template) for c in github.calls}
    github.fail(503, method="GET", template="/repos/{owner}/{repo}/deployments")
    assert call("GET", "/repos/team/app/deployments").status_code == 503  # faults apply here too
    assert not github.problems
