"""How to reach GitHub and what the pull request looks like; pure, so flags can build it without PyGithub."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

DEFAULT_API_URL = "https://api.github.com"


@dataclass(frozen=True)
class ClientOptions:
    api_url: str = DEFAULT_API_URL
    timeout: int = 30  # seconds per request
    max_attempts: int = 5  # per request, for 5xx, dropped connections and rate limits
    max_wait: float = 300.0  # seconds spent waiting out rate limits and backoff, per client
    sleep: Callable[[float], None] = field(default=time.sleep, repr=False, compare=False)
    clock: Callable[[], float] = field(default=time.time, repr=False, compare=False)


@dataclass(frozen=True)
class PullOptions:
    """What autodeploy adds to the pull requests it opens."""

    reviewers: tuple[str, ...] = ()  # users, or ORG/TEAM for teams
    merge_method: str = "merge"
    draft: bool = False
