"""Waiting, in one place: backoff with jitter, `Retry-After` and rate-limit resets read defensively,
and time limits on a monotonic clock with an injectable clock and sleep. Pure: no network library.

    Deadline.after(300, "--deadline")        a point in time: the whole command ends by it
    Budget(120, "--registry-max-wait", deadline=d)
                                             the time one service may take in all (connect, read
                                             and sleeps), counted while `running`, never past `d`
    backoff(attempt)                         the n-th retry's wait, jittered, capped; the
                                             pipeline's compare-and-swap loop uses
                                             backoff(attempt, base=0.25, cap=8.0)
    retry_after(header)                      seconds a `Retry-After` asks for, or None for nonsense
    reset_after(header, now)                 seconds until an `x-ratelimit-reset` epoch, or None
    RequestWindow(30)                        a hard bound on requests per minute (the wait's polls)

A wait longer than what is left is not slept: the caller gives up at once and says why (it could not
succeed within the bound anyway); a shorter one is slept through `Budget.sleep`.
"""

from __future__ import annotations

import math
import re
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

Clock = Callable[[], float]
Sleep = Callable[[float], None]

_DELAY_RE = re.compile(r"\d{1,15}(?:\.\d{1,6})?")  # 15 digits: ~31 million years, still a float
_EPOCH_RE = re.compile(r"\d{1,15}")


@dataclass(frozen=True)
class Deadline:
    """A moment on `clock` (monotonic by default) that a command, or a part of it, must end by.
    `name` says which limit set it ("--deadline"), for the message of whoever runs out of it."""

    at: float
    seconds: float  # the limit as given, for messages
    name: str
    clock: Clock = field(default=time.monotonic, repr=False, compare=False)

    @classmethod
    def after(cls, seconds: float, name: str, *, clock: Clock = time.monotonic) -> Deadline:
        return cls(clock() + max(0.0, seconds), max(0.0, seconds), name, clock)

    def remaining(self) -> float:
        return self.at - self.clock()

    def expired(self) -> bool:
        return self.remaining() <= 0.0

    def allows(self, seconds: float) -> bool:
        """Whether a wait of `seconds` leaves time for what comes after it."""
        return math.isfinite(seconds) and seconds < self.remaining()


class Budget:
    """The time one service (a registry, GitHub) may take in all: `seconds` spent inside `running()`
    blocks, connect, read and sleeps together, and never past `deadline`, the command's own.

    Blocks may run in several threads at once (overlapped reads): the time counted is the time any
    block was running, once (a watchdog only reads `remaining`)."""

    def __init__(
        self,
        seconds: float,
        name: str,
        *,
        deadline: Deadline | None = None,
        clock: Clock = time.monotonic,
        sleep: Sleep = time.sleep,
    ) -> None:
        self.seconds = max(0.0, seconds)
        self.name = name
        self.deadline = deadline
        self.clock = clock
        self._sleep = sleep
        self._spent = 0.0
        self._entered: float | None = None
        self._depth = 0
        self._lock = threading.Lock()
        self.slept = 0.0  # of the time spent, how much was sleeping

    @property
    def spent(self) -> float:
        running = self.clock() - self._entered if self._entered is not None else 0.0
        return self._spent + running

    def remaining(self) -> float:
        """Seconds left: of this budget, or until the deadline, whichever is less (may be negative)."""
        left = self.seconds - self.spent
        if self.deadline is not None:
            left = min(left, self.deadline.remaining())
        return left

    def exhausted(self, slack: float = 0.01) -> bool:
        return self.remaining() <= slack

    def allows(self, seconds: float) -> bool:
        """Whether a wait of `seconds` leaves time for the request after it."""
        return math.isfinite(seconds) and seconds < self.remaining()

    def sleep(self, seconds: float) -> None:
        """Sleep `seconds`, never longer than what is left."""
        wait = min(max(0.0, seconds), max(0.0, self.remaining()))
        if wait > 0:
            self.slept += wait
            self._sleep(wait)

    def limit(self) -> tuple[float, str]:
        """The limit that binds now, as given and by name: (10.0, "--github-max-wait")."""
        if self.deadline is not None and self.deadline.remaining() < self.seconds - self.spent:
            return self.deadline.seconds, self.deadline.name
        return self.seconds, self.name

    def describe(self) -> str:
        """ "10 s (--github-max-wait)", for "did not answer within ..." messages."""
        seconds, name = self.limit()
        return f"{seconds:g} s ({name})"

    @contextmanager
    def running(self) -> Iterator[Budget]:
        """Count the time inside the block against the budget; nested blocks count once."""
        with self._lock:
            if self._depth == 0:
                self._entered = self.clock()
            self._depth += 1
        try:
            yield self
        finally:
            with self._lock:
                self._depth -= 1
                if self._depth == 0 and self._entered is not None:
                    self._spent += self.clock() - self._entered
                    self._entered = None


