"""The OCI distribution API over one requests.Session: manifests by HEAD or GET, blobs, retries.

Every call has a timeout and goes through the auth flow; 429, 5xx and dropped connections are
retried with backoff (Retry-After honoured) up to `max_attempts`. Every digest it returns was either
announced by the registry for a HEAD, or computed from the exact bytes a GET returned and checked
against what the registry announced. Failures become one-line RegistryErrors at this edge.
"""

from __future__ import annotations

import ipaddress
import json
import re
import time
from collections.abc import Callable
from dataclasses import dataclass

import requests

from autodeploy import __version__, report, validate
from autodeploy.errors import RegistryError
from autodeploy.imageref import ImageRef
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
from autodeploy.registry.options import RegistryOptions

RETRYABLE_STATUS = frozenset({429, 500, 502, 503, 504})
MAX_RETRY_AFTER = 60.0  # seconds; a registry asking for a longer wait gets an error that says so
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


class RegistryClient:
    def __init__(
        self,
        session: requests.Session,
        authenticator: Authenticator,
        options: RegistryOptions,
        *,
        sleep: Callable[[float], None] | None = None,
    ) -> None:
        self._session = session
        self._auth = authenticator
        self._timeout = options.timeout
        self._max_attempts = max(1, options.max_attempts)
        self._insecure = options.insecure_registries
        self._sleep = sleep or time.sleep

    def head_manifest(self, ref: ImageRef, reference: str) -> ManifestInfo:
        """The digest `reference` (a tag or digest) points at, by HEAD; by GET when HEAD does not say."""
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
        fetched = self.get_manifest(ref, reference)
        return ManifestInfo(fetched.digest, fetched.media_type, fetched.manifest)

    def get_manifest(self, ref: ImageRef, reference: str) -> FetchedManifest:
        response = self._request(ref, "GET", f"manifests/{reference}", accept=ACCEPT)
        if response.status_code != 200:
            raise self._error(ref, reference, response)
        body = _read(response, MAX_MANIFEST_BYTES, f"the manifest of {_name(ref, reference)}")
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

    def get_blob(self, ref: ImageRef, digest: str, limit: int) -> bytes:
        response = self._request(ref, "GET", f"blobs/{digest}")
        if response.status_code != 200:
            raise self._error(ref, digest, response)
        body = _read(response, limit, f"the blob {digest} of {ref.name}")
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
            response = self._send(call)
            try:
                call = flow.send(response)
            except StopIteration:
                return response
            _discard(response)

    def _send(self, call: Call) -> requests.Response:
        host = call.url.split("/", 3)[2]
        for attempt in range(1, self._max_attempts + 1):
            last = attempt == self._max_attempts
            try:
                response = self._session.request(
                    call.method,
                    call.url,
                    headers=dict(call.headers),
                    timeout=self._timeout,
                    auth=_KEEP_HEADERS,
                    stream=True,
                )
            except requests.exceptions.SSLError as exc:
                raise RegistryError(
                    f"TLS with {host} failed ({_reason(exc)}): if {host} serves plain HTTP, "
                    f"pass --insecure-registry {host}"
                ) from exc
            except (requests.ConnectionError, requests.Timeout) as exc:
                if last:
                    raise RegistryError(
                        f"registry {host} unreachable after {attempt} attempts ({_reason(exc)}): "
                        "check the registry host in the image name and the network"
                    ) from exc
                delay = _backoff(attempt)
            else:
                if response.status_code not in RETRYABLE_STATUS or last:
                    return response
                delay = _retry_after(response) or _backoff(attempt)
                if delay > MAX_RETRY_AFTER:
                    return response
                _discard(response)
            self._sleep(delay)
        raise AssertionError("unreachable: the last attempt returns or raises")

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
            wait = _retry_after(response)
            when = f"after {wait:.0f} s" if wait else "later"
            return RegistryError(
                f"registry {host} rate-limited the request for {name} (HTTP 429): retry {when}, "
                "or log in for a higher limit"
            )
        if status >= 500:
            return RegistryError(
                f"registry {host} answered HTTP {status} for {name} after {self._max_attempts} attempts: "
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


def _backoff(attempt: int) -> float:
    return float(min(0.5 * 2 ** (attempt - 1), 8.0))


def _retry_after(response: requests.Response) -> float | None:
    value = response.headers.get("Retry-After", "").strip()
    if not value:
        return None
    if value.isdigit():
        return float(value)
    from email.utils import parsedate_to_datetime  # only on this rare path

    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


def _reason(exc: Exception) -> str:
    text = str(exc)
    for pattern in (r"\[SSL: ([A-Z_]+)\]", r"\[Errno -?\d+\] ([^'\")]+)"):
        match = re.search(pattern, text)
        if match:
            return match.group(1).strip().lower().replace("_", " ")
    if isinstance(exc, requests.Timeout):
        return "timed out"
    return type(exc).__name__
