"""Each GitHub failure is one line that says what to do; rate limits and outages are waited out
within bounds, with an injected sleep and clock (no test sleeps for real)."""

from __future__ import annotations

from datetime import UTC, datetime
from email.utils import format_datetime

import pytest
from github_fake import READ_ONLY, WRITE_ALL
from github_world import GITOPS, World

from autodeploy.errors import GitHubError, InputError
from autodeploy.github.api import RepoApi
from autodeploy.github.repo import GitHubRepo

CONTENTS = "/repos/{owner}/{repo}/contents/{path}"


@pytest.fixture
def world(github) -> World:
    return World(github)


class Clock:
    def __init__(self) -> None:
        self.now = 1_800_000_000.0
        self.slept: list[float] = []

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds

    def time(self) -> float:
        return self.now


def timed(world: World, **options: object) -> tuple[GitHubRepo, Clock]:
    clock = Clock()
    world.fake.clock = clock.time
    client = world.client(sleep=clock.sleep, clock=clock.time, monotonic=clock.time, **options)
    return GitHubRepo(RepoApi(client, GITOPS), base="main"), clock


def one_line(exc: pytest.ExceptionInfo[BaseException]) -> str:
    message = str(exc.value)
    assert "\n" not in message
    return message


def test_bad_credentials(world: World) -> None:
    with pytest.raises(GitHubError) as exc:
        world.deploy(
            "api",
            "production",
            "1.1.0",
            2,
            repo=GitHubRepo(RepoApi(world.client("wrong"), GITOPS), base="main"),
        )
    assert "GitHub rejected the credentials (401 Bad credentials); check the token" in one_line(exc)


def test_a_token_without_contents_write(world: World) -> None:
    world.fake.add_token("reader", READ_ONLY)
    repo = GitHubRepo(RepoApi(world.client("reader"), GITOPS), base="main")
    with pytest.raises(GitHubError) as exc:
        world.deploy("api", "production", "1.1.0", 2, repo=repo, guard=False)
    message = one_line(exc)
    assert "creating branch prod-release in team/gitops: the token is not allowed to do this" in message
    assert "(403 Resource not accessible by integration); give it `contents: write`" in message
    assert "prod-release" not in world.gitops.refs


def test_a_token_without_pull_requests_write(world: World) -> None:
    world.fake.add_token("no-pulls", {**WRITE_ALL, "pull_requests": "read", "issues": "read"})
    repo = GitHubRepo(RepoApi(world.client("no-pulls"), GITOPS), base="main")
    with pytest.raises(
        GitHubError,
        match=r"opening a pull request .*403 Resource not accessible by integration.*`pull-requests: write`",
    ):
        world.deploy("api", "production", "1.1.0", 2, repo=repo, guard=False)


def test_an_app_installation_without_write_is_refused_before_writing(world: World) -> None:
    client = world.client()
    client.granted = {"contents": "read", "pull_requests": "write"}
    with pytest.raises(GitHubError, match=r"lacks contents: write; .*nothing was written"):
        world.deploy(
            "api",
            "production",
            "1.1.0",
            2,
            repo=GitHubRepo(RepoApi(client, GITOPS), base="main"),
            guard=False,
        )
    assert "prod-release" not in world.gitops.refs


def test_a_repository_that_does_not_exist(world: World) -> None:
    repo = GitHubRepo(RepoApi(world.client(), "team/nope"), base="main")
    with pytest.raises(InputError) as exc:
        world.deploy("api", "production", "1.1.0", 2, repo=repo)
    assert (
        "the repository team/nope does not exist or the token cannot see it; check --gitops-repo"
        in one_line(exc)
    )


def test_a_base_branch_that_does_not_exist(world: World) -> None:
    with pytest.raises(InputError) as exc:
        world.deploy("api", "production", "1.1.0", 2, repo=world.repo(base="develop"))
    assert one_line(exc) == "the base branch develop does not exist in team/gitops; check --base-branch"


def test_branch_protection_refusing_a_commit(world: World) -> None:
    world.deploy("api", "production", "1.1.0", 2)
    world.gitops.protected.add("prod-release")
    mark = world.mark()
    with pytest.raises(GitHubError) as exc:
        world.deploy("api", "production", "1.2.0", 3)
    message = one_line(exc)
    assert (
        "committing api/production/image.yaml to prod-release in team/gitops: a branch protection rule or ruleset"
        in message
    )
    assert (
        "exempt autodeploy's token or App from it, or pick a branch it does not cover with --branch"
        in message
    )
    assert (
        world.calls_since(mark).count("PUT /repos/{owner}/{repo}/contents/{path}") == 1
    )  # not retried as a race


def test_a_ruleset_refusing_to_create_the_branch(world: World) -> None:
    world.gitops.creation_restricted = True
    with pytest.raises(
        GitHubError, match=r"creating branch prod-release .*ruleset refused the write .*Cannot create ref"
    ):
        world.deploy("api", "production", "1.1.0", 2)


def primary_rate_limit(world: World, reset: str) -> None:
    """The next contents request answers 403: the primary rate limit is used up until `reset`."""
    world.fake.fail(
        403,
        template=CONTENTS,
        message="API rate limit exceeded for installation ID 1.",
        headers={"x-ratelimit-remaining": "0", "x-ratelimit-reset": reset},
    )


def test_the_primary_rate_limit_is_waited_out(world: World) -> None:
    repo, clock = timed(world)
    primary_rate_limit(world, str(int(clock.now) + 42))
    outcome = world.deploy("api", "production", "1.1.0", 2, repo=repo)

    assert outcome.applied and clock.slept == [43.0]


