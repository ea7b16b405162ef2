"""The auth flow driven by hand, without a network: each test plays the registry's side."""

from __future__ import annotations

import json
from collections.abc import Generator, Mapping
from dataclasses import dataclass, field

import pytest

from autodeploy.errors import RegistryError
from autodeploy.registry.auth import Authenticator, Call, Challenge
from autodeploy.registry.credentials import Credential

HOST = "registry.example.com"
BEARER = f'Bearer realm="https://{HOST}/token",service="{HOST}"'


@dataclass
class Reply:
    status_code: int
    headers: Mapping[str, str] = field(default_factory=dict)
    content: bytes = b""


def _token(value: str, expires_in: int | None = None) -> Reply:
    body: dict[str, object] = {"token": value}
    if expires_in is not None:
        body["expires_in"] = expires_in
    return Reply(200, {}, json.dumps(body).encode())


def _drive(flow: Generator[Call, Reply, None], replies: list[Reply]) -> list[Call]:
    """Answer each call the flow makes with the next reply; return the calls."""
    calls = [next(flow)]
    for reply in replies:
        try:
            calls.append(flow.send(reply))
        except StopIteration:
            return calls
    raise AssertionError(f"the flow made more calls than expected: {calls}")


class Clock:
    now = 1000.0

    def __call__(self) -> float:
        return self.now


def _authenticator(credential: Credential | None = None, clock: Clock | None = None) -> Authenticator:
    return Authenticator(
        lambda registry: credential, allows_plain_http=lambda host: False, clock=clock or Clock()
    )


def _flow(auth: Authenticator, repository: str = "team/app") -> Generator[Call, Reply, None]:
    call = Call("HEAD", f"https://{HOST}/v2/{repository}/manifests/v1", {"Accept": "x"})
    return auth.flow(call, host=HOST, registry=HOST, repository=repository)  # type: ignore[arg-type]


def test_challenge_parsing() -> None:
    parsed = Challenge.parse(
        'Bearer realm="https://auth.docker.io/token",service="registry.docker.io",'
        'scope="repository:library/nginx:pull,push",error="insufficient_scope"'
    )
    assert parsed == Challenge(
        "bearer",
        realm="https://auth.docker.io/token",
        service="registry.docker.io",
        scope="repository:library/nginx:pull,push",
    )
    assert Challenge.parse('Basic realm="Registry Realm"') == Challenge("basic", realm="Registry Realm")
    assert Challenge.parse("Bearer service=x") is None  # no realm to ask
    assert Challenge.parse("Negotiate abc") is None
    assert Challenge.parse("") is None


def test_bearer_first_contact_then_cached_token() -> None:
    auth = _authenticator()
    calls = _drive(_flow(auth), [Reply(401, {"WWW-Authenticate": BEARER}), _token("t1"), Reply(200)])
    assert [c.method for c in calls] == ["HEAD", "GET", "HEAD"]
    assert "Authorization" not in calls[0].headers
    assert calls[1].url == f"https://{HOST}/token?service={HOST}&scope=repository%3Ateam%2Fapp%3Apull"
    assert calls[2].headers == {"Accept": "x", "Authorization": "Bearer t1"}
    again = _drive(_flow(auth), [Reply(200)])
    assert [c.headers.get("Authorization") for c in again] == ["Bearer t1"]


def test_a_new_scope_costs_one_token_request_not_another_401() -> None:
    auth = _authenticator()
    _drive(_flow(auth), [Reply(401, {"WWW-Authenticate": BEARER}), _token("t1"), Reply(200)])
    calls = _drive(_flow(auth, "team/other"), [_token("t2"), Reply(200)])
    assert [c.method for c in calls] == ["GET", "HEAD"]
    assert "scope=repository%3Ateam%2Fother%3Apull" in calls[0].url


