"""The fake speaks GitHub's published OpenAPI description: a tour through every route autodeploy
uses, with every request and answer checked against tests/openapi/github-rest-subset.json."""

from __future__ import annotations

import copy
import importlib.util
import json
from pathlib import Path

import github_openapi as oas
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from github_fake import NEEDS, FakeGitHub, Pull
from github_world import GITOPS, World, image_yaml, with_block

from autodeploy.github import auth
from autodeploy.github.api import RepoApi
from autodeploy.github.connection import ClientOptions
from autodeploy.github.files import GitHubFileHistory
from autodeploy.github.fleet import GitHubFleet
from autodeploy.options import PullOptions

EXTRACT = Path(__file__).resolve().parent / "openapi" / "extract.py"


def tour(world: World) -> None:
    """Every route autodeploy calls, at least once, errors included."""
    fake, gitops = world.fake, world.gitops
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    public = (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )
    fake.add_app(9, public, {GITOPS: 90})
    app = auth.client_for(
        auth.Credentials("app", app=auth.App("9", pem)), GITOPS, ClientOptions(api_url=fake.api_url)
    )

    gitops.collaborators.add("alice")
    world.deploy(
        "api",
        "production",
        "1.1.0",
        2,
        repo=world.repo(
            base=None, client=app, options=PullOptions(reviewers=("alice",), assignees=("alice",))
        ),
    )
    auth.revoke(app)  # DELETE /installation/token, the App's token revoked once the deploy is done
    world.deploy("web", "production", "2.0.0", 3)  # update: list, compare, patch
    world.deploy("web", "production", "2.0.0", 3)  # no-op
    path = "api/production/image.yaml"
    gitops.write(
        "main", {path: with_block(world.text("main", path) or "", "api", "1.4.0", world.commits[4])}, "hotfix"
    )
    world.deploy("api", "production", "1.5.0", 5)  # stale: merges (409), git data merge, 409 on PUT
    from autodeploy.imageref import parse
    from autodeploy.plan import DeployRequest, Target

    targets = tuple(
        Target(a, "staging", parse(f"r.example.com/t/{a}:3.0.0"), f"sha256:{'a' * 64}")
        for a in ("api", "web")
    )
    from autodeploy import pipeline

    pipeline.deploy(
        DeployRequest(targets, world.commits[3], "team/api"), world.repo()
    )  # trees, commits, create ref
    pipeline.deploy(DeployRequest(targets, world.commits[4], "team/api"), world.repo())  # patch ref
    gitops.write("main", {"api/preview/kustomization.yaml": "patches: [{path: image.yaml}]\n"})
    world.deploy("api", "preview", "p-1", 3)  # scaffold: a directory listing
    gitops.mergeable_now = True
    world.deploy("api", "development", "dev-1", 3)  # auto-merge refused as clean: merge now
    gitops.mergeable_now = False
    world.deploy("web", "development", "dev-1", 3)  # auto-merge through GraphQL
    list(GitHubFileHistory(RepoApi(world.client(), GITOPS), "main").versions(path, limit=3))
    GitHubFleet(RepoApi(world.client(), GITOPS), "main").read_fleet("{app}/{env}/image.yaml", paths=None)
    gitops.write("main", {"web/development/image.yaml": image_yaml("web", "9.9.9", world.commits[6])})
    world.deploy("web", "development", "3.0.1", 2)  # the guard skips it: the base runs a newer commit

    api = RepoApi(world.client(), GITOPS)
    fake.fail(502, method="GET", template="/repos/{owner}/{repo}/git/ref/{ref}")
    main = api.ref("main")
    assert main is not None
    fake.fail(
        429, method="GET", template="/repos/{owner}/{repo}/contents/{path}", headers={"retry-after": "1"}
    )
    api.read_file(path, "main")
    assert api.create_ref("scratch", main) and not api.create_ref(
        "scratch", main
    )  # 422 Reference already exists
    assert api.merge("scratch", "main", "nothing to merge") == ("nothing", None)  # 204
    assert not api.update_ref("prod-release", main)  # 422 Update is not a fast forward


def test_every_route_and_answer_matches_githubs_description(github: FakeGitHub) -> None:
    world = World(github)
    tour(world)

    used = {(c.method, c.template) for c in github.calls}
    assert ("?", "?") not in used and all(t != "?" for _, t in used)
    assert set(NEEDS) <= used, f"not exercised: {sorted(set(NEEDS) - used)}"
    assert ("POST", "/graphql") in used
    statuses = {c.status for c in github.calls}
    assert {200, 201, 204, 404, 409, 422, 429, 502} <= statuses
    assert not github.problems, "\n".join(github.problems[:20])


def test_every_request_has_a_documented_operation() -> None:
    documented = {(m.upper(), p) for p, ops in oas.spec()["paths"].items() for m in ops}
    assert set(NEEDS) <= documented


def test_the_checks_are_not_vacuous() -> None:
    put = "/repos/{owner}/{repo}/contents/{path}"
    assert oas.check_request("PUT", put, {}, {"content": "eA=="}) == [
        "(root): 'message' is a required property"
    ]
    assert oas.check_request("GET", "/repos/{owner}/{repo}/pulls", {"state": "opened"}, None)
    assert oas.check_request("GET", "/repos/{owner}/{repo}/pulls", {"colour": "red"}, None)
    fake = FakeGitHub()
    repo = fake.create_repo(GITOPS, {"a.yaml": "a: 1\n"})
    answer = fake._pull_json(
        repo, Pull(1, "PR_1", "t", "", "main", "main"), "/repos/{owner}/{repo}/pulls", "POST", 201
    )
    broken = copy.deepcopy(answer)
    del broken["head"]["sha"]
    assert oas.check_response("POST", "/repos/{owner}/{repo}/pulls", 201, answer) == []
    assert oas.check_response("POST", "/repos/{owner}/{repo}/pulls", 201, broken)
    assert oas.check_response("POST", "/repos/{owner}/{repo}/pulls", 409, {"message": "x"})  # not documented


def test_the_vendored_subset_is_what_extract_keeps() -> None:
    spec = importlib.util.spec_from_file_location("extract", EXTRACT)
    assert spec and spec.loader
    extract = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(extract)
    subset = json.loads(oas.SUBSET.read_text())

    assert subset["source"] == f"@octokit/openapi@{extract.VERSION} generated/api.github.com.json"
    assert {p: sorted(ops) for p, ops in subset["paths"].items()} == {
        p: sorted(m) for p, m in extract.OPERATIONS.items()
    }
    assert '"nullable":' not in json.dumps(subset) and '"oneOf":' not in json.dumps(subset)


@pytest.mark.parametrize("template", sorted({t for _, t in NEEDS}))
def test_each_route_of_the_fake_matches_its_template(template: str) -> None:
    concrete = (
        template.replace("{owner}", "team").replace("{repo}", "gitops").replace("{path}", "a/b/image.yaml")
    )
    concrete = concrete.replace("{ref}", "heads/feature/x").replace("{basehead}", "main...feature/x")
    concrete = (
        concrete.replace("{pull_number}", "3")
        .replace("{issue_number}", "3")
        .replace("{commit_sha}", "a" * 40)
    )
    concrete = concrete.replace("{installation_id}", "77")
    assert FakeGitHub()._route(concrete)[0] == template