@pytest.mark.parametrize("status", [403, 429])
def test_a_secondary_rate_limit_is_waited_out(world: World, status: int) -> None:
    repo, clock = timed(world)
    world.fake.fail(
        status,
        method="PUT",
        message="You have exceeded a secondary rate limit. Please wait a few minutes before you try again.",
        headers={"retry-after": "17"},
    )
    outcome = world.deploy("api", "production", "1.1.0", 2, repo=repo)

    assert outcome.applied and clock.slept == [17.0]


def test_a_secondary_rate_limit_without_retry_after_waits_a_minute(world: World) -> None:
    repo, clock = timed(world)
    world.fake.fail(
        403,
        method="POST",
        template="/repos/{owner}/{repo}/pulls",
        message="You have exceeded a secondary rate limit. Please wait a few minutes before you try again.",
    )
    outcome = world.deploy("api", "production", "1.1.0", 2, repo=repo)

    assert outcome.applied and outcome.applied.pr_created and clock.slept == [60.0]


def test_a_rate_limit_longer_than_the_bound_fails_with_when_to_come_back(world: World) -> None:
    repo, clock = timed(world, max_wait=120.0)
    world.fake.fail(
        403,
        template=CONTENTS,
        message="API rate limit exceeded for user ID 1.",
        headers={"x-ratelimit-remaining": "0", "x-ratelimit-reset": str(int(clock.now) + 3000)},
    )
    with pytest.raises(GitHubError) as exc:
        world.deploy("api", "production", "1.1.0", 2, repo=repo)
    message = one_line(exc)
    assert "GitHub's primary rate limit for these credentials is reached until about 08:50:01 UTC" in message
    assert "longer than autodeploy waits (120 s in all, --github-max-wait); run again then" in message
    assert clock.slept == []


def _http_date(epoch: float) -> str:
    return format_datetime(datetime.fromtimestamp(epoch, UTC), usegmt=True)


@pytest.mark.parametrize("value", ["inf", "1e308", "99999999999999999999", "-5", "soon", "HTTP-DATE"])
@pytest.mark.parametrize("status", [429, 503])
def test_a_hostile_retry_after_gives_a_bounded_wait(world: World, status: int, value: str) -> None:
    repo, clock = timed(world)
    header = _http_date(clock.now + 30) if value == "HTTP-DATE" else value
    message = "You have exceeded a secondary rate limit." if status == 429 else "Service Unavailable"
    world.fake.fail(status, method="PUT", message=message, headers={"retry-after": header})
    outcome = world.deploy("api", "production", "1.1.0", 2, repo=repo)

    assert outcome.applied and len(clock.slept) == 1
    assert clock.slept[0] == 30.0 if value == "HTTP-DATE" else 0 < clock.slept[0] <= 60.0


@pytest.mark.parametrize("value", ["1e300", "soon", "inf", "-1"])
def test_a_nonsense_rate_limit_reset_waits_a_minute(world: World, value: str) -> None:
    repo, clock = timed(world)
    primary_rate_limit(world, value)
    outcome = world.deploy("api", "production", "1.1.0", 2, repo=repo)

    assert outcome.applied and clock.slept == [60.0]


def test_a_rate_limit_reset_centuries_away_fails_in_one_line(world: World) -> None:
    repo, clock = timed(world)
    primary_rate_limit(world, "99999999999999")
    with pytest.raises(GitHubError) as exc:
        world.deploy("api", "production", "1.1.0", 2, repo=repo)
    assert "rate limit for these credentials is reached for more than 200 days" in one_line(exc)
    assert clock.slept == []


def test_server_errors_are_retried_with_backoff(world: World) -> None:
    repo, clock = timed(world)
    world.fake.fail(502, method="POST", template="/repos/{owner}/{repo}/pulls", times=2)
    world.fake.fail(0, method="PUT", times=1)  # a dropped connection
    outcome = world.deploy("api", "production", "1.1.0", 2, repo=repo)

    assert outcome.applied and outcome.applied.pr_created and len(world.gitops.pulls) == 1
    assert len(clock.slept) == 3 and all(0 < s <= 30 for s in clock.slept)


def test_server_errors_give_up_after_the_bound(world: World) -> None:
    repo, clock = timed(world)
    world.fake.fail(503, template=CONTENTS, times=10, message="Service Unavailable")
    with pytest.raises(GitHubError) as exc:
        world.deploy("api", "production", "1.1.0", 2, repo=repo)
    assert "GitHub kept failing (503 Service Unavailable) after 5 attempts; try again later" in one_line(exc)
    assert len(clock.slept) == 4 and world.fake.count(CONTENTS) == 5


def test_waiting_is_bounded_in_all(world: World) -> None:
    repo, clock = timed(world, max_wait=30.0)
    world.fake.fail(502, times=50)
    with pytest.raises(GitHubError, match="GitHub kept failing"):
        world.deploy("api", "production", "1.1.0", 2, repo=repo)
    assert sum(clock.slept) <= 30.0


def test_losing_every_race_gives_up_with_advice(world: World) -> None:
    world.deploy("api", "production", "1.1.0", 2)

    def meddle(repo: str, branch: str) -> None:
        if branch == "prod-release":
            world.gitops.write(
                "prod-release",
                {
                    "api/production/image.yaml": (
                        world.text("prod-release", "api/production/image.yaml") or ""
                    )
                    + "# touch\n"
                },
            )

    world.fake.before_ref_update = meddle
    from autodeploy.errors import ConflictError

    with pytest.raises(
        ConflictError, match="gave up after 6 attempts: other runs keep updating prod-release; run again"
    ):
        world.deploy("api", "production", "1.2.0", 3)
