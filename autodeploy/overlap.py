"""Independent reads that cannot be batched, overlapped: at most MAX_IN_FLIGHT at once, answers in
the order asked. Writes never come here: they stay one at a time, in order.

The downgrade guard's compares are such reads: one per source commit that a `--targets` deploy
finds deployed, each its own REST request (GitHub's GraphQL cannot compare two commits). The first
is asked alone, so that a client and its token are made once, before any thread wants them; the
rest go at most MAX_IN_FLIGHT at a time. An error is raised as the one-at-a-time loop would have
raised it, after the reads in flight have ended (each is bounded by its client's budget).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TypeVar

MAX_IN_FLIGHT = 4
T = TypeVar("T")


def overlapped(reads: Sequence[Callable[[], T]]) -> list[T]:
    if len(reads) <= 1:
        return [read() for read in reads]
    first = reads[0]()
    from concurrent.futures import ThreadPoolExecutor  # only a run with several reads starts threads

    with ThreadPoolExecutor(max_workers=min(MAX_IN_FLIGHT, len(reads) - 1)) as pool:
        futures = [pool.submit(read) for read in reads[1:]]
        try:
            return [first, *(future.result() for future in futures)]
        except BaseException:
            pool.shutdown(wait=True, cancel_futures=True)
            raise
