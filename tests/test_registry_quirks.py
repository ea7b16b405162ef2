"""What a local registry cannot show, faked with `responses`: Docker Hub's and GHCR's token flows,
429 with Retry-After, 5xx and dropped connections, ECR's HEAD without a digest, a digest that
disagrees with the body, schema1, a blob redirected to a CDN."""

from __future__ import annotations

import hashlib
import json
from dataclasses import replace

import pytest
import requests
import responses
from responses import matchers

from autodeploy import imageref, report
from autodeploy.errors import RegistryError
from autodeploy.registry import RegistryOptions, resolve
from autodeploy.registry.manifest import ACCEPT, DOCKER_MANIFEST, OCI_INDEX, OCI_MANIFEST

pytestmark = pytest.mark.usefixtures("registry_env")

HUB = "https://registry-1.docker.io/v2"
BODY = json.dumps(
    {
        "schemaVersion": 2,
        "mediaType": DOCKER_MANIFEST,
        "config": {"mediaType": "x", "size": 1, "digest": "sha256:" + "c" * 64},
        "layers": [],
    }
).encode()
DIGEST = "sha256:" + hashlib.sha256(BODY).hexdigest()


@pytest.fixture
def mock() -> responses.RequestsMock:
    with responses.RequestsMock(assert_all_requests_are_fired=True) as rsps:
        yield rsps  # type: ignore[misc]


@pytest.fixture
def sleeps() -> list[float]:
    """The client's waits, recorded instead of slept (through RegistryOptions.sleep, see _resolve)."""
    return _WAITED


_WAITED: list[float] = []


@pytest.fixture(autouse=True)
def _forget_waits() -> None:
    _WAITED.clear()


def _head_ok(
    mock: responses.RequestsMock, url: str, digest: str = DIGEST, media_type: str = DOCKER_MANIFEST
) -> None:
    mock.add(responses.HEAD, url, headers={"Docker-Content-Digest": digest, "Content-Type": media_type})


def _resolve(text: str, options: RegistryOptions | None = None, **kwargs: bool):  # type: ignore[no-untyped-def]
    options = replace(options or RegistryOptions(), sleep=_WAITED.append)
    return resolve(imageref.parse(text), options, session=requests.Session(), **kwargs)


# -- Bearer, as the big registries answer it ---------------------------------------------------


def test_docker_hub_anonymous_costs_a_token_and_one_head(mock: responses.RequestsMock) -> None:
    mock.add(
        responses.GET,
        "https://auth.docker.io/token",
        match=[
            matchers.query_param_matcher(
                {"service": "registry.docker.io", "scope": "repository:library/nginx:pull"}
            )
        ],
        json={"token": "hub-token-123456", "access_token": "hub-token-123456", "expires_in": 300},
    )
    _head_ok(mock, f"{HUB}/library/nginx/manifests/1.27")
    found = _resolve("nginx:1.27")
    assert found.digest == DIGEST
    assert str(found.reference) == f"docker.io/library/nginx:1.27@{DIGEST}"
    assert len(mock.calls) == 2
    head = mock.calls[1].request
    assert head.headers["Authorization"] == "Bearer hub-token-123456"
    assert head.headers["Accept"] == ACCEPT
    assert "Authorization" not in mock.calls[0].request.headers


def test_docker_hub_with_credentials_sends_them_to_the_token_service_only(
    mock: responses.RequestsMock,
) -> None:
    mock.add(responses.GET, "https://auth.docker.io/token", json={"token": "hub-token-abcdef"})
    _head_ok(mock, f"{HUB}/team/api/manifests/v1")
    _head_ok(mock, f"{HUB}/team/api/manifests/v2")
    options = RegistryOptions(username="robot", password="hub-password-1234")
    session = requests.Session()
    for tag in ("v1", "v2"):
        resolve(imageref.parse(f"docker.io/team/api:{tag}"), options, session=session)
    token_call, first, second = (call.request for call in mock.calls)
    assert token_call.headers["Authorization"].startswith("Basic ")
    assert "scope=repository%3Ateam%2Fapi%3Apull" in str(token_call.url)
    assert first.headers["Authorization"] == second.headers["Authorization"] == "Bearer hub-token-abcdef"


