"""PyGithub's Requester with bounded retries, and the one place GitHub failures become our errors.

Every request goes through `Client.request`: it retries 5xx answers and dropped connections with
backoff, waits out primary (`x-ratelimit-remaining: 0`) and secondary (`Retry-After`, 403/429)
rate limits, all within `max_attempts` per request and one retry.Budget per client: `max_wait`
seconds of connect, read and sleeps together, never past the command's `deadline`. The budget is
enforced byte by byte (autodeploy.transport, mounted on the sessions PyGithub makes), so a dripping
or silent API ends the run on time. Any other failure becomes a one-line GitHubError or InputError
that says what to do. Statuses a caller handles itself (a 404 meaning "no such file", a 409
meaning "lost the race") are passed in `allow` and come back as a Response.

PyGithub is used for its transport, authentication and GHES URL handling; its object model is
not, because its objects complete themselves with hidden GETs, and every request here is counted.
"""

from __future__ import annotations

import json
import logging
import re
import threading
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import requests

from autodeploy import __version__, report, retry, transport
from autodeploy.errors import AutodeployError, GitHubError, InputError
from autodeploy.github.connection import ClientOptions

if TYPE_CHECKING:
    from github.Auth import Auth
    from github.Requester import Requester, RequestsResponse

API_VERSION = "2022-11-28"
RETRYABLE = frozenset({500, 502, 503, 504})
MAX_WAIT_FLAG = "--github-max-wait"
_PROTECTION_HINTS = (
    "protected branch",
    "rule violation",
    "must be made through a pull request",
    "creations being restricted",
    "updates being restricted",
    "required status check",
    "must have verified signatures",
    "ruleset",
)


@dataclass(frozen=True)
class Response:
    status: int
    headers: Mapping[str, str] = field(repr=False)
    data: Any  # parsed JSON, or None for an empty body

    @property
    def message(self) -> str:
        """GitHub's error message, with the messages of its `errors` list."""
        if not isinstance(self.data, dict):
            return ""
        parts = [str(self.data.get("message") or "")]
        for item in self.data.get("errors") or ():
            text = item.get("message") or item.get("code") if isinstance(item, dict) else item
            if text and str(text) not in parts[0]:
                parts.append(str(text))
        return ": ".join(p for p in parts if p)