def backoff(
    attempt: int,
    *,
    base: float = 0.5,
    cap: float = 30.0,
    jitter: Callable[[], float] | None = None,
) -> float:
    """The wait before retry `attempt` (1, 2, ...): base * 2^(attempt-1), capped, times a jitter
    in [0.5, 1.5) so that runs which failed together do not retry together."""
    if jitter is None:
        import random  # on first use: it costs a run that never retries part of its start-up

        jitter = random.random
    exponent = min(max(attempt, 1) - 1, 60)  # 2**60 is past any cap, and still a float
    return float(min(cap, base * 2.0**exponent) * (0.5 + jitter()))


def retry_after(value: str | None, *, now: Clock = time.time) -> float | None:
    """The seconds a `Retry-After` header asks for: delay-seconds, or an HTTP date (0 if past).
    None for anything else: empty, negative, `inf`, `1e308`, `soon`, a number too large to mean
    anything. Callers fall back to their own backoff then."""
    text = (value or "").strip()
    if not text:
        return None
    if _DELAY_RE.fullmatch(text):
        return float(text)
    if len(text) > 64 or not text[:1].isalpha():  # HTTP dates start with a weekday
        return None
    from email.utils import parsedate_to_datetime  # only on this rare path

    try:
        when = parsedate_to_datetime(text).timestamp()
    except (TypeError, ValueError, OverflowError, IndexError):
        return None
    wait = when - now()
    return max(0.0, wait) if math.isfinite(wait) else None


def reset_after(value: str | None, now: float) -> float | None:
    """Seconds until the epoch second an `x-ratelimit-reset` header names, plus one for clock skew;
    None for anything but an integer (`1e300`, `soon`). A reset in the past waits one second."""
    text = (value or "").strip()
    if not _EPOCH_RE.fullmatch(text):
        return None
    return max(1.0, float(text) - now + 1.0)


def seconds_text(seconds: float) -> str:
    """A wait for a message: "42 s", "3 min", "5 h", or "an unbounded time"."""
    if not math.isfinite(seconds):
        return "an unbounded time"
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 7200:
        return f"{seconds / 60:.0f} min"
    if seconds < 200 * 86400:
        return f"{seconds / 3600:.0f} h"
    return "more than 200 days"


class RequestWindow:
    """A hard bound: at most `limit` requests in any `window` seconds. `record(n)` notes n requests
    just made; `delay()` is how long to sleep before the next `cost` requests fit."""

    def __init__(self, limit: int, *, clock: Clock = time.monotonic, window: float = 60.0) -> None:
        self.limit = max(1, limit)
        self.clock = clock
        self.window = window
        self._times: list[float] = []

    def record(self, count: int) -> None:
        now = self.clock()
        self._times.extend([now] * max(0, count))

    def delay(self, cost: int = 1) -> float:
        now = self.clock()
        self._times = [t for t in self._times if now - t < self.window]
        over = len(self._times) + cost - self.limit
        if over <= 0:
            return 0.0
        return max(0.0, self._times[min(over, len(self._times)) - 1] + self.window - now)
