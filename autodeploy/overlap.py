"""Independent reads that cannot be batched, overlapped: at most MAX_IN_FLIGHT at once, answers in
the order asked. Writes never come here: they stay one at a time, in order.

The downgrade guard's compares are such reads: one per source commit that a `--targets` deploy
finds deployed, each its own REST request (GitHub's GraphQL cannot compare two commits). The first
is asked alone, so that a client and its token are made once, before any thread wants them; the
rest go at most MAX_IN_FLIGHT at a time, in daemon threads, so that Ctrl-C or SIGTERM ends the run
at once rather than after the reads in flight. An error is raised as the one-at-a-time loop would
have raised it (the first in order), once every read has ended (each is bounded by its client).
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Sequence
from typing import TypeVar

from autodeploy.errors import AutodeployError

MAX_IN_FLIGHT = 4
# Each read is bounded by its client's deadline; this bounds the wait for them should one not be.
ANSWER_WITHIN = 900.0
T = TypeVar("T")


def overlapped(reads: Sequence[Callable[[], T]]) -> list[T]:
    if len(reads) <= 1:
        return [read() for read in reads]
    first = reads[0]()
    todo: queue.SimpleQueue[int] = queue.SimpleQueue()
    for index in range(1, len(reads)):
        todo.put(index)
    ended: queue.SimpleQueue[tuple[int, T | None, BaseException | None]] = queue.SimpleQueue()

    def work() -> None:
        while True:
            try:
                index = todo.get_nowait()
            except queue.Empty:
                return
            try:
                ended.put((index, reads[index](), None))
            except BaseException as exc:  # handed to the caller's thread, raised there
                ended.put((index, None, exc))

    for number in range(min(MAX_IN_FLIGHT, len(reads) - 1)):
        threading.Thread(target=work, name=f"autodeploy-read-{number}", daemon=True).start()
    answers: dict[int, T | None] = {0: first}
    errors: dict[int, BaseException] = {}
    while len(answers) + len(errors) < len(reads):
        try:
            index, answer, error = ended.get(timeout=ANSWER_WITHIN)  # Ctrl-C interrupts the wait
        except queue.Empty:
            raise AutodeployError(
                f"{len(reads) - len(answers) - len(errors)} overlapped reads gave no answer "
                f"within {ANSWER_WITHIN:g} s"
            ) from None
        if error is not None:
            errors[index] = error
        else:
            answers[index] = answer
    if errors:
        raise errors[min(errors)]
    return [answers[index] for index in range(len(reads))]  # type: ignore[misc]
