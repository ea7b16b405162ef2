"""The OCI distribution API over one requests.Session: manifests by HEAD or GET, blobs, retries.

Every call goes through the auth flow and is held to one retry.Budget: all the time spent on
registries with these options, connect, read and sleeps together (`max_wait`, never past the
command's deadline), enforced byte by byte by autodeploy.transport, so a dripping or silent
registry ends the run on time. 429, 5xx and dropped connections are retried with backoff
(Retry-After honoured, when it makes sense) up to `max_attempts`. Redirects are followed here, at
most `MAX_REDIRECTS`, to HTTP(S) only, and Authorization never goes to another host. Every digest it
returns was either announced by the registry for a HEAD, or computed from the exact bytes a GET
returned and checked against what the registry announced. Failures become one-line RegistryErrors
at this edge.
"""

from __future__ import annotations

import ipaddress
import json
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from urllib.parse import urljoin, urlsplit

import requests

from autodeploy import __version__, report, retry, transport, validate
from autodeploy.errors import RegistryError
from autodeploy.imageref import ImageRef
from autodeploy.registry.access import RegistryOptions
from autodeploy.registry.auth import Authenticator, Call
from autodeploy.registry.manifest import (
    ACCEPT,
    KNOWN_TYPES,
    MAX_MANIFEST_BYTES,
    Manifest,
    ManifestError,
    media_type_of,
    sha256_digest,
)

RETRYABLE_STATUS = frozenset({429, 500, 502, 503, 504})
REDIRECT_STATUS = frozenset({301, 302, 303, 307, 308})
MAX_REDIRECTS = 10
MAX_WAIT_FLAG = "--registry-max-wait"
_USER_AGENT = f"autodeploy/{__version__}"
_SCHEMA1_TYPES = frozenset(
    {
        "application/vnd.docker.distribution.manifest.v1+json",
        "application/vnd.docker.distribution.manifest.v1+prettyjws",
    }
)


@dataclass(frozen=True)
class FetchedManifest:
    digest: str  # the sha256 of the bytes received
    manifest: Manifest

    @property
    def media_type(self) -> str:
        return self.manifest.media_type


@dataclass(frozen=True)
class ManifestInfo:
    digest: str
    media_type: str
    manifest: Manifest | None  # None when a HEAD answered and no body was read


class _KeepHeaders(requests.auth.AuthBase):
    """An auth that changes nothing: with no auth, requests would put ~/.netrc over our Authorization."""

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        return request


_KEEP_HEADERS = _KeepHeaders()


def allows_plain_http(host: str, insecure_registries: tuple[str, ...]) -> bool:
    """Docker's rule: loopback registries, and those named with --insecure-registry, speak HTTP."""
    host = host.lower()
    insecure = {h.lower() for h in insecure_registries}
    return is_loopback(host) or host in insecure or host.rsplit(":", 1)[0] in insecure


def is_loopback(host: str) -> bool:
    name = host.rsplit(":", 1)[0] if host.count(":") == 1 or host.startswith("[") else host
    name = name.strip("[]").lower()
    if name == "localhost":
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def budget_for(options: RegistryOptions) -> retry.Budget:
    return retry.Budget(
        options.max_wait,
        MAX_WAIT_FLAG,
        deadline=options.deadline,
        clock=options.clock,
        sleep=options.sleep,
    )