class Client:
    """One GitHub API endpoint with one set of credentials."""

    def __init__(self, auth: Auth | None, options: ClientOptions, *, credentials_hint: str) -> None:
        from github import Github  # imported here: only the --gitops-repo path loads PyGithub

        _quiet_pygithub_logs()
        self.options = options
        self.api_url = options.api_url.rstrip("/")
        self.credentials_hint = credentials_hint
        self.budget = retry.Budget(
            options.max_wait,
            MAX_WAIT_FLAG,
            deadline=options.deadline,
            clock=options.monotonic,
            sleep=options.sleep,
        )
        self.requests = 0
        self.granted: dict[str, str] | None = None  # an installation token's permissions, when known
        self._github = Github(
            auth=auth,
            base_url=self.api_url,
            timeout=options.timeout,
            user_agent=f"autodeploy/{__version__}",
            per_page=100,
            retry=None,  # retries are ours: bounded, and with an injectable sleep
            seconds_between_requests=None,
            seconds_between_writes=None,
            lazy=True,
            api_version=API_VERSION,
        )
        _bound_connections(self._github.requester)
        self._main = threading.get_ident()
        self._threads = threading.local()  # a requester per thread of overlapped reads
        self._count = threading.Lock()

    @property
    def waited(self) -> float:
        """Seconds slept so far, waiting out rate limits and backoff."""
        return self.budget.slept

    @property
    def graphql_url(self) -> str:
        return self.options.graphql_url or self._github.requester.graphql_url

    def request(
        self,
        verb: str,
        path: str,
        *,
        doing: str,
        params: Mapping[str, Any] | None = None,
        body: Any = None,
        allow: Collection[int] = (),
        needs: str = "",
        headers: Mapping[str, str] | None = None,
    ) -> Response:
        """Send one request, retried within the bounds; `doing` names it in errors ("reading x in o/r").
        `headers` are sent as well (If-None-Match, for a conditional GET)."""
        try:
            with transport.guard(self.budget):
                return self._request(verb, path, doing, params, body, allow, needs, headers)
        except transport.OutOfTime as exc:
            raise self._out_of_time(doing) from exc

    def _request(
        self,
        verb: str,
        path: str,
        doing: str,
        params: Mapping[str, Any] | None,
        body: Any,
        allow: Collection[int],
        needs: str,
        headers: Mapping[str, str] | None = None,
    ) -> Response:
        for attempt in range(1, self.options.max_attempts + 1):
            try:
                response = self._send(verb, path, params, body, headers)
            except (requests.RequestException, OSError) as exc:
                if transport.ran_out(self.budget, exc):
                    raise self._out_of_time(doing) from exc
                wait = retry.backoff(attempt, base=1.0, cap=30.0)
                if attempt < self.options.max_attempts and self.budget.allows(wait):
                    report.info(
                        f"GitHub did not answer ({type(exc).__name__}); retrying in {wait:.1f} s, "
                        f"{attempt + 1} of {self.options.max_attempts}"
                    )
                    self.budget.sleep(wait)
                    continue
                raise GitHubError(
                    f"{doing}: cannot reach GitHub at {self.api_url} ({type(exc).__name__}); "
                    "check GITHUB_API_URL and the network, then run again"
                ) from exc
            except RuntimeError as exc:  # PyGithub refuses some 301s, and recurses on others
                if not isinstance(exc, RecursionError) and "redirected" not in str(exc):
                    raise
                raise GitHubError(
                    f"{doing}: GitHub at {self.api_url} redirected the request to another host or "
                    "scheme, or in a loop; check GITHUB_API_URL (GitHub Enterprise Server: "
                    "https://HOST/api/v3)"
                ) from exc
            retry_in = self._retry_wait(response, attempt)
            if retry_in is None:
                if response.status < 300 or response.status in allow:
                    return response
                raise self.failure(response, doing=doing, needs=needs)
            if attempt < self.options.max_attempts and self.budget.allows(retry_in):
                report.info(
                    f"GitHub answered {response.status}; retrying in {retry_in:.1f} s, "
                    f"{attempt + 1} of {self.options.max_attempts}"
                )
                self.budget.sleep(retry_in)
                continue
            raise self._gave_up(response, doing, retry_in)
        raise AssertionError("unreachable")

    def graphql(self, query: str, variables: Mapping[str, Any], *, doing: str, needs: str = "") -> Response:
        """A GraphQL request; GraphQL-level errors come back in `data["errors"]` for the caller."""
        return self.request(
            "POST", self.graphql_url, doing=doing, body={"query": query, "variables": variables}, needs=needs
        )

    def failure(
        self, response: Response, *, doing: str, needs: str = "", missing: str = ""
    ) -> GitHubError | InputError:
        """The one-line error for a failed request; `missing` describes what a 404 means here."""
        status, message = response.status, response.message or "no message"
        lowered = message.lower()
        if status == 401:
            return GitHubError(
                f"{doing}: GitHub rejected the credentials (401 {message}); {self.credentials_hint}"
            )
        if status == 403 and "not accessible" in lowered:
            grant = f"give it {needs}" if needs else "check its permissions"
            return GitHubError(
                f"{doing}: the token is not allowed to do this (403 {message}); {grant} "
                "(the workflow's `permissions:` block, or the GitHub App's repository permissions)"
            )
        if status == 404:
            what = missing or "the repository or branch"
            return InputError(
                f"{doing}: not found (404); check that {what} exists and that the token can read it "
                "(GitHub answers 404 for repositories a token cannot see)"
            )
        if status in {403, 409, 422} and is_protection(response):
            return GitHubError(
                f"{doing}: a branch protection rule or ruleset refused the write ({status} {message}); "
                "exempt autodeploy's token or App from it, or pick a branch it does not cover with --branch"
            )
        if status in RETRYABLE:
            return GitHubError(
                f"{doing}: GitHub kept failing ({status} {message}) after {self.options.max_attempts} "
                "attempts; try again later (https://www.githubstatus.com)"
            )
        return GitHubError(f"{doing}: GitHub answered {status}: {message}")

    def _requester(self) -> Requester:
        """PyGithub's Requester keeps one connection object that holds a request between its two
        calls: each thread that overlaps reads gets its own, with the same settings and auth."""
        main = self._github.requester
        if threading.get_ident() == self._main:
            return main
        own: Requester | None = getattr(self._threads, "requester", None)
        if own is None:
            own = main.withAuth(main.auth)
            _bound_connections(own)
            self._threads.requester = own
        return own

    def _send(
        self,
        verb: str,
        path: str,
        params: Mapping[str, Any] | None,
        body: Any,
        extra: Mapping[str, str] | None = None,
    ) -> Response:
        with self._count:
            self.requests += 1
        status, headers, output = self._requester().requestJson(
            verb,
            path,
            parameters=dict(params) if params else None,
            headers={"Accept": "application/vnd.github+json", **(extra or {})},
            input=body,
        )
        lowered = {str(k).lower(): str(v) for k, v in headers.items()}
        try:
            data = json.loads(output) if output and output.strip() else None
        except ValueError:
            if status < 300:  # a proxy's HTML page, most likely: worth a retry
                return Response(502, lowered, {"message": "GitHub answered with a body that is not JSON"})
            data = None
        return Response(status, lowered, data)

    def _retry_wait(self, response: Response, attempt: int) -> float | None:
        """Seconds to wait before retrying this response, or None when it is not retryable.
        Headers that make no sense (`Retry-After: inf`, `x-ratelimit-reset: soon`) are ignored."""
        status, headers = response.status, response.headers
        asked = retry.retry_after(headers.get("retry-after"), now=self.options.clock)
        if status in {403, 429}:
            exhausted = headers.get("x-ratelimit-remaining") == "0"
            if exhausted:
                reset = retry.reset_after(headers.get("x-ratelimit-reset"), self.options.clock())
                if reset is not None:
                    return reset
            if asked is not None:
                return asked
            if exhausted or "retry-after" in headers or "rate limit" in response.message.lower():
                return 60.0 * attempt  # GitHub: wait at least a minute, longer each time
            return None
        if status in RETRYABLE:
            return asked if asked is not None else retry.backoff(attempt, base=1.0, cap=30.0)
        return None

    def _gave_up(self, response: Response, doing: str, wait: float) -> AutodeployError:
        if response.status in RETRYABLE:
            return self.failure(response, doing=doing)
        if wait <= 86400:
            when = datetime.fromtimestamp(self.options.clock() + wait, UTC).strftime("%H:%M:%S UTC")
            resume = f"until about {when}"
        else:
            resume = f"for {retry.seconds_text(wait)}"
        kind = "primary" if response.headers.get("x-ratelimit-remaining") == "0" else "secondary"
        seconds, name = self.budget.limit()
        return GitHubError(
            f"{doing}: GitHub's {kind} rate limit for these credentials is reached {resume}, "
            f"longer than autodeploy waits ({seconds:.0f} s in all, {name}); run again then "
            "(a GitHub App installation has a higher limit than GITHUB_TOKEN)"
        )

    def _out_of_time(self, doing: str) -> GitHubError:
        seconds, name = self.budget.limit()
        return GitHubError(
            f"{doing}: GitHub at {self.api_url} did not answer within {seconds:g} s ({name}); "
            f"check GITHUB_API_URL and the network, or allow more time with {name}"
        )


