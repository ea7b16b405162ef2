"""Deploys through the GitHub API against the fake: first deploy, update, no-op, and what each costs.

Every request is counted, the downgrade guard's compare in the source repo included.
"""

from __future__ import annotations

from dataclasses import replace

import pytest
from github_world import GITOPS, SOURCE, World, digest, image_yaml, push_event

from autodeploy import pipeline
from autodeploy.github.prbody import State, read_state, write_body
from autodeploy.imagefile import read_block
from autodeploy.options import PullOptions
from autodeploy.plan import Facts, Settings, plan_deploy

CONTENTS = "GET /repos/{owner}/{repo}/contents/{path}"
PUT = "PUT /repos/{owner}/{repo}/contents/{path}"
COMPARE = "GET /repos/{owner}/{repo}/compare/{basehead}"
PULLS = "GET /repos/{owner}/{repo}/pulls"


@pytest.fixture
def world(github) -> World:
    return World(github)


def test_first_deploy_opens_a_release_pull_request_in_eight_requests(world: World) -> None:
    mark = world.mark()
    outcome = world.deploy("api", "production", "1.1.0", 2)

    assert world.calls_since(mark) == [
        PULLS,  # none open from prod-release: the branch is taken not to exist
        "GET /repos/{owner}/{repo}/git/ref/{ref}",  # main
        CONTENTS,  # the file at main's commit
        COMPARE,  # the downgrade guard, in team/api
        "POST /repos/{owner}/{repo}/git/refs",
        PUT,
        "POST /repos/{owner}/{repo}/pulls",
        "POST /repos/{owner}/{repo}/issues/{issue_number}/labels",
    ]
    applied = outcome.applied
    assert applied is not None and applied.pr_created and applied.branch == "prod-release"
    pull = world.gitops.pulls[applied.pr_number]
    assert (pull.title, pull.base, pull.labels, pull.auto_merge) == (
        "Production release",
        "main",
        ["auto-deploy"],
        None,
    )
    block = read_block(world.text("prod-release", "api/production/image.yaml") or "")
    assert block and (block.tag, block.digest, block.commit) == ("1.1.0", digest("1.1.0"), world.commits[2])
    assert world.text("main", "api/production/image.yaml") == image_yaml("api", "1.0.0", world.commits[1])
    head = world.gitops.commits[world.gitops.refs["prod-release"]]
    assert head.message == "deploy(api): production 1.0.0 -> 1.1.0"
    assert head.parents == (world.gitops.refs["main"],)


def test_the_body_tables_every_deploy_on_the_branch_with_links(world: World) -> None:
    world.deploy("api", "production", "1.1.0", 2)
    world.deploy("web", "production", "2.0.0", 3)
    body = world.gitops.pulls[1].body

    assert "| `api` | `production` | `1.0.0` → **`1.1.0`** | `sha256:" in body
    assert "| `web` | `production` | `1.0.0` → **`2.0.0`** |" in body
    assert f"(https://github.com/{SOURCE}/commit/{world.commits[2]})" in body
    assert f"(https://github.com/{SOURCE}/compare/{world.commits[1]}...{world.commits[3]})" in body
    state = read_state(body)
    assert state is not None and state.head == world.gitops.refs["prod-release"]


def test_update_of_an_open_pull_request(world: World) -> None:
    world.deploy("api", "production", "1.1.0", 2)
    mark = world.mark()
    outcome = world.deploy("api", "production", "1.2.0", 3)

    assert world.calls_since(mark) == [
        PULLS,  # the open pull request, whose state describes prod-release
        CONTENTS,  # the file on main: unchanged since prod-release took it, so not stale
        COMPARE,  # the downgrade guard, in team/api
        PUT,  # its sha is the blob of the file derived for prod-release
        "PATCH /repos/{owner}/{repo}/pulls/{pull_number}",
    ]
    assert world.fake.calls[mark + 1].query == {"ref": "main"}
    assert outcome.applied and not outcome.applied.pr_created and outcome.applied.pr_number == 1
    assert len(world.gitops.pulls) == 1
    body = world.gitops.pulls[1].body
    assert "`1.0.0` → **`1.2.0`**" in body and "1.1.0" not in body.split("<!-- autodeploy:state")[0]