class RegistryClient:
    """`session` gets a transport.BoundedAdapter mounted, so that `budget` holds."""

    def __init__(
        self,
        session: requests.Session,
        authenticator: Authenticator,
        options: RegistryOptions,
        *,
        budget: retry.Budget | None = None,
    ) -> None:
        self._session = transport.mount(session)
        self._auth = authenticator
        self._timeout = options.timeout
        self._max_attempts = max(1, options.max_attempts)
        self._attempts = 0  # of the last request sent, for "after N attempts"
        self._insecure = options.insecure_registries
        self.budget = budget or budget_for(options)

    def head_manifest(self, ref: ImageRef, reference: str) -> ManifestInfo:
        """The digest `reference` (a tag or digest) points at, by HEAD; by GET when HEAD does not say."""
        with self._guard(ref.api_host):
            return self._head_manifest(ref, reference)

    def get_manifest(self, ref: ImageRef, reference: str) -> FetchedManifest:
        with self._guard(ref.api_host):
            return self._get_manifest(ref, reference)

    def get_blob(self, ref: ImageRef, digest: str, limit: int) -> bytes:
        with self._guard(ref.api_host):
            return self._get_blob(ref, digest, limit)

    def _head_manifest(self, ref: ImageRef, reference: str) -> ManifestInfo:
        response = self._request(ref, "HEAD", f"manifests/{reference}", accept=ACCEPT)
        if response.status_code == 200:
            media_type = media_type_of(response.headers.get("Content-Type"))
            _refuse_unsupported(ref, reference, media_type)
            digest = response.headers.get("Docker-Content-Digest", "")
            if validate.DIGEST_RE.fullmatch(digest) and media_type in KNOWN_TYPES:
                _check_requested(ref, reference, digest)
                return ManifestInfo(digest, media_type, None)
        elif response.status_code != 404:  # a 404 HEAD has no body to tell a tag from a repository
            raise self._error(ref, reference, response)
        # No digest header (ECR), or an error without a body: the GET answers with everything.
        fetched = self._get_manifest(ref, reference)
        return ManifestInfo(fetched.digest, fetched.media_type, fetched.manifest)

    def _get_manifest(self, ref: ImageRef, reference: str) -> FetchedManifest:
        response = self._request(ref, "GET", f"manifests/{reference}", accept=ACCEPT)
        if response.status_code != 200:
            raise self._error(ref, reference, response)
        body = self._read(response, MAX_MANIFEST_BYTES, f"the manifest of {_name(ref, reference)}")
        digest = sha256_digest(body)
        announced = response.headers.get("Docker-Content-Digest", "")
        if announced.startswith("sha256:") and announced != digest:
            raise RegistryError(
                f"registry {ref.registry} announced the digest {announced} for {_name(ref, reference)}, "
                f"but the manifest it sent hashes to {digest}; refusing to guess (a proxy or cache may be "
                "rewriting manifests)"
            )
        _check_requested(ref, reference, digest)
        content_type = response.headers.get("Content-Type")
        _refuse_unsupported(ref, reference, media_type_of(content_type))
        try:
            manifest = Manifest.parse(body, content_type)
        except ManifestError as exc:
            raise RegistryError(f"{_name(ref, reference)}: {exc}") from exc
        return FetchedManifest(digest, manifest)

    def _get_blob(self, ref: ImageRef, digest: str, limit: int) -> bytes:
        response = self._request(ref, "GET", f"blobs/{digest}")
        if response.status_code != 200:
            raise self._error(ref, digest, response)
        body = self._read(response, limit, f"the blob {digest} of {ref.name}")
        if sha256_digest(body) != digest:
            raise RegistryError(
                f"registry {ref.registry} sent a blob for {ref.name}@{digest} with other content"
            )
        return body

    # -- HTTP -----------------------------------------------------------------------------------

    def _url(self, ref: ImageRef, path: str) -> str:
        scheme = "http" if allows_plain_http(ref.api_host, self._insecure) else "https"
        return f"{scheme}://{ref.api_host}/v2/{ref.repository}/{path}"

    def _request(
        self, ref: ImageRef, method: str, path: str, *, accept: str | None = None
    ) -> requests.Response:
        headers = {"User-Agent": _USER_AGENT}
        if accept:
            headers["Accept"] = accept
        flow = self._auth.flow(
            Call(method, self._url(ref, path), headers),
            host=ref.api_host,
            registry=ref.registry,
            repository=ref.repository,
        )
        call = next(flow)
        while True:
            response = self._follow(call)
            try:
                call = flow.send(response)  # reads a token service's answer
            except StopIteration:
                return response
            except requests.RequestException as exc:
                raise self._body_error(response, "its answer", exc) from exc
            _discard(response)

    @contextmanager
    def _guard(self, host: str) -> Iterator[None]:
        try:
            with transport.guard(self.budget):
                yield
        except transport.OutOfTime as exc:
            raise self._out_of_time(host) from exc

    def _follow(self, call: Call) -> requests.Response:
        """Send `call`, following redirects to HTTP(S) URLs; Authorization stays on its host."""
        for _ in range(MAX_REDIRECTS + 1):
            response = self._send(call)
            location = response.headers.get("Location")
            if response.status_code not in REDIRECT_STATUS or not location:
                return response
            _discard(response)
            target = urljoin(call.url, location.strip())
            here, there = urlsplit(call.url), urlsplit(target)
            if there.scheme not in ("http", "https") or not there.netloc:
                raise RegistryError(
                    f"registry {here.netloc} redirected {call.method} {here.path} to "
                    f"{report.redact(target)[:200]}, which is not an HTTP(S) URL; refusing to follow it"
                )
            headers = dict(call.headers)
            if (there.scheme, there.netloc) != (here.scheme, here.netloc) and not (
                (here.scheme, there.scheme) == ("http", "https") and here.hostname == there.hostname
            ):
                headers.pop("Authorization", None)  # credentials and tokens are for their own host only
            method = "GET" if response.status_code == 303 and call.method != "HEAD" else call.method
            call = Call(method, target, headers)
        raise RegistryError(
            f"registry {urlsplit(call.url).netloc} redirected the request more than {MAX_REDIRECTS} "
            f"times (a redirect loop, last to {report.redact(call.url)[:200]}); check the registry"
        )

    def _send(self, call: Call) -> requests.Response:
        host = urlsplit(call.url).netloc
        for attempt in range(1, self._max_attempts + 1):
            self._attempts = attempt
            last = attempt == self._max_attempts
            try:
                response = self._session.request(
                    call.method,
                    call.url,
                    headers=dict(call.headers),
                    timeout=self._timeout,
                    auth=_KEEP_HEADERS,
                    stream=True,
                    allow_redirects=False,
                )
            except requests.exceptions.SSLError as exc:
                if transport.ran_out(self.budget, exc):
                    raise self._out_of_time(host) from exc
                raise RegistryError(
                    f"TLS with {host} failed ({_reason(exc)}): if {host} serves plain HTTP, "
                    f"pass --insecure-registry {host}"
                ) from exc
            except (requests.ConnectionError, requests.Timeout) as exc:
                if transport.ran_out(self.budget, exc):
                    raise self._out_of_time(host) from exc
                delay = retry.backoff(attempt, base=0.5, cap=8.0)
                why = f"did not answer ({_reason(exc)})"
                if last or not self.budget.allows(delay):
                    raise RegistryError(
                        f"registry {host} unreachable after {attempt} attempts ({_reason(exc)}): "
                        "check the registry host in the image name and the network"
                    ) from exc
            except requests.RequestException as exc:  # an invalid URL or header: not worth a retry
                raise RegistryError(f"cannot ask registry {host} ({_reason(exc)})") from exc
            else:
                if response.status_code not in RETRYABLE_STATUS or last:
                    return response
                why = f"answered {response.status_code}"
                asked = retry.retry_after(response.headers.get("Retry-After"))
                delay = asked if asked is not None else retry.backoff(attempt, base=0.5, cap=8.0)
                if not self.budget.allows(delay):
                    return response  # waiting would not end in time: the caller reports the answer
                _discard(response)
            report.info(
                f"registry {host} {why}; retrying in {delay:.1f} s, {attempt + 1} of {self._max_attempts}"
            )
            self.budget.sleep(delay)
        raise AssertionError("unreachable: the last attempt returns or raises")

    def _read(self, response: requests.Response, limit: int, what: str) -> bytes:
        try:
            return _read(response, limit, what)
        except requests.RequestException as exc:
            raise self._body_error(response, what, exc) from exc

    def _body_error(self, response: requests.Response, what: str, exc: Exception) -> RegistryError:
        """A body that did not arrive whole: cut short, or out of time."""
        response.close()
        host = urlsplit(response.url).netloc
        if transport.ran_out(self.budget, exc):
            return self._out_of_time(host)
        return RegistryError(
            f"registry {host} cut {what} short ({_reason(exc)}); retry, or check the network"
        )

    def _out_of_time(self, host: str) -> RegistryError:
        seconds, name = self.budget.limit()
        return RegistryError(
            f"registry {host} did not answer within {seconds:g} s ({name}); check the registry and the "
            f"network, or allow more time with {name}"
        )

    # -- errors ---------------------------------------------------------------------------------

    def _error(self, ref: ImageRef, reference: str, response: requests.Response) -> RegistryError:
        status = response.status_code
        name = _name(ref, reference)
        host = ref.registry
        if status == 401:
            credential = self._auth.credential(ref.registry)
            challenge = self._auth.challenge(ref.api_host)
            if credential is None and challenge is not None and challenge.scheme == "basic":
                return RegistryError(
                    f"registry {host} wants credentials to pull {ref.repository}: pass --registry-username "
                    "and --registry-password-stdin, set AUTODEPLOY_REGISTRY_USERNAME and "
                    f"AUTODEPLOY_REGISTRY_PASSWORD, or run docker login {host}"
                )
            hint = (
                "give credentials with --registry-username, AUTODEPLOY_REGISTRY_USERNAME or docker login"
                if credential is None
                else "check them, and that they may pull it"
            )
            return RegistryError(
                f"registry {host} refused {self._auth.describe(ref.registry)} for {ref.repository} "
                f"(HTTP 401; the repository may be private or not exist): {hint}"
            )
        if status == 403:
            return RegistryError(
                f"registry {host} denied {self._auth.describe(ref.registry)} access to {ref.repository} "
                "(HTTP 403): check that the credentials may pull it"
            )
        if status == 404:
            return self._not_found(ref, reference, response)
        if status == 429:
            wait = retry.retry_after(response.headers.get("Retry-After"))
            when = f"after {retry.seconds_text(wait)}" if wait else "later"
            return RegistryError(
                f"registry {host} rate-limited the request for {name} (HTTP 429): retry {when}, "
                "or log in for a higher limit"
            )
        if status >= 500:
            return RegistryError(
                f"registry {host} answered HTTP {status} for {name} after {self._attempts} attempts: "
                "retry later"
            )
        return RegistryError(f"registry {host} answered HTTP {status} for {name}{_error_detail(response)}")

    def _not_found(self, ref: ImageRef, reference: str, response: requests.Response) -> RegistryError:
        codes = _error_codes(response) if response.request.method != "HEAD" else set()
        if "NAME_UNKNOWN" in codes:
            return _repository_not_found(ref)
        if validate.DIGEST_RE.fullmatch(reference):
            return RegistryError(f"manifest {reference} not found in {ref.name}: check the digest")
        # distribution answers MANIFEST_UNKNOWN for a missing repository too; its tag list tells.
        probe = self._request(ref, "GET", "tags/list?n=1")
        _discard(probe)
        if probe.status_code == 404:
            return _repository_not_found(ref)
        if probe.status_code == 200 or "MANIFEST_UNKNOWN" in codes:
            return RegistryError(
                f"tag {reference!r} not found in {ref.name}: check the tag, or push it first"
            )
        return RegistryError(
            f"tag {reference!r} not found in {ref.name}, or the repository does not exist: "
            "check the image name and tag"
        )


