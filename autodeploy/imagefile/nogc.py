"""The one switch for big-text work (parsing, rewriting and diffing a file of any size): the
cyclic garbage collector held off while it runs.

That work makes a few objects a line and no reference cycles, so each collection the allocations
trigger finds nothing to free, while scanning every object the process holds: on a 50,000-line file
the collector, run over and over, more than doubles the time. Reference counting still frees
everything as usual; the collector runs again, as before, once the block ends.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def no_cyclic_gc() -> Iterator[None]:
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()