def test_update_costs_four_when_the_push_event_answers_the_guard(world: World, tmp_path) -> None:
    world.deploy("api", "production", "1.1.0", 2)
    push = push_event(
        tmp_path, before=world.commits[2], after=world.commits[3], commits=[{"id": world.commits[3]}]
    )
    mark = world.mark()
    request = world.request("api", "production", "1.2.0", 3)
    pipeline.deploy(request, world.repo(), history=world.history(push))

    assert world.calls_since(mark) == [
        PULLS,
        CONTENTS,
        PUT,
        "PATCH /repos/{owner}/{repo}/pulls/{pull_number}",
    ]


def test_the_same_deploy_again_is_a_no_op_in_two_requests(world: World) -> None:
    world.deploy("api", "production", "1.1.0", 2)
    head = world.gitops.refs["prod-release"]
    mark = world.mark()
    outcome = world.deploy("api", "production", "1.1.0", 2)

    assert world.calls_since(mark) == [PULLS, CONTENTS]  # the pull request, and the file on main
    assert not outcome.changed and not outcome.plan.changed
    assert outcome.applied == pipeline.Applied(
        None, "prod-release", 1, "https://github.com/team/gitops/pull/1"
    )
    assert world.gitops.refs["prod-release"] == head and len(world.gitops.pulls) == 1


def test_a_no_op_against_the_base_costs_three(world: World) -> None:
    world.gitops.write("main", {"api/development/image.yaml": image_yaml("api", "1.1.0", world.commits[2])})
    mark = world.mark()
    outcome = world.deploy("api", "development", "1.1.0", 2)

    assert world.calls_since(mark) == [PULLS, "GET /repos/{owner}/{repo}/git/ref/{ref}", CONTENTS]
    assert not outcome.changed and "update-development-api" not in world.gitops.refs


@pytest.mark.parametrize("filler", [10, 10_000])
def test_request_counts_do_not_grow_with_the_repository(github, filler: int) -> None:
    world = World(github, filler=filler)
    counts = []
    for tag, commit in (("1.1.0", 2), ("1.2.0", 3), ("1.2.0", 3)):
        mark = world.mark()
        world.deploy("api", "production", tag, commit)
        counts.append(len(world.calls_since(mark)))
    assert counts == [8, 5, 2]


def test_development_gets_auto_merge_and_reviewers(world: World) -> None:
    world.gitops.collaborators |= {"alice", "platform"}
    repo = world.repo(options=PullOptions(reviewers=("alice", "team/platform"), merge_method="squash"))
    outcome = world.deploy("api", "development", "dev-1234567", 4, repo=repo)

    assert (
        outcome.applied and outcome.applied.auto_merge and outcome.applied.branch == "update-development-api"
    )
    pull = world.gitops.pulls[outcome.applied.pr_number]
    assert pull.title == "chore: Update api image tag in development"
    assert pull.auto_merge and pull.auto_merge["merge_method"] == "squash"
    assert pull.reviewers == ["alice", "platform"]


def test_auto_merge_on_a_pull_request_with_nothing_to_wait_for_merges_it(world: World) -> None:
    world.gitops.mergeable_now = True
    outcome = world.deploy("api", "development", "dev-1234567", 4)

    assert outcome.applied and outcome.applied.auto_merge
    assert world.gitops.pulls[outcome.applied.pr_number].merged
    assert read_block(world.text("main", "api/development/image.yaml") or "").tag == "dev-1234567"


def test_auto_merge_refused_is_a_warning_not_a_failure(world: World, capsys) -> None:
    world.gitops.allow_auto_merge = False
    outcome = world.deploy("api", "development", "dev-1234567", 4)

    assert outcome.applied and not outcome.applied.auto_merge and outcome.applied.pr_number
    assert "auto-merge is not on: Pull request Auto merge is not allowed" in capsys.readouterr().err


def test_refused_reviewers_are_a_warning(world: World, capsys) -> None:
    outcome = world.deploy(
        "api", "staging", "1.1.0", 2, repo=world.repo(options=PullOptions(reviewers=("mallory",)))
    )

    assert outcome.applied and outcome.applied.pr_created
    assert (
        "did not request the reviews: Reviews may only be requested from collaborators"
        in capsys.readouterr().err
    )


