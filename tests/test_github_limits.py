"""The GitHub client held to its bound by an API that misbehaves (tests/misbehaving.py on 127.0.0.1):
dripping, silent or never accepting, it ends in one line naming the API and the bound, within it."""

from __future__ import annotations

import json
import time

import pytest
from github.Auth import Token
from misbehaving import (
    SILENT,
    SLACK,
    Drip,
    Serve,
    never_accepts,
    one_line_within,
    reply,
)

from autodeploy.errors import GitHubError
from autodeploy.github.client import Client
from autodeploy.github.connection import ClientOptions
from autodeploy.retry import Deadline

BOUND = 1.0
REPO = json.dumps({"full_name": "team/gitops", "default_branch": "main"}).encode()
OK = reply(200, {"Content-Type": "application/json"}, REPO)


def _client(api_url: str, **options: object) -> Client:
    opts = ClientOptions(**{"api_url": api_url, "max_wait": BOUND, **options})  # type: ignore[arg-type]
    return Client(Token("ghp_limits_test_token_0000"), opts, credentials_hint="check the token")


def _fails_within(bound: float, client: Client) -> str:
    return one_line_within(
        bound,
        GitHubError,
        lambda: client.request("GET", "/repos/team/gitops", doing="reading team/gitops"),
    )


@pytest.mark.parametrize(
    "answer",
    [
        Drip(OK, interval=0.3),  # the status line and headers, a byte at a time
        Drip(REPO, interval=0.3, prefix=reply(200, {"Content-Type": "application/json"}, length=len(REPO))),
        SILENT,
    ],
    ids=["drip-head", "drip-body", "silent"],
)
def test_a_dripping_or_silent_api_ends_within_max_wait(serve: Serve, answer: object) -> None:
    server = serve(lambda request: answer)
    message = _fails_within(BOUND, _client(server.url("")))
    assert message == (
        f"reading team/gitops: GitHub at {server.url('')} did not answer within 1 s (--github-max-wait); "
        "check GITHUB_API_URL and the network, or allow more time with --github-max-wait"
    )


def test_an_api_that_never_accepts_ends_within_max_wait() -> None:
    with never_accepts() as host:
        message = _fails_within(BOUND, _client(f"http://{host}"))
    assert f"GitHub at http://{host} did not answer within 1 s (--github-max-wait)" in message


def test_the_command_deadline_is_the_bound_when_it_comes_first(serve: Serve) -> None:
    server = serve(lambda request: SILENT)
    client = _client(server.url(""), max_wait=300.0, deadline=Deadline.after(0.8, "--deadline"))
    message = _fails_within(0.8, client)
    assert "did not answer within 0.8 s (--deadline); check GITHUB_API_URL" in message


def test_the_bound_counts_requests_and_sleeps_together(serve: Serve) -> None:
    answers = iter([reply(502), reply(502), reply(502), OK])
    server = serve(lambda request: Drip(next(answers), interval=0.002))  # ~0.2 s a request
    waited: list[float] = []
    client = _client(server.url(""), max_wait=1.0, sleep=lambda s: (waited.append(s), time.sleep(s)))
    started = time.monotonic()
    with pytest.raises(GitHubError):
        client.request("GET", "/repos/team/gitops", doing="reading team/gitops")
    assert time.monotonic() - started < BOUND + SLACK


def test_a_well_behaved_api_still_answers_through_the_bounded_sessions(serve: Serve) -> None:
    server = serve(lambda request: OK)
    response = _client(server.url("")).request("GET", "/repos/team/gitops", doing="reading team/gitops")
    assert response.status == 200 and response.data["full_name"] == "team/gitops"
    assert server.requests[0].header("Authorization") == "token ghp_limits_test_token_0000"


@pytest.mark.parametrize(
    "location", ["http://elsewhere.example.com/repos/team/gitops", "file:///etc/passwd", "/repos/team/gitops"]
)
def test_a_redirect_away_or_in_a_loop_is_one_line(serve: Serve, location: str) -> None:
    server = serve(lambda request: reply(301, {"Location": location}))
    message = _fails_within(BOUND, _client(server.url("")))
    assert message.startswith(f"reading team/gitops: GitHub at {server.url('')} redirected the request")
    assert "check GITHUB_API_URL" in message