def test_docker_hub_refuses_an_anonymous_token_for_a_private_or_missing_repository(
    mock: responses.RequestsMock,
) -> None:
    challenge = (
        'Bearer realm="https://auth.docker.io/token",service="registry.docker.io",'
        'scope="repository:team/private:pull",error="insufficient_scope"'
    )
    mock.add(responses.GET, "https://auth.docker.io/token", json={"token": "weak-token-1"})
    mock.add(responses.GET, "https://auth.docker.io/token", json={"token": "weak-token-2"})
    for _ in range(2):
        mock.add(
            responses.HEAD,
            f"{HUB}/team/private/manifests/v1",
            status=401,
            headers={"WWW-Authenticate": challenge},
        )
    with pytest.raises(RegistryError) as caught:
        _resolve("team/private:v1")
    message = caught.value.message
    assert "registry docker.io refused anonymous access (no credentials found) for team/private" in message
    assert "may be private or not exist" in message and "--registry-username" in message
    assert len(mock.calls) == 4  # cached token refused, one fresh token refused: no loop


def test_ghcr_token_reply_with_only_token(mock: responses.RequestsMock) -> None:
    mock.add(
        responses.GET,
        "https://ghcr.io/token",
        match=[
            matchers.query_param_matcher({"service": "ghcr.io", "scope": "repository:ditkrg/my-api:pull"})
        ],
        json={"token": "ghcr-token-xyz"},
    )
    _head_ok(mock, "https://ghcr.io/v2/ditkrg/my-api/manifests/dev-843632a", media_type=OCI_INDEX)
    found = _resolve("ghcr.io/ditkrg/my-api:dev-843632a")
    assert (found.digest, found.media_type) == (DIGEST, OCI_INDEX)
    assert mock.calls[1].request.headers["Authorization"] == "Bearer ghcr-token-xyz"


def test_an_unknown_registry_learns_its_challenge_from_the_first_401(mock: responses.RequestsMock) -> None:
    url = "https://quay.io/v2/org/app/manifests/v1"
    challenge = 'Bearer realm="https://quay.io/v2/auth",service="quay.io"'
    mock.add(responses.HEAD, url, status=401, headers={"WWW-Authenticate": challenge})
    mock.add(responses.GET, "https://quay.io/v2/auth", json={"access_token": "quay-token-1"})
    _head_ok(mock, url)
    _head_ok(mock, "https://quay.io/v2/org/app/manifests/v2")
    session = requests.Session()
    options = RegistryOptions()
    for tag in ("v1", "v2"):
        assert resolve(imageref.parse(f"quay.io/org/app:{tag}"), options, session=session).digest == DIGEST
    assert [c.request.method for c in mock.calls] == ["HEAD", "GET", "HEAD", "HEAD"]
    assert mock.calls[3].request.headers["Authorization"] == "Bearer quay-token-1"


def test_credentials_are_never_sent_to_a_plain_http_token_realm(mock: responses.RequestsMock) -> None:
    challenge = 'Bearer realm="http://auth.example.com/token",service="example"'
    mock.add(
        responses.HEAD,
        "https://registry.example.com/v2/app/manifests/v1",
        status=401,
        headers={"WWW-Authenticate": challenge},
    )
    with pytest.raises(RegistryError, match=r"plain-HTTP address http://auth\.example\.com/token; refusing"):
        _resolve("registry.example.com/app:v1", RegistryOptions(username="u", password="password-1234"))


# -- retries -----------------------------------------------------------------------------------


def test_429_waits_as_long_as_retry_after_says(mock: responses.RequestsMock, sleeps: list[float]) -> None:
    url = "https://registry.example.com/v2/app/manifests/v1"
    mock.add(responses.HEAD, url, status=429, headers={"Retry-After": "7"})
    _head_ok(mock, url)
    assert _resolve("registry.example.com/app:v1").digest == DIGEST
    assert sleeps == [7.0]