def test_several_targets_make_one_commit_through_the_git_data_api(world: World) -> None:
    from autodeploy.imageref import parse
    from autodeploy.plan import DeployRequest, Target

    targets = tuple(
        Target(app, "staging", parse(f"registry.example.com/team/{app}:1.3.0"), digest(f"{app}-1.3.0"))
        for app in ("api", "web")
    )
    request = DeployRequest(targets, world.commits[3], SOURCE)
    mark = world.mark()
    outcome = pipeline.deploy(request, world.repo(), history=world.history())

    calls = world.calls_since(mark)
    assert "POST /repos/{owner}/{repo}/git/trees" in calls and PUT not in calls
    head = world.gitops.commits[world.gitops.refs["staging-release"]]
    assert head.parents == (world.gitops.refs["main"],)
    assert head.message.startswith("deploy: 2 images")
    for app in ("api", "web"):
        assert read_block(world.text("staging-release", f"{app}/staging/image.yaml") or "").tag == "1.3.0"
    assert outcome.applied and "`web` | `staging`" in world.gitops.pulls[outcome.applied.pr_number].body


def test_a_missing_image_file_is_scaffolded_from_the_release(world: World) -> None:
    world.gitops.write(
        "main", {"api/preview/kustomization.yaml": "resources: [../base]\npatches:\n  - path: image.yaml\n"}
    )
    outcome = world.deploy("api", "preview", "pr-7", 3)

    text = world.text("update-preview-api", "api/preview/image.yaml")
    assert text is not None and "name: api" in text and read_block(text).tag == "pr-7"
    assert outcome.applied and outcome.applied.pr_created


def test_a_missing_environment_lists_the_ones_there_are(world: World) -> None:
    from autodeploy.errors import InputError

    with pytest.raises(
        InputError, match="the directories in api/ are: base, development, production, staging"
    ):
        world.deploy("api", "qa", "1.0.1", 3)


def test_dry_run_reads_and_writes_nothing(world: World) -> None:
    world.deploy("api", "production", "1.1.0", 2)
    before = (dict(world.gitops.refs), len(world.gitops.commits), world.gitops.pulls[1].body)
    mark = world.mark()
    outcome = world.deploy("api", "production", "1.2.0", 3, dry_run=True)

    assert all(call.startswith("GET ") for call in world.calls_since(mark))
    assert (dict(world.gitops.refs), len(world.gitops.commits), world.gitops.pulls[1].body) == before
    assert outcome.dry_run and "-        tag: 1.1.0" in outcome.plan.diff()
    assert outcome.preview == (
        "would commit to prod-release in team/gitops (through the contents API, signed by GitHub): "
        "deploy(api): production 1.1.0 -> 1.2.0",
        "would update pull request #1 https://github.com/team/gitops/pull/1 (its table of deploys)",
    )


def test_dry_run_of_a_first_deploy_says_which_pull_request_it_would_open(world: World) -> None:
    outcome = world.deploy("api", "development", "dev-1", 3, dry_run=True)

    assert outcome.preview[0].startswith("would create branch update-development-api from main @ ")
    assert outcome.preview[-1] == (
        "would open pull request 'chore: Update api image tag in development' from update-development-api into main "
        "in team/gitops with labels auto-deploy; auto-merge (merge)"
    )
    assert "update-development-api" not in world.gitops.refs and not world.gitops.pulls


def test_a_rollback_shows_its_reason(world: World) -> None:
    world.deploy("api", "production", "1.1.0", 2)
    world.gitops.write("main", {"api/production/image.yaml": image_yaml("api", "1.4.0", world.commits[5])})
    outcome = world.deploy(
        "api",
        "production",
        "1.3.0",
        4,
        guard=False,
        rollback=True,
        allow_downgrade=True,
        reason="1.4.0 leaks memory",
    )

    assert outcome.applied and outcome.applied.branch == "rollback-production-api"
    pull = world.gitops.pulls[outcome.applied.pr_number]
    assert pull.title == "Rollback api in production to 1.3.0"
    assert (
        f"**Rollback** of `api` in `production` from `1.4.0` (`{digest('1.4.0')[:19]}`) to `1.3.0` "
        f"(`{digest('1.3.0')[:19]}`): 1.4.0 leaks memory"
    ) in pull.body
    assert (
        "Rollback: 1.4.0 leaks memory"
        in world.gitops.commits[world.gitops.refs["rollback-production-api"]].message
    )


