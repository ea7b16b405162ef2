"""Independent reads overlapped (autodeploy.overlap): answers in the order asked, at most four in
flight, the first alone, an error raised as a loop would raise it."""

from __future__ import annotations

import threading

import pytest

from autodeploy.overlap import MAX_IN_FLIGHT, overlapped


def test_answers_come_in_the_order_asked_with_at_most_four_in_flight() -> None:
    lock = threading.Lock()
    flying: list[int] = [0, 0]  # now, most
    together = threading.Barrier(MAX_IN_FLIGHT, timeout=10)  # the first four pooled reads meet here
    main = threading.get_ident()
    first_alone: list[bool] = []

    def read(n: int) -> int:
        with lock:
            flying[0] += 1
            flying[1] = max(flying[1], flying[0])
        if n == 0:
            first_alone.append(threading.get_ident() == main)
        elif n <= MAX_IN_FLIGHT:
            together.wait()
        with lock:
            flying[0] -= 1
        return n * n

    assert overlapped([lambda n=n: read(n) for n in range(12)]) == [n * n for n in range(12)]
    assert flying[1] == MAX_IN_FLIGHT and first_alone == [True]


def test_one_read_starts_no_thread() -> None:
    assert overlapped([threading.get_ident]) == [threading.get_ident()]
    assert overlapped([]) == []


def test_an_error_is_raised_after_the_reads_in_flight_end() -> None:
    done: list[int] = []

    def read(n: int) -> int:
        if n == 2:
            raise ValueError("the third read failed")
        done.append(n)
        return n

    with pytest.raises(ValueError, match="the third read failed"):
        overlapped([lambda n=n: read(n) for n in range(4)])
    assert 0 in done and 1 in done


def test_a_read_that_never_answers_ends_the_wait_with_one_line(monkeypatch: pytest.MonkeyPatch) -> None:
    from autodeploy import overlap
    from autodeploy.errors import AutodeployError

    monkeypatch.setattr(overlap, "ANSWER_WITHIN", 0.05)
    never = threading.Event()
    with pytest.raises(AutodeployError, match="1 overlapped reads gave no answer within 0.05 s"):
        overlap.overlapped([lambda: 1, lambda: never.wait(5) and 2])
    never.set()