def test_429_asking_for_too_long_a_wait_fails_at_once(
    mock: responses.RequestsMock, sleeps: list[float]
) -> None:
    url = "https://registry.example.com/v2/app/manifests/v1"
    mock.add(responses.HEAD, url, status=429, headers={"Retry-After": "3600"})
    with pytest.raises(RegistryError, match=r"rate-limited .* \(HTTP 429\): retry after 60 min"):
        _resolve("registry.example.com/app:v1")
    assert sleeps == []


def test_5xx_and_dropped_connections_back_off_then_give_up(
    mock: responses.RequestsMock, sleeps: list[float]
) -> None:
    url = "https://registry.example.com/v2/app/manifests/v1"
    mock.add(responses.HEAD, url, body=requests.ConnectionError("connection reset"))
    mock.add(responses.HEAD, url, status=502)
    mock.add(responses.HEAD, url, status=503)
    mock.add(responses.HEAD, url, status=503)
    with pytest.raises(RegistryError, match=r"answered HTTP 503 for .*app:v1 after 4 attempts: retry later"):
        _resolve("registry.example.com/app:v1")
    # 0.5, 1 and 2 s, each jittered by half either way
    assert len(sleeps) == 3
    assert all(0.5 * b <= s < 1.5 * b for s, b in zip(sleeps, (0.5, 1.0, 2.0), strict=True))


def test_the_budget_runs_on_the_injected_clock_and_sleep(mock: responses.RequestsMock) -> None:
    class Clock:
        now = 100.0

        def __call__(self) -> float:
            return self.now

        def sleep(self, seconds: float) -> None:
            self.now += seconds

    clock = Clock()
    url = "https://registry.example.com/v2/app/manifests/v1"
    for _ in range(3):
        mock.add(responses.HEAD, url, status=503, headers={"Retry-After": "5"})
    options = RegistryOptions(max_wait=12, max_attempts=10, clock=clock, sleep=clock.sleep)
    with pytest.raises(RegistryError, match=r"answered HTTP 503 for .*app:v1 after 3 attempts"):
        resolve(imageref.parse("registry.example.com/app:v1"), options, session=requests.Session())
    assert clock.now == 110.0  # two waits of 5 s; a third would not have ended within 12 s


def test_a_dropped_connection_is_retried(mock: responses.RequestsMock, sleeps: list[float]) -> None:
    url = "https://registry.example.com/v2/app/manifests/v1"
    mock.add(responses.HEAD, url, body=requests.ConnectionError("connection reset"))
    _head_ok(mock, url)
    assert _resolve("registry.example.com/app:v1").digest == DIGEST
    assert len(sleeps) == 1 and 0.25 <= sleeps[0] < 0.75


# -- digests -----------------------------------------------------------------------------------


def test_ecr_head_without_digest_falls_back_to_get_and_hashes_the_body(mock: responses.RequestsMock) -> None:
    host = "123456789012.dkr.ecr.eu-west-1.amazonaws.com"
    url = f"https://{host}/v2/team/api/manifests/v1"
    mock.add(responses.HEAD, url, headers={"Content-Type": DOCKER_MANIFEST})
    mock.add(responses.GET, url, body=BODY, headers={"Content-Type": DOCKER_MANIFEST})
    found = _resolve(f"{host}/team/api:v1")
    assert found.digest == "sha256:" + hashlib.sha256(BODY).hexdigest()
    assert [c.request.method for c in mock.calls] == ["HEAD", "GET"]
    assert mock.calls[1].request.headers["Accept"] == ACCEPT


def test_a_digest_header_that_disagrees_with_the_body_is_an_error(mock: responses.RequestsMock) -> None:
    url = "https://registry.example.com/v2/app/manifests/v1"
    other = "sha256:" + "d" * 64
    mock.add(
        responses.GET,
        url,
        body=BODY,
        headers={"Content-Type": DOCKER_MANIFEST, "Docker-Content-Digest": other},
    )
    with pytest.raises(
        RegistryError, match=f"announced the digest {other} .* hashes to {DIGEST}; refusing to guess"
    ):
        _resolve("registry.example.com/app:v1", with_labels=True)


