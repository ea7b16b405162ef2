"""A small HTTP server on 127.0.0.1 that misbehaves on purpose: it drips, falls silent, redirects
in circles or to file://, cuts bodies short, sends hostile headers. For what neither the real
registry nor the GitHub fake can show. Each connection is answered by a plain function of the
request; every wait in here ends when the server stops, so no test can hang on it.

    with Misbehaving(lambda req: reply(200, body=b"{}")) as server:
        server.url("/v2/")               # "http://127.0.0.1:PORT/v2/"
        server.requests                  # every Request seen, headers included

    def test_x(serve: Serve) -> None:    # the fixture: servers stopped when the test ends
        server = serve(handler)
        message = one_line_within(1.0, RegistryError, lambda: ...)   # and it took < 1 s + SLACK

A handler returns the bytes to send (the connection stays open for the next request), a `Hangup`
(bytes, then the connection is closed), a `Drip` (bytes sent one at a time) or `SILENT`.
"""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import pytest

STOP_TIMEOUT = 5.0
SLACK = 1.0  # seconds a bounded run may take past its bound (thread start, teardown)


@dataclass(frozen=True)
class Request:
    method: str
    path: str
    headers: dict[str, str]  # lowercased names

    def header(self, name: str) -> str | None:
        return self.headers.get(name.lower())


@dataclass(frozen=True)
class Drip:
    data: bytes
    interval: float = 1.0  # seconds between bytes
    prefix: bytes = b""  # sent at once, before the drip


@dataclass(frozen=True)
class Hangup:
    data: bytes


SILENT = object()  # read the request, never answer

Answer = bytes | Drip | object
Handler = Callable[[Request], Answer]


def reply(
    status: int, headers: dict[str, str] | None = None, body: bytes = b"", *, length: int | None = None
) -> bytes:
    """A whole HTTP/1.1 answer; `length` overrides Content-Length (a lie makes a truncated body)."""
    lines = [f"HTTP/1.1 {status} X"]
    merged = {"Content-Length": str(len(body) if length is None else length), **(headers or {})}
    lines += [f"{k}: {v}" for k, v in merged.items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body


@dataclass
class Misbehaving:
    handler: Handler
    requests: list[Request] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._stop = threading.Event()
        self._listener = socket.socket()
        self._listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._listener.bind(("127.0.0.1", 0))
        self._listener.listen(16)
        self._listener.settimeout(0.05)
        self.port = int(self._listener.getsockname()[1])
        self.host = f"127.0.0.1:{self.port}"
        self._threads: list[threading.Thread] = []
        self._lock = threading.Lock()

    def url(self, path: str = "/") -> str:
        return f"http://{self.host}{path}"

    def __enter__(self) -> Misbehaving:
        thread = threading.Thread(target=self._accept, daemon=True)
        thread.start()
        self._threads.append(thread)
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        for thread in list(self._threads):
            thread.join(STOP_TIMEOUT)
        self._listener.close()

    def _accept(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self._listener.accept()
            except (TimeoutError, OSError):
                continue
            thread = threading.Thread(target=self._serve, args=(conn,), daemon=True)
            thread.start()
            with self._lock:
                self._threads.append(thread)

    def _serve(self, conn: socket.socket) -> None:
        conn.settimeout(0.1)
        buffer = b""
        with conn:
            while not self._stop.is_set():
                while b"\r\n\r\n" not in buffer:
                    try:
                        chunk = conn.recv(65536)
                    except TimeoutError:
                        if self._stop.is_set():
                            return
                        continue
                    except OSError:
                        return
                    if not chunk:
                        return
                    buffer += chunk
                head, _, buffer = buffer.partition(b"\r\n\r\n")
                request = _parse(head)
                length = int(request.headers.get("content-length", "0") or 0)
                while len(buffer) < length and not self._stop.is_set():
                    try:
                        buffer += conn.recv(65536)
                    except TimeoutError:
                        continue
                buffer = buffer[length:]
                with self._lock:
                    self.requests.append(request)
                answer = self.handler(request)
                try:
                    if answer is SILENT:
                        self._stop.wait()
                        return
                    if isinstance(answer, Hangup):
                        conn.sendall(answer.data)
                        return
                    if isinstance(answer, Drip):
                        conn.sendall(answer.prefix)
                        for i in range(len(answer.data)):
                            conn.sendall(answer.data[i : i + 1])
                            if self._stop.wait(answer.interval):
                                return
                        continue
                    assert isinstance(answer, bytes)
                    conn.sendall(answer)
                except OSError:
                    return  # the client hung up: what a bounded client does to a drip


def _parse(head: bytes) -> Request:
    lines = head.decode("latin-1").split("\r\n")
    method, path, _ = [*lines[0].split(" "), "", ""][:3]
    headers: dict[str, str] = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    return Request(method, path, headers)


@contextlib.contextmanager
def never_accepts() -> Iterator[str]:
    """host:port of a socket whose accept queue is full: a connect there hangs until it times out
    (as with a host that drops packets)."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(0)
    host, port = listener.getsockname()
    fillers: list[socket.socket] = []
    try:
        for _ in range(8):  # Linux admits backlog + 1; the rest hang in SYN_SENT
            filler = socket.socket()
            filler.setblocking(False)
            with contextlib.suppress(BlockingIOError):
                filler.connect((host, port))
            fillers.append(filler)
        yield f"{host}:{port}"
    finally:
        for filler in fillers:
            filler.close()
        listener.close()


Serve = Callable[[Handler], Misbehaving]


@pytest.fixture
def serve() -> Iterator[Serve]:
    """Start a misbehaving server with this handler; all of them stop when the test ends."""
    with contextlib.ExitStack() as stack:
        yield lambda handler: stack.enter_context(Misbehaving(handler))


def one_line_within(bound: float, error: type[Exception], run: Callable[[], object]) -> str:
    """The one-line message of the `error` that `run` raises, within `bound` seconds (+ SLACK)."""
    started = time.monotonic()
    with pytest.raises(error) as caught:
        run()
    elapsed = time.monotonic() - started
    assert elapsed < bound + SLACK, f"took {elapsed:.1f} s"
    message = str(caught.value)
    assert "\n" not in message
    return message
