"""Registries that misbehave, served by tests/misbehaving.py on 127.0.0.1 (plain HTTP, as loopback
registries are): drips, silence, a full accept queue, redirect loops and file:// redirects,
truncated bodies, hostile Retry-After headers. Each ends in one line within its bound; and explicit
credentials reach only their own registry, next to the real docker-registry with Basic auth."""

from __future__ import annotations

import base64
import time
from dataclasses import replace
from datetime import UTC, datetime
from email.utils import format_datetime

import pytest
from misbehaving import (
    SILENT,
    SLACK,
    Drip,
    Hangup,
    Request,
    Serve,
    never_accepts,
    one_line_within,
    reply,
)
from registry_server import PASSWORD, USERNAME, LocalRegistry, Seeded
from test_registry_quirks import BODY, DIGEST  # one small Docker v2 manifest

from autodeploy import imageref
from autodeploy.errors import RegistryError
from autodeploy.registry import RegistryOptions, Resolved, resolve
from autodeploy.registry.manifest import DOCKER_MANIFEST
from autodeploy.retry import Deadline

pytestmark = pytest.mark.usefixtures("registry_env")

OK_HEAD = reply(200, {"Docker-Content-Digest": DIGEST, "Content-Type": DOCKER_MANIFEST}, length=len(BODY))
BOUND = 1.0  # seconds: every run against a misbehaving server ends within this, plus a little


def _resolve(host: str, options: RegistryOptions | None = None, **kwargs: bool) -> Resolved:
    options = options or RegistryOptions(max_wait=BOUND)
    return resolve(imageref.parse(f"{host}/team/app:v1"), options, **kwargs)


# -- waits held to their bound -----------------------------------------------------------------


@pytest.mark.parametrize(
    "answer",
    [
        Drip(OK_HEAD, interval=0.4),  # the status line and headers, a byte at a time
        SILENT,
    ],
    ids=["drip", "silent"],
)
def test_a_dripping_or_silent_registry_ends_the_run_within_max_wait(serve: Serve, answer: object) -> None:
    server = serve(lambda request: answer)
    message = one_line_within(BOUND, RegistryError, lambda: _resolve(server.host))
    assert message.startswith(f"registry {server.host} did not answer within 1 s (--registry-max-wait)")


def test_a_body_that_drips_is_held_to_the_bound_too(serve: Serve) -> None:
    head = reply(200, {"Content-Type": DOCKER_MANIFEST}, length=len(BODY))
    server = serve(lambda request: Drip(BODY, interval=0.3, prefix=head))
    message = one_line_within(BOUND, RegistryError, lambda: _resolve(server.host, with_labels=True))
    assert "did not answer within 1 s (--registry-max-wait)" in message


def test_a_registry_that_never_accepts_ends_within_the_bound() -> None:
    with never_accepts() as host:
        message = one_line_within(BOUND, RegistryError, lambda: _resolve(host))
    assert message.startswith(f"registry {host} did not answer within 1 s (--registry-max-wait)")


def test_the_command_deadline_bounds_the_registry_and_is_named(serve: Serve) -> None:
    server = serve(lambda request: SILENT)
    options = RegistryOptions(max_wait=300, deadline=Deadline.after(0.8, "--deadline"))
    message = one_line_within(0.8, RegistryError, lambda: _resolve(server.host, options))
    assert "did not answer within 0.8 s (--deadline)" in message


def test_the_bound_is_for_all_requests_together(serve: Serve) -> None:
    server = serve(lambda request: Drip(OK_HEAD, interval=0.01))  # ~1 s a request
    options = RegistryOptions(max_wait=BOUND)
    started = time.monotonic()
    with pytest.raises(RegistryError, match="did not answer within"):
        for _ in range(5):
            _resolve(server.host, options)
    assert time.monotonic() - started < BOUND + SLACK


# -- redirects and bodies ----------------------------------------------------------------------


def test_a_redirect_loop_is_one_line(serve: Serve) -> None:
    server = serve(lambda request: reply(307, {"Location": request.path}))
    message = one_line_within(BOUND, RegistryError, lambda: _resolve(server.host))
    assert f"registry {server.host} redirected the request more than 10 times (a redirect loop" in message
    assert len(server.requests) == 11


@pytest.mark.parametrize("location", ["file:///etc/passwd", "gopher://127.0.0.1/x", "ftp://example.com/m"])
def test_a_redirect_to_anything_but_http_is_refused(serve: Serve, location: str) -> None:
    server = serve(lambda request: reply(302, {"Location": location}))
    message = one_line_within(BOUND, RegistryError, lambda: _resolve(server.host))
    assert f"to {location}, which is not an HTTP(S) URL; refusing to follow it" in message


def test_a_truncated_body_is_one_line(serve: Serve) -> None:
    server = serve(
        lambda request: Hangup(reply(200, {"Content-Type": DOCKER_MANIFEST}, BODY[:20], length=len(BODY)))
    )
    message = one_line_within(BOUND, RegistryError, lambda: _resolve(server.host, with_labels=True))
    assert f"registry {server.host} cut the manifest of {server.host}/team/app:v1 short" in message


