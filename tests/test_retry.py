"""The one retry helper: hostile headers give bounded waits or None, never an exception; budgets
and deadlines run on an injected clock and sleep."""

from __future__ import annotations

import math
from datetime import UTC, datetime
from email.utils import format_datetime

import pytest

from autodeploy import retry
from autodeploy.retry import Budget, Deadline


class Clock:
    def __init__(self) -> None:
        self.now = 500.0
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


NOW = 1_800_000_000.0


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("7", 7.0),
        (" 12 ", 12.0),
        ("1.5", 1.5),
        ("0", 0.0),
        ("inf", None),
        ("Infinity", None),
        ("nan", None),
        ("1e308", None),
        ("99999999999999999999", None),
        ("9" * 400, None),
        ("-5", None),
        ("soon", None),
        ("", None),
        (None, None),
        ("Wed, 99 Foo 2026 25:61:61 GMT", None),
        ("Fri, 31 Dec 9999 23:59:59 GMT", 253402300799.0 - NOW),
        ("Sat, 01 Jan 2000 00:00:00 GMT", 0.0),  # in the past: now
    ],
)
def test_retry_after_ignores_nonsense(value: str | None, expected: float | None) -> None:
    assert retry.retry_after(value, now=lambda: NOW) == expected


def test_retry_after_reads_an_http_date() -> None:
    when = datetime.fromtimestamp(NOW + 42, UTC)
    assert retry.retry_after(format_datetime(when, usegmt=True), now=lambda: NOW) == 42.0


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (str(int(NOW) + 42), 43.0),
        (str(int(NOW) - 100), 1.0),
        ("1e300", None),
        ("soon", None),
        ("inf", None),
        ("-1", None),
        ("9" * 400, None),
        (None, None),
    ],
)
def test_reset_after_ignores_nonsense(value: str | None, expected: float | None) -> None:
    assert retry.reset_after(value, NOW) == expected


def test_backoff_is_the_pipelines_formula_with_its_base_and_cap() -> None:
    for attempt in range(1, 12):
        for r in (0.0, 0.3, 0.999):
            expected = min(8.0, 0.25 * 2 ** (attempt - 1)) * (0.5 + r)
            assert retry.backoff(attempt, base=0.25, cap=8.0, jitter=lambda r=r: r) == expected


def test_backoff_doubles_is_capped_and_jittered() -> None:
    low, high = (lambda: 0.0), (lambda: 0.999999)
    assert [retry.backoff(n, base=0.5, cap=8.0, jitter=low) for n in (1, 2, 3, 6, 10_000)] == [
        0.25,
        0.5,
        1.0,
        4.0,
        4.0,
    ]
    assert retry.backoff(1, base=0.5, cap=8.0, jitter=high) == pytest.approx(0.75)
    assert all(0.125 <= retry.backoff(1, base=0.25) < 0.375 for _ in range(100))
    assert math.isfinite(retry.backoff(10**9))


def test_a_budget_counts_time_only_while_running_and_sleeps_within_it() -> None:
    clock = Clock()
    budget = Budget(10, "--registry-max-wait", clock=clock, sleep=clock.sleep)
    clock.now += 100  # outside any block: not spent
    assert budget.remaining() == 10
    with budget.running():
        clock.now += 3
        with budget.running():  # nested: counted once
            clock.now += 1
        assert budget.remaining() == 6
        assert budget.allows(5) and not budget.allows(6) and not budget.allows(math.inf)
        budget.sleep(100)  # never longer than what is left
    assert clock.slept == [6.0] and budget.remaining() == 0 and budget.exhausted()
    budget.sleep(1)
    assert clock.slept == [6.0]
    assert budget.describe() == "10 s (--registry-max-wait)"


def test_the_deadline_caps_a_budget_and_names_itself() -> None:
    clock = Clock()
    deadline = Deadline.after(5, "--deadline", clock=clock)
    budget = Budget(120, "--github-max-wait", deadline=deadline, clock=clock, sleep=clock.sleep)
    assert budget.remaining() == 5 and budget.describe() == "5 s (--deadline)"
    assert deadline.allows(4.9) and not deadline.allows(5) and not deadline.allows(math.nan)
    clock.now += 6
    assert deadline.expired() and budget.exhausted() and not deadline.allows(0)
    roomy = Budget(
        2, "--github-max-wait", deadline=Deadline.after(60, "--deadline", clock=clock), clock=clock
    )
    assert roomy.describe() == "2 s (--github-max-wait)"


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (42, "42 s"),
        (3600, "60 min"),
        (18000, "5 h"),
        (1e20, "more than 200 days"),
        (math.inf, "an unbounded time"),
    ],
)
def test_seconds_text(seconds: float, text: str) -> None:
    assert retry.seconds_text(seconds) == text