def test_notes_people_add_to_the_body_are_kept(world: World) -> None:
    world.deploy("api", "production", "1.1.0", 2)
    world.gitops.pulls[1].body = "Ship after the freeze.\n\n" + world.gitops.pulls[1].body
    world.deploy("web", "production", "2.0.0", 3)

    assert world.gitops.pulls[1].body.startswith("Ship after the freeze.\n\n<!-- autodeploy:begin -->")


def test_a_body_written_by_todays_action_is_taken_over(world: World) -> None:
    world.gitops.write(
        "prod-release", {"api/production/image.yaml": image_yaml("api", "1.1.0", world.commits[2])}
    )
    from github_fake import Pull

    world.gitops.pulls[1] = Pull(
        1, "PR_1", "Production release", "Production release", "prod-release", "main", labels=["auto-deploy"]
    )
    outcome = world.deploy("web", "production", "2.0.0", 3)

    body = world.gitops.pulls[1].body
    assert outcome.applied and outcome.applied.pr_number == 1
    assert body.startswith("Production release\n\n<!-- autodeploy:begin -->")
    assert "`api` | `production` | `1.0.0` → **`1.1.0`**" in body and "`web` | `production`" in body


def test_the_base_branch_defaults_to_the_repositorys_default(github) -> None:
    world = World(github)
    mark = world.mark()
    outcome = world.deploy("api", "staging", "1.1.0", 2, repo=world.repo(base=None))

    assert "GET /repos/{owner}/{repo}" in world.calls_since(mark)
    assert outcome.applied and world.gitops.pulls[outcome.applied.pr_number].base == "main"


def test_a_settings_path_template_is_honoured(world: World) -> None:
    world.gitops.write(
        "main", {"deploy/api/production/image.yaml": image_yaml("api", "1.0.0", world.commits[1])}
    )
    settings = Settings(path_template="deploy/{app}/{env}/image.yaml")
    outcome = world.deploy("api", "production", "1.1.0", 2, settings=settings)

    assert (
        outcome.applied
        and "deploy/api/production/image.yaml" in world.gitops.commits[world.gitops.refs["prod-release"]].tree
    )
    assert "`api` | `production`" in world.gitops.pulls[1].body


def test_settle_opens_the_pull_request_a_failed_run_did_not(world: World) -> None:
    """A run committed, then died before opening its pull request: the same deploy again finishes it."""
    world.gitops.write(
        "prod-release", {"api/production/image.yaml": world.text("main", "api/production/image.yaml") or ""}
    )
    request = world.request("api", "production", "1.1.0", 2)
    world.fake.fail(502, method="POST", template="/repos/{owner}/{repo}/pulls", times=5)
    from autodeploy.errors import GitHubError

    with pytest.raises(GitHubError, match="GitHub kept failing"):
        pipeline.deploy(request, world.repo(), history=world.history())
    assert not world.gitops.pulls

    repo = world.repo()
    outcome = pipeline.deploy(request, repo, history=world.history())  # the same deploy again
    applied = outcome.applied
    assert not outcome.plan.changed and not outcome.changed
    assert applied and applied.pr_created and world.gitops.pulls[applied.pr_number].head == "prod-release"
    assert "`1.0.0` → **`1.1.0`**" in world.gitops.pulls[applied.pr_number].body
    assert repo.settle(outcome.plan, request, outcome.snapshot) == pipeline.Applied(
        None, "prod-release", applied.pr_number, applied.pr_url, False, False
    )