def test_an_expired_token_is_renewed_before_use() -> None:
    clock = Clock()
    auth = _authenticator(clock=clock)
    _drive(_flow(auth), [Reply(401, {"WWW-Authenticate": BEARER}), _token("t1", expires_in=60), Reply(200)])
    clock.now += 30
    assert [c.method for c in _drive(_flow(auth), [Reply(200)])] == ["HEAD"]
    clock.now += 30
    calls = _drive(_flow(auth), [_token("t2", expires_in=60), Reply(200)])
    assert calls[1].headers["Authorization"] == "Bearer t2"


def test_a_cached_token_refused_is_renewed_once_and_a_fresh_one_refused_ends_the_flow() -> None:
    auth = _authenticator()
    _drive(_flow(auth), [Reply(401, {"WWW-Authenticate": BEARER}), _token("t1"), Reply(200)])
    refused = Reply(401, {"WWW-Authenticate": BEARER})
    calls = _drive(_flow(auth), [refused, _token("t2"), refused])
    assert [c.method for c in calls] == ["HEAD", "GET", "HEAD"]


def test_credentials_go_as_basic_with_the_first_request_and_only_when_there_are_some() -> None:
    credential = Credential("alice", "pw-123456", "--registry-username")
    auth = _authenticator(credential)
    calls = _drive(_flow(auth), [Reply(200)])
    assert [c.headers.get("Authorization") for c in calls] == ["Basic YWxpY2U6cHctMTIzNDU2"]
    anonymous = _authenticator()
    assert len(_drive(_flow(anonymous), [Reply(401, {"WWW-Authenticate": 'Basic realm="r"'})])) == 1


def test_basic_credentials_answered_with_a_basic_challenge_are_not_sent_again() -> None:
    auth = _authenticator(Credential("alice", "wrong-123456", "--registry-username"))
    calls = _drive(_flow(auth), [Reply(401, {"WWW-Authenticate": 'Basic realm="r"'})])
    assert len(calls) == 1 and auth.challenge(HOST) == Challenge("basic", realm="r")


def test_a_bearer_registry_answers_first_basic_credentials_with_its_challenge() -> None:
    auth = _authenticator(Credential("alice", "pw-123456", "--registry-username"))
    calls = _drive(_flow(auth), [Reply(401, {"WWW-Authenticate": BEARER}), _token("t1"), Reply(200)])
    assert [c.headers.get("Authorization", "")[:6] for c in calls] == ["Basic ", "Basic ", "Bearer"]
    assert calls[1].url.startswith(f"https://{HOST}/token?")  # the realm its own challenge named


def test_the_token_request_carries_basic_credentials() -> None:
    auth = _authenticator(Credential("alice", "pw-123456", "AUTODEPLOY_REGISTRY_USERNAME"))
    calls = _drive(_flow(auth), [Reply(401, {"WWW-Authenticate": BEARER}), _token("t1"), Reply(200)])
    assert calls[1].headers["Authorization"] == "Basic YWxpY2U6cHctMTIzNDU2"


@pytest.mark.parametrize(
    ("reply", "message"),
    [
        (Reply(401), "refused the credentials of 'alice' from AUTODEPLOY_REGISTRY_USERNAME (HTTP 401)"),
        (Reply(500), "answered HTTP 500; retry later"),
        (Reply(200, {}, b"<html>"), "did not answer token JSON"),
        (Reply(200, {}, b'{"expires_in": 60}'), "sent no token"),
    ],
)
def test_token_service_failures_are_one_line_errors(reply: Reply, message: str) -> None:
    auth = _authenticator(Credential("alice", "pw-123456", "AUTODEPLOY_REGISTRY_USERNAME"))
    with pytest.raises(RegistryError, match=message.replace("(", r"\(").replace(")", r"\)")):
        _drive(_flow(auth), [Reply(401, {"WWW-Authenticate": BEARER}), reply])


def test_a_401_without_a_usable_challenge_ends_the_flow() -> None:
    auth = _authenticator()
    assert len(_drive(_flow(auth), [Reply(401, {"WWW-Authenticate": "Negotiate"})])) == 1
