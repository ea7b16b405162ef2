"""Registry auth as a generator, after httpx's auth flows: it yields the calls to make and is sent
each response, so the 401 -> token -> retry exchange is plain code that tests drive without a network.

    flow = authenticator.flow(call, host="ghcr.io", registry="ghcr.io", repository="o/app")
    call = next(flow)                   # the call, with whatever authorization is already known
    call = flow.send(response)          # a 401 taught a challenge: a token request, then the call again
    ...                                 # StopIteration: the last response is the answer

What it remembers for the process: each host's challenge (so known token realms go out with the
first request), and each Bearer token per host and scope until it expires. Docker Hub's and GHCR's
challenges are known in advance, which saves the first 401 there. A host whose challenge is not
known yet gets the registry's credentials, if there are any, as Basic with the first request: a
Basic registry answers it at once, a Bearer registry answers with its challenge as before.
"""

from __future__ import annotations

import base64
import json
import re
import time
from collections.abc import Callable, Generator, Mapping
from dataclasses import dataclass, field
from typing import Protocol
from urllib.parse import urlencode, urlsplit

from autodeploy import report
from autodeploy.errors import RegistryError
from autodeploy.registry.credentials import Credential

DEFAULT_TOKEN_LIFETIME = 60.0  # seconds; the token spec's default when a reply omits expires_in

_PARAM_RE = re.compile(r'\s*([A-Za-z][A-Za-z0-9_-]*)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^\s,]*))\s*,?')


class Response(Protocol):
    """What the flow reads from a response (requests.Response has it)."""

    @property
    def status_code(self) -> int: ...
    @property
    def headers(self) -> Mapping[str, str]: ...
    @property
    def content(self) -> bytes: ...


@dataclass(frozen=True)
class Call:
    method: str
    url: str
    headers: Mapping[str, str] = field(default_factory=dict, repr=False)  # may hold Authorization

    def with_authorization(self, value: str | None) -> Call:
        if value is None:
            return self
        return Call(self.method, self.url, {**self.headers, "Authorization": value})


@dataclass(frozen=True)
class Challenge:
    scheme: str  # "basic" or "bearer"
    realm: str = ""
    service: str = ""
    scope: str = ""

    @classmethod
    def parse(cls, header: str) -> Challenge | None:
        """`Bearer realm="https://auth.docker.io/token",service="registry.docker.io"` or `Basic realm=...`."""
        scheme, _, rest = header.strip().partition(" ")
        scheme = scheme.lower()
        if scheme not in ("basic", "bearer"):
            return None
        params = {
            m.group(1).lower(): m.group(2) if m.group(2) is not None else m.group(3)
            for m in _PARAM_RE.finditer(rest)
        }
        challenge = cls(
            scheme=scheme,
            realm=params.get("realm", ""),
            service=params.get("service", ""),
            scope=params.get("scope", ""),
        )
        if scheme == "bearer" and not challenge.realm.startswith(("https://", "http://")):
            return None
        return challenge

    def same_issuer(self, other: Challenge | None) -> bool:
        return other is not None and (self.scheme, self.realm, self.service) == (
            other.scheme,
            other.realm,
            other.service,
        )


# Challenges these registries answer every anonymous request with; knowing them saves that 401.
# Should one change, the first 401 teaches the new one.
WELL_KNOWN_CHALLENGES: Mapping[str, Challenge] = {
    "registry-1.docker.io": Challenge(
        "bearer", realm="https://auth.docker.io/token", service="registry.docker.io"
    ),
    "ghcr.io": Challenge("bearer", realm="https://ghcr.io/token", service="ghcr.io"),
}


@dataclass(frozen=True)
class _Token:
    value: str = field(repr=False)
    expires_at: float