def _repository_not_found(ref: ImageRef) -> RegistryError:
    return RegistryError(
        f"repository {ref.repository} not found on registry {ref.registry}: check the image name"
    )


def _name(ref: ImageRef, reference: str) -> str:
    return f"{ref.name}@{reference}" if reference.startswith("sha256:") else f"{ref.name}:{reference}"


def _check_requested(ref: ImageRef, reference: str, digest: str) -> None:
    if validate.DIGEST_RE.fullmatch(reference) and digest != reference:
        raise RegistryError(
            f"registry {ref.registry} answered the digest {digest} for {ref.name}@{reference}; "
            "refusing to guess (a proxy or cache may be rewriting manifests)"
        )


def _refuse_unsupported(ref: ImageRef, reference: str, media_type: str) -> None:
    if media_type in _SCHEMA1_TYPES:
        raise RegistryError(
            f"{_name(ref, reference)} is a Docker schema 1 image, whose digest registries rewrite: "
            "rebuild and push it with a current Docker or buildx"
        )
    if (
        media_type
        and media_type not in KNOWN_TYPES
        and not media_type.startswith(("application/json", "text/"))
    ):
        raise RegistryError(
            f"{_name(ref, reference)} has the media type {media_type}, which is neither an image manifest "
            "nor an index: check the tag"
        )