def test_settle_leaves_a_merged_leftover_branch_alone(world: World) -> None:
    world.deploy("api", "production", "1.1.0", 2)
    world.gitops.refs["main"] = world.gitops.refs["prod-release"]  # merged (fast-forward)
    world.gitops.pulls[1].state = "closed"
    request = world.request("api", "production", "1.1.0", 2)
    repo = world.repo()
    outcome = pipeline.deploy(request, repo, history=world.history())
    mark = world.mark()

    assert outcome.applied is None and not outcome.snapshot.on_branch  # no pull request: main is read
    assert repo.settle(outcome.plan, request, outcome.snapshot) is None
    assert world.calls_since(mark) == []

    snapshot = repo.read(["api/production/image.yaml"], branch="prod-release", exact=True)
    plan = plan_deploy(request, Facts(snapshot.files))
    mark = world.mark()
    assert snapshot.on_branch and not plan.changed
    assert repo.settle(plan, request, snapshot) is None
    assert len(world.calls_since(mark)) == 2  # main's commit, the file there (the read listed the pulls)
    assert GITOPS in world.fake.repos and len(world.gitops.pulls) == 1


def test_a_bare_not_found_for_a_missing_branch_costs_one_more_request(world: World) -> None:
    world.gitops.plain_missing_ref = True
    mark = world.mark()
    outcome = world.deploy("api", "production", "1.1.0", 2, dry_run=True)  # a dry run reads the branch

    ref = "GET /repos/{owner}/{repo}/git/ref/{ref}"
    assert world.calls_since(mark) == [PULLS, CONTENTS, ref, ref, CONTENTS, COMPARE]  # prod-release? main
    assert outcome.preview[0].startswith("would create branch prod-release from main @ ")


def test_a_branch_left_over_from_a_merged_pull_request_is_fast_forwarded_not_read(world: World) -> None:
    world.deploy("api", "production", "1.1.0", 2)
    world.merge_pull(1)  # a merge commit; GitHub keeps the branch unless told otherwise
    assert world.gitops.refs["main"] != world.gitops.refs["prod-release"]
    mark = world.mark()
    outcome = world.deploy("api", "production", "1.2.0", 3)

    assert world.calls_since(mark) == [
        PULLS,
        "GET /repos/{owner}/{repo}/git/ref/{ref}",
        CONTENTS,
        COMPARE,
        "POST /repos/{owner}/{repo}/git/refs",  # 422: it exists
        "PATCH /repos/{owner}/{repo}/git/refs/{ref}",  # main holds all of it: a fast-forward
        PUT,
        "POST /repos/{owner}/{repo}/pulls",
        "POST /repos/{owner}/{repo}/issues/{issue_number}/labels",
    ]
    assert outcome.applied and outcome.applied.pr_created and outcome.applied.pr_number == 2
    head = world.gitops.commits[world.gitops.refs["prod-release"]]
    assert head.parents == (world.gitops.refs["main"],)
    assert "`1.1.0` → **`1.2.0`**" in world.gitops.pulls[2].body


def test_a_branch_with_work_its_base_lacks_is_never_moved_back(world: World) -> None:
    world.deploy("api", "production", "1.1.0", 2)
    world.gitops.pulls[1].state = "closed"  # closed unmerged: the branch keeps 1.1.0
    held = world.gitops.refs["prod-release"]
    outcome = world.deploy("web", "production", "2.1.0", 3)

    assert held in world.gitops.ancestors(world.gitops.refs["prod-release"])
    assert read_block(world.text("prod-release", "api/production/image.yaml") or "").tag == "1.1.0"
    assert outcome.applied and outcome.applied.pr_created and outcome.applied.pr_number == 2


def test_a_release_of_hundreds_of_apps_keeps_its_body_within_githubs_limit(world: World) -> None:
    world.deploy("api", "production", "1.1.0", 2)
    pull = world.gitops.pulls[1]
    state = read_state(pull.body)
    assert state is not None
    others = tuple(
        replace(state.rows[0], path=f"app{n:03}/production/image.yaml", app=f"app{n:03}") for n in range(300)
    )
    pull.body = write_body(pull.body, State(state.head, state.rows + others), limit=10**9)  # as if it fit
    outcome = world.deploy("web", "production", "2.0.0", 3)

    body = world.gitops.pulls[1].body
    assert outcome.applied and outcome.applied.pr_number == 1
    assert len(body) <= 65_536 and "more (the table is longer than a pull request body holds)" in body
