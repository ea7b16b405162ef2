"""The one place errors become exit codes, for the CLI and the Action alike.

    with ErrorBoundary(debug=..., hint=...) as boundary:
        ...
    return boundary.code

AutodeployError -> its one-line message and its exit code; Ctrl-C or SIGTERM -> 130; a closed
standard output (`autodeploy history | head`) -> a quiet exit; anything else -> one line naming the
hint and exit 3, or the traceback when debugging. `on_error(message, bug)` lets the Action add its
summary line (`bug`: the exception of an unexpected error, else None).
"""

from __future__ import annotations

import os
import signal
import sys
from collections.abc import Callable
from types import FrameType, TracebackType

from autodeploy import report
from autodeploy.errors import EXIT_BUG, EXIT_INTERRUPTED, AutodeployError


class ErrorBoundary:
    def __init__(
        self, *, debug: bool, hint: str, on_error: Callable[[str, BaseException | None], None] | None = None
    ) -> None:
        self.debug = debug
        self.hint = hint
        self.on_error = on_error
        self.code = 0
        self._previous: signal._HANDLER = None

    def __enter__(self) -> ErrorBoundary:
        # PID 1 in the Action's container ignores SIGTERM unless it handles it: a cancelled job would
        # hang until killed. Elsewhere SIGTERM is treated as Ctrl-C, so both end the same way.
        try:
            self._previous = signal.signal(signal.SIGTERM, _interrupt)
        except ValueError:  # not the main thread: leave signals alone
            self._previous = None
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> bool:
        if self._previous is not None:
            signal.signal(signal.SIGTERM, self._previous)
        if exc is None:
            return False
        if isinstance(exc, AutodeployError):
            self._fail(exc.message, exc.exit_code)
        elif isinstance(exc, KeyboardInterrupt):
            self._fail("interrupted", EXIT_INTERRUPTED)
        elif isinstance(exc, BrokenPipeError):
            _silence_stdout()
            self.code = 0
        elif isinstance(exc, SystemExit | GeneratorExit):
            return False  # --help and --version exit through argparse on purpose
        elif self.debug:
            return False
        else:
            self._fail(f"unexpected error: {type(exc).__name__}: {exc} ({self.hint})", EXIT_BUG, exc)
        return True

    def _fail(self, message: str, code: int, bug: BaseException | None = None) -> None:
        report.error(message)
        if self.on_error is not None:
            self.on_error(message, bug)
        self.code = code


def _interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt


def _silence_stdout() -> None:
    """The reader went away: point stdout at /dev/null so the interpreter's final flush is quiet."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):
        pass
    finally:
        os.close(devnull)