class Authenticator:
    """Per-process auth state for one set of RegistryOptions. Not thread-safe; autodeploy runs one thread."""

    def __init__(
        self,
        find_credential: Callable[[str], Credential | None],
        *,
        allows_plain_http: Callable[[str], bool],
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._find_credential = find_credential
        self._allows_plain_http = allows_plain_http
        self._clock = clock
        self._challenges: dict[str, Challenge] = dict(WELL_KNOWN_CHALLENGES)
        self._tokens: dict[tuple[str, str], _Token] = {}
        self._credentials: dict[str, Credential | None] = {}

    def credential(self, registry: str) -> Credential | None:
        if registry not in self._credentials:
            self._credentials[registry] = self._find_credential(registry)
        return self._credentials[registry]

    def describe(self, registry: str) -> str:
        """The credential a refused request carried, for the error message."""
        credential = self._credentials.get(registry)
        return credential.describe() if credential else "anonymous access (no credentials found)"

    def challenge(self, host: str) -> Challenge | None:
        return self._challenges.get(host)

    def flow(
        self, call: Call, *, host: str, registry: str, repository: str
    ) -> Generator[Call, Response, None]:
        """Send `call` to `host`, the API host of `registry`, authorized to pull `repository`."""
        scope = f"repository:{repository}:pull"
        authorization = yield from self._authorization(host, registry, scope, refresh=False)
        response = yield call.with_authorization(authorization)
        fresh = False
        # One retry with fresh authorization per new challenge; two at most, so a flapping registry ends.
        for _ in range(2):
            if response.status_code != 401:
                return
            challenge = Challenge.parse(response.headers.get("WWW-Authenticate", ""))
            if challenge is None:
                return
            known = self._challenges.get(host)
            self._challenges[host] = challenge
            if fresh and challenge.same_issuer(known):
                return  # the credential we just obtained was refused: the caller reports it
            if challenge.scheme == "basic" and (authorization or "").startswith("Basic "):
                return  # the Basic credentials it asks for are the ones it refused
            authorization = yield from self._authorization(
                host, registry, challenge.scope or scope, refresh=True
            )
            if authorization is None:
                return
            fresh = True
            response = yield call.with_authorization(authorization)

    def _authorization(
        self, host: str, registry: str, scope: str, *, refresh: bool
    ) -> Generator[Call, Response, str | None]:
        challenge = self._challenges.get(host)
        if challenge is None or challenge.scheme == "basic":
            credential = self.credential(registry)
            return None if credential is None else _basic(credential)
        token = self._tokens.get((host, scope))
        if refresh or token is None or token.expires_at <= self._clock():
            token = yield from self._fetch_token(challenge, registry, scope)
            self._tokens[(host, scope)] = token
        return f"Bearer {token.value}"

    def _fetch_token(
        self, challenge: Challenge, registry: str, scope: str
    ) -> Generator[Call, Response, _Token]:
        credential = self.credential(registry)
        realm = urlsplit(challenge.realm)
        if credential is not None and realm.scheme != "https" and not self._allows_plain_http(realm.netloc):
            raise RegistryError(
                f"registry {registry} asks for credentials at the plain-HTTP address {challenge.realm}; "
                f"refusing to send them (pass --insecure-registry {realm.netloc} if you trust it)"
            )
        query = {k: v for k, v in (("service", challenge.service), ("scope", scope)) if v}
        separator = "&" if realm.query else "?"
        url = challenge.realm + (separator + urlencode(query) if query else "")
        headers = {"Authorization": _basic(credential)} if credential else {}
        started = self._clock()
        response = yield Call("GET", url, headers)
        who = credential.describe() if credential else "anonymous access"
        if response.status_code in (401, 403):
            raise RegistryError(
                f"the token service {realm.netloc} of registry {registry} refused {who} "
                f"(HTTP {response.status_code}): check the username and password"
            )
        if response.status_code != 200:
            raise RegistryError(
                f"the token service {realm.netloc} of registry {registry} answered HTTP "
                f"{response.status_code}; retry later"
            )
        try:
            reply = json.loads(response.content)
            value = reply.get("token") or reply.get("access_token")
            lifetime = float(reply.get("expires_in") or DEFAULT_TOKEN_LIFETIME)
        except (ValueError, AttributeError, TypeError) as exc:
            raise RegistryError(
                f"the token service {realm.netloc} of registry {registry} did not answer token JSON"
            ) from exc
        if not isinstance(value, str) or not value:
            raise RegistryError(f"the token service {realm.netloc} of registry {registry} sent no token")
        # Renew a little early, so a token does not expire between being checked and being used.
        return _Token(report.secret(value), started + max(lifetime - 5.0, 1.0))


def _basic(credential: Credential) -> str:
    pair = f"{credential.username}:{credential.password}".encode()
    return "Basic " + report.secret(base64.b64encode(pair).decode("ascii"))