def is_protection(response: Response) -> bool:
    lowered = response.message.lower()
    return any(hint in lowered for hint in _PROTECTION_HINTS)


def _bound_connections(requester: Any) -> None:
    """Make the sessions PyGithub's Requester opens obey transport guards, and keep rate-limit
    headers PyGithub would crash on (`x-ratelimit-reset: soon` is a ValueError in it) from it.
    PyGithub has no hook for its sessions; its connection classes are per Requester instance, under
    their mangled names (PyGithub is pinned in requirements.lock; a test fails should they move)."""
    from github.Requester import HTTPRequestsConnectionClass, HTTPSRequestsConnectionClass

    class Http(HTTPRequestsConnectionClass):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            transport.mount(self.session)

        def getresponse(self) -> RequestsResponse:
            return _sane(super().getresponse())

    class Https(HTTPSRequestsConnectionClass):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            transport.mount(self.session)

        def getresponse(self) -> RequestsResponse:
            return _sane(super().getresponse())

    current = "_Requester__connectionClass"
    if not hasattr(requester, current) or getattr(requester, "_Requester__connection", None) is not None:
        raise AssertionError("PyGithub's Requester changed: autodeploy cannot bound its requests")
    requester._Requester__httpConnectionClass = Http
    requester._Requester__httpsConnectionClass = Https
    setattr(requester, current, Https if requester.scheme == "https" else Http)


_RATE_HEADERS = ("x-ratelimit-limit", "x-ratelimit-remaining", "x-ratelimit-reset")
_PLAIN_NUMBER = re.compile(r"\d{1,15}(?:\.\d{1,6})?")


def _sane(response: RequestsResponse) -> RequestsResponse:
    """The response without rate-limit headers that are no plain number (PyGithub int()s them)."""
    headers = response.headers
    for name in _RATE_HEADERS:
        value = headers.get(name)
        if value is not None and not _PLAIN_NUMBER.fullmatch(value.strip()):
            del headers[name]
    return response


class _Redact(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = report.redact(record.getMessage())
        record.args = None
        return True


def _quiet_pygithub_logs() -> None:
    """PyGithub logs whole responses at DEBUG, installation tokens included: keep that off, and
    redact registered secrets from whatever its loggers still emit (a filter does not reach the
    records of child loggers, hence each by name)."""
    logging.getLogger("github").setLevel(logging.INFO)
    for name in ("github", "github.Requester", "github.GithubRetry"):
        logger = logging.getLogger(name)
        if not any(isinstance(f, _Redact) for f in logger.filters):
            logger.addFilter(_Redact())