def _read(response: requests.Response, limit: int, what: str) -> bytes:
    chunks: list[bytes] = []
    size = 0
    for chunk in response.iter_content(chunk_size=65536):
        size += len(chunk)
        if size > limit:
            response.close()
            raise RegistryError(f"{what} is larger than {limit // (1024 * 1024)} MiB; refusing to read it")
        chunks.append(chunk)
    return b"".join(chunks)


def _discard(response: requests.Response) -> None:
    """Read a small body so the connection returns to the pool; close a large one."""
    try:
        _read(response, 65536, "a response")
    except (RegistryError, requests.RequestException):
        response.close()


def _error_codes(response: requests.Response) -> set[str]:
    try:
        errors = json.loads(_read(response, 65536, "an error")).get("errors") or []
        return {str(e.get("code")) for e in errors if isinstance(e, dict)}
    except (RegistryError, requests.RequestException, ValueError, AttributeError):
        return set()


def _error_detail(response: requests.Response) -> str:
    try:
        errors = json.loads(_read(response, 65536, "an error")).get("errors") or []
        first = errors[0]
        text = f"{first.get('code', '')}: {first.get('message', '')}".strip(": ")
    except (RegistryError, requests.RequestException, ValueError, AttributeError, IndexError, TypeError):
        return ""
    return f" ({report.redact(text)[:200]})" if text else ""


def _reason(exc: Exception) -> str:
    text = str(exc)
    for pattern in (r"\[SSL: ([A-Z_]+)\]", r"\[Errno -?\d+\] ([^'\")]+)"):
        match = re.search(pattern, text)
        if match:
            return match.group(1).strip().lower().replace("_", " ")
    if isinstance(exc, requests.Timeout):
        return "timed out"
    return type(exc).__name__
