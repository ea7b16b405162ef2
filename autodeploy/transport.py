"""requests held to a retry.Budget: every byte of a request, not every socket read.

requests' timeouts bound each socket operation, so a server that drips one byte every few seconds
never trips them. Here two things hold a request to its budget:

    with transport.guard(budget):           # counts the block against the budget, and arms a
        session.request(...)                # watchdog for what is left of it
        response.content

- `BoundedAdapter`, mounted on the session, clamps each request's connect and read timeouts to what
  is left, refuses to start when nothing is, and uses connections that tell the active guard
  which socket they are using;
- the watchdog (one daemon thread for the process) shuts that socket down when the guard's budget
  runs out, so a blocked read returns at once with a connection error; `ran_out(budget, exc)`
  tells the caller that this is why.

The guard belongs to the thread that entered it: reads overlapped in threads (autodeploy.overlap)
each enter their own, on one budget.
"""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

import requests
from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool
from urllib3.poolmanager import PoolManager

from autodeploy.retry import Budget


class OutOfTime(requests.exceptions.Timeout):
    """The budget ran out before or while a request was made."""


class _Watch:
    def __init__(self, budget: Budget, due: float) -> None:
        self.budget = budget
        self.due = due  # on time.monotonic: the watchdog thread keeps real time
        self.fired = False
        self._connections: list[HTTPConnection] = []
        self._lock = threading.Lock()

    def attach(self, connection: HTTPConnection) -> None:
        with self._lock:
            if self.fired:
                _shut(connection)
            elif connection not in self._connections:
                self._connections.append(connection)

    def expire(self) -> None:
        with self._lock:
            self.fired = True
            for connection in self._connections:
                _shut(connection)


def _shut(connection: HTTPConnection) -> None:
    sock = getattr(connection, "sock", None)
    if sock is not None:
        with contextlib.suppress(OSError):  # already closed
            sock.shutdown(socket.SHUT_RDWR)


class _Watchdog:
    """One daemon thread for the process that expires watches when they fall due: arming one is a
    lock and a notify, not a thread start (a Timer per request cost more than the request)."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._watches: set[_Watch] = set()
        self._thread: threading.Thread | None = None

    def arm(self, watch: _Watch) -> None:
        with self._cond:
            self._watches.add(watch)
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, name="autodeploy-watchdog", daemon=True)
                self._thread.start()
            self._cond.notify()

    def disarm(self, watch: _Watch) -> None:
        with self._cond:
            self._watches.discard(watch)

    def armed(self) -> int:
        with self._cond:
            return len(self._watches)

    def _run(self) -> None:
        with self._cond:
            while True:
                now = time.monotonic()
                for watch in [w for w in self._watches if w.due <= now]:
                    self._watches.discard(watch)
                    watch.expire()
                upcoming = min((w.due for w in self._watches), default=None)
                self._cond.wait(None if upcoming is None else upcoming - now)


_WATCHDOG = _Watchdog()
_local = threading.local()


def _current() -> _Watch | None:
    watch: _Watch | None = getattr(_local, "watch", None)
    return watch


@contextmanager
def guard(budget: Budget) -> Iterator[Budget]:
    """Hold the requests in the block to `budget`; a nested guard on the same budget adds nothing."""
    outer = _current()
    if outer is not None and outer.budget is budget:
        yield budget
        return
    with budget.running():
        remaining = budget.remaining()
        if remaining <= 0:
            raise OutOfTime(f"no time left of {budget.describe()}")
        watch = _Watch(budget, time.monotonic() + remaining)
        _WATCHDOG.arm(watch)
        _local.watch = watch
        try:
            yield budget
        finally:
            _WATCHDOG.disarm(watch)
            _local.watch = outer


def ran_out(budget: Budget, exc: BaseException | None = None) -> bool:
    """Whether a failure (or the lack of time for another attempt) is the budget running out."""
    return isinstance(exc, OutOfTime) or budget.exhausted()


def _attach(connection: HTTPConnection) -> None:
    watch = _current()
    if watch is not None:
        watch.attach(connection)


class _WatchedHTTPConnection(HTTPConnection):
    def connect(self) -> None:
        _attach(self)
        super().connect()
        _attach(self)  # the watchdog may have fired while the socket was being made

    def request(self, *args: Any, **kwargs: Any) -> None:
        _attach(self)
        super().request(*args, **kwargs)


class _WatchedHTTPSConnection(HTTPSConnection):
    def connect(self) -> None:
        _attach(self)
        super().connect()
        _attach(self)

    def request(self, *args: Any, **kwargs: Any) -> None:
        _attach(self)
        super().request(*args, **kwargs)


class _WatchedHTTPPool(HTTPConnectionPool):
    ConnectionCls = _WatchedHTTPConnection


class _WatchedHTTPSPool(HTTPSConnectionPool):
    ConnectionCls = _WatchedHTTPSConnection


_POOLS: Mapping[str, type[HTTPConnectionPool]] = {"http": _WatchedHTTPPool, "https": _WatchedHTTPSPool}


class BoundedAdapter(HTTPAdapter):
    """An HTTPAdapter whose requests obey the guard active in this thread (none: plain requests).
    It never retries by itself: the clients' retries are counted and waited through their budget."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(max_retries=0, **kwargs)

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = dict(_POOLS)

    def proxy_manager_for(self, proxy: str, **proxy_kwargs: Any) -> PoolManager:
        manager: PoolManager = super().proxy_manager_for(proxy, **proxy_kwargs)
        if not proxy.lower().startswith("socks"):
            manager.pool_classes_by_scheme = dict(_POOLS)
        return manager

    def send(
        self,
        request: requests.PreparedRequest,
        stream: bool = False,
        timeout: Any = None,
        verify: Any = True,
        cert: Any = None,
        proxies: Any = None,
    ) -> requests.Response:
        watch = _current()
        if watch is not None:
            remaining = watch.budget.remaining()
            if remaining <= 0 or watch.fired:
                raise OutOfTime(f"no time left of {watch.budget.describe()}", request=request)
            timeout = _clamp(timeout, remaining)
        return super().send(
            request, stream=stream, timeout=timeout, verify=verify, cert=cert, proxies=proxies
        )


def _clamp(timeout: Any, remaining: float) -> Any:
    if timeout is None:
        return (remaining, remaining)
    if isinstance(timeout, int | float):
        return (min(float(timeout), remaining), min(float(timeout), remaining))
    if isinstance(timeout, tuple) and len(timeout) == 2:
        connect, read = timeout
        return (
            remaining if connect is None else min(float(connect), remaining),
            remaining if read is None else min(float(read), remaining),
        )
    return timeout  # a urllib3 Timeout: the watchdog still holds the request to the budget


def mount(session: requests.Session) -> requests.Session:
    """Make `session` obey guards (idempotent); returns it."""
    for prefix in ("http://", "https://"):
        if not isinstance(session.adapters.get(prefix), BoundedAdapter):
            session.mount(prefix, BoundedAdapter())
    return session