def test_a_token_answer_cut_short_is_one_line(serve: Serve) -> None:
    def handler(request: Request) -> object:
        if request.path.startswith("/token"):
            return Hangup(reply(200, {"Content-Type": "application/json"}, b'{"tok', length=100))
        challenge = f'Bearer realm="http://{request.header("Host")}/token",service="x"'
        return reply(401, {"WWW-Authenticate": challenge})

    server = serve(handler)
    message = one_line_within(BOUND, RegistryError, lambda: _resolve(server.host))
    assert f"registry {server.host} cut its answer short" in message


# -- hostile Retry-After -----------------------------------------------------------------------


def _http_date(offset: float) -> str:
    return format_datetime(datetime.fromtimestamp(time.time() + offset, UTC), usegmt=True)


@pytest.mark.parametrize(
    "value",
    ["inf", "1e308", "99999999999999999999", "-5", "soon", "Wed, 99 Foo 2026 25:61:61 GMT", "HTTP-DATE"],
)
def test_hostile_retry_after_gives_a_bounded_wait(serve: Serve, value: str) -> None:
    header = _http_date(2) if value == "HTTP-DATE" else value
    answers = iter([reply(429, {"Retry-After": header}), OK_HEAD])
    server = serve(lambda request: next(answers))
    waited: list[float] = []
    options = RegistryOptions(max_wait=BOUND * 10, sleep=waited.append)
    assert _resolve(server.host, options).digest == DIGEST
    assert len(waited) == 1 and 0 <= waited[0] <= 2.0


def test_a_retry_after_longer_than_the_bound_is_not_slept(serve: Serve) -> None:
    server = serve(lambda request: reply(429, {"Retry-After": "100"}))
    waited: list[float] = []
    options = RegistryOptions(max_wait=10, sleep=waited.append)
    message = one_line_within(BOUND, RegistryError, lambda: _resolve(server.host, options))
    assert "(HTTP 429): retry after 100 s" in message and waited == []


# -- credentials: one registry, one host -------------------------------------------------------


def _basic(user: str = USERNAME, password: str = PASSWORD) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


def _challenge_basic(request: Request) -> bytes:
    return reply(401, {"WWW-Authenticate": 'Basic realm="other"'})


def test_explicit_credentials_go_to_the_first_images_registry_only(
    basic_registry: LocalRegistry, basic_seeded: Seeded, serve: Serve
) -> None:
    other = serve(_challenge_basic)
    options = RegistryOptions(username=USERNAME, password=PASSWORD)
    image = basic_seeded.oci
    mark = basic_registry.mark()
    found = resolve(imageref.parse(basic_registry.ref(image.repository, image.tag)), options)
    assert found.digest == image.digest
    assert [(m, s) for m, _, s in basic_registry.since(mark)] == [("HEAD", 200)]
    with pytest.raises(RegistryError, match=f"registry {other.host} wants credentials"):
        _resolve(other.host, options)
    assert other.requests and all(r.header("Authorization") is None for r in other.requests)


def test_credentials_host_names_the_registry_they_belong_to(
    basic_registry: LocalRegistry, basic_seeded: Seeded, serve: Serve
) -> None:
    owner = serve(lambda request: OK_HEAD)
    options = RegistryOptions(username=USERNAME, password=PASSWORD, credentials_host=owner.host)
    image = basic_seeded.oci
    with pytest.raises(RegistryError, match="wants credentials to pull team/app"):
        resolve(imageref.parse(basic_registry.ref(image.repository, image.tag)), options)
    assert _resolve(owner.host, replace(options, max_wait=BOUND)).digest == DIGEST
    assert [r.header("Authorization") for r in owner.requests] == [_basic()]


def test_a_cross_host_redirect_never_carries_the_credentials(serve: Serve) -> None:
    target = serve(lambda request: OK_HEAD)
    origin = serve(lambda request: reply(307, {"Location": target.url(request.path)}))
    options = RegistryOptions(username="robot", password="robot-pass-1234", max_wait=BOUND)
    assert _resolve(origin.host, options).digest == DIGEST
    assert [r.header("Authorization") for r in origin.requests] == [_basic("robot", "robot-pass-1234")]
    assert [r.header("Authorization") for r in target.requests] == [None]


def test_a_same_host_redirect_keeps_them(serve: Serve) -> None:
    def handler(request: Request) -> bytes:
        if request.path.startswith("/moved/"):
            return OK_HEAD
        return reply(301, {"Location": "/moved" + request.path})

    server = serve(handler)
    options = RegistryOptions(username="robot", password="robot-pass-1234", max_wait=BOUND)
    assert _resolve(server.host, options).digest == DIGEST
    assert [r.header("Authorization") for r in server.requests] == [_basic("robot", "robot-pass-1234")] * 2
