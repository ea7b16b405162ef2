"""Conditional GETs for polling: each path's last ETag and answer are kept, and sent back as
If-None-Match, so an unchanged resource costs a bodiless 304 that GitHub does not count against the
primary rate limit."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from autodeploy.github.client import Client


@dataclass(frozen=True)
class Polled:
    data: Any  # the answer's JSON: this request's, or for a 304 the one it confirmed
    status: int  # of the resource (200, or an allowed error such as 404); a 304 keeps the last one
    changed: bool  # False: GitHub answered 304, nothing changed since the last poll
    not_modified: bool = False


class Conditional:
    """One client's conditional GETs, by path and query."""

    def __init__(self, client: Client) -> None:
        self.client = client
        self._last: dict[str, tuple[str | None, int, Any]] = {}  # key -> (etag, status, data)
        self.not_modified = 0  # 304s received, for the benchmark

    def get(
        self,
        path: str,
        *,
        doing: str,
        needs: str = "",
        params: Mapping[str, Any] | None = None,
        allow: tuple[int, ...] = (),
    ) -> Polled:
        key = path + "?" + "&".join(f"{k}={v}" for k, v in sorted((params or {}).items()))
        last = self._last.get(key)
        headers = {"If-None-Match": last[0]} if last and last[0] else None
        got = self.client.request(
            "GET", path, doing=doing, needs=needs, params=params, allow=(304, *allow), headers=headers
        )
        if got.status == 304 and last is not None:
            self.not_modified += 1
            return Polled(last[2], last[1], changed=False, not_modified=True)
        self._last[key] = (got.headers.get("etag") or None, got.status, got.data)
        changed = last is None or last[2] != got.data or last[1] != got.status
        return Polled(got.data, got.status, changed=changed)