def test_a_head_digest_other_than_the_one_asked_for_is_an_error(mock: responses.RequestsMock) -> None:
    wanted = "sha256:" + "e" * 64
    _head_ok(mock, f"https://registry.example.com/v2/app/manifests/{wanted}")
    with pytest.raises(
        RegistryError, match=f"answered the digest {DIGEST} for .*@{wanted}; refusing to guess"
    ):
        _resolve(f"registry.example.com/app@{wanted}")


def test_schema1_is_refused_with_what_to_do(mock: responses.RequestsMock) -> None:
    url = "https://registry.example.com/v2/app/manifests/old"
    mock.add(
        responses.HEAD,
        url,
        headers={
            "Content-Type": "application/vnd.docker.distribution.manifest.v1+prettyjws",
            "Docker-Content-Digest": DIGEST,
        },
    )
    with pytest.raises(
        RegistryError, match="schema 1 image, whose digest registries rewrite: rebuild and push"
    ):
        _resolve("registry.example.com/app:old")


def test_a_blob_redirect_to_a_cdn_does_not_carry_the_token(mock: responses.RequestsMock) -> None:
    config = json.dumps({"config": {"Labels": {"org.opencontainers.image.revision": "f" * 40}}}).encode()
    config_digest = "sha256:" + hashlib.sha256(config).hexdigest()
    body = json.dumps(
        {
            "schemaVersion": 2,
            "mediaType": OCI_MANIFEST,
            "config": {"mediaType": "x", "size": len(config), "digest": config_digest},
        }
    ).encode()
    mock.add(responses.GET, "https://ghcr.io/token", json={"token": "ghcr-token-redirect"})
    mock.add(
        responses.GET,
        "https://ghcr.io/v2/o/app/manifests/v1",
        body=body,
        headers={"Content-Type": OCI_MANIFEST},
    )
    mock.add(
        responses.GET,
        f"https://ghcr.io/v2/o/app/blobs/{config_digest}",
        status=307,
        headers={"Location": "https://pkg-containers.githubusercontent.com/blob?sig=1"},
    )
    mock.add(responses.GET, "https://pkg-containers.githubusercontent.com/blob", body=config)
    found = _resolve("ghcr.io/o/app:v1", with_labels=True)
    assert found.labels == {"org.opencontainers.image.revision": "f" * 40}
    assert mock.calls[2].request.headers["Authorization"] == "Bearer ghcr-token-redirect"
    assert "Authorization" not in mock.calls[3].request.headers


def test_tokens_never_reach_output(mock: responses.RequestsMock) -> None:
    mock.add(responses.GET, "https://ghcr.io/token", json={"token": "ghcr-secret-token-value"})
    _head_ok(mock, "https://ghcr.io/v2/o/app/manifests/v1")
    _resolve("ghcr.io/o/app:v1")
    assert report.redact("token ghcr-secret-token-value") == "token ***"


# -- plain HTTP --------------------------------------------------------------------------------


def test_plain_http_only_for_loopback_and_insecure_registries(mock: responses.RequestsMock) -> None:
    _head_ok(mock, "http://registry.internal:5000/v2/app/manifests/v1")
    _head_ok(mock, "https://registry.other:5000/v2/app/manifests/v1")
    options = RegistryOptions(insecure_registries=("registry.internal:5000",))
    assert _resolve("registry.internal:5000/app:v1", options).digest == DIGEST
    assert _resolve("registry.other:5000/app:v1", options).digest == DIGEST


@pytest.mark.parametrize(
    ("host", "insecure", "plain"),
    [
        ("127.0.0.1:5000", (), True),
        ("127.1.2.3", (), True),
        ("localhost:5000", (), True),
        ("[::1]:5000", (), True),
        ("10.0.0.1:5000", (), False),
        ("ghcr.io", (), False),
        ("harbor.lan:8080", ("harbor.lan",), True),
        ("harbor.lan:8080", ("harbor.lan:8080",), True),
        ("harbor.lan:8080", ("harbor.lan:9090",), False),
    ],
)
def test_allows_plain_http(host: str, insecure: tuple[str, ...], plain: bool) -> None:
    from autodeploy.registry.client import allows_plain_http

    assert allows_plain_http(host, insecure) is plain
