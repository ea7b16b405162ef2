"""How to reach GitHub: the API, and the bounds on time and attempts; pure, so both entrypoints can
build it without PyGithub."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

from autodeploy.retry import Deadline

DEFAULT_API_URL = "https://api.github.com"
DEFAULT_MAX_WAIT = 300.0


@dataclass(frozen=True)
class ClientOptions:
    api_url: str = DEFAULT_API_URL
    graphql_url: str | None = None  # GITHUB_GRAPHQL_URL; None: derived from api_url
    timeout: int = 30  # seconds per connect and per read
    max_attempts: int = 5  # per request, for 5xx, dropped connections and rate limits
    # All the time a client spends on GitHub: connect, read, rate limits and backoff together.
    max_wait: float = DEFAULT_MAX_WAIT
    deadline: Deadline | None = None  # the command's: no request goes past it
    sleep: Callable[[float], None] = field(default=time.sleep, repr=False, compare=False)
    clock: Callable[[], float] = field(default=time.time, repr=False, compare=False)  # epoch seconds
    # What max_wait is measured on; tests give it the clock their sleep advances.
    monotonic: Callable[[], float] = field(default=time.monotonic, repr=False, compare=False)
