"""The deploys on a branch, read from a comparison with its base: one row per image file it changes.

Pure. A comparison lists each changed file with its patch (three lines of context), and a deploy
changes the tag, digest and commit lines of the generated block, which sit within three lines of
one another; the old side of the patch (context and `-` lines) holds what the base runs, the new
side (context and `+` lines) what the branch deploys. When a patch is missing (GitHub leaves out
very large ones) the row keeps what the previous state said, or question marks.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import replace

from autodeploy.github.models import Comparison
from autodeploy.github.prbody import Row
from autodeploy.plan import path_pattern

__all__ = ["path_pattern", "rows_from_comparison", "sides"]

_KEY_RE = re.compile(r"^\s*(tag|digest|GITHUB_COMMIT_HASH|GITHUB_REPO_URL)\s*:\s*(.*?)\s*$")
_FIELDS = {"tag": "tag", "digest": "digest", "GITHUB_COMMIT_HASH": "commit", "GITHUB_REPO_URL": "repo_url"}


def rows_from_comparison(
    comparison: Comparison, pattern: re.Pattern[str], previous: Mapping[str, Row] | None = None
) -> tuple[Row, ...]:
    rows = []
    for changed in comparison.files:
        match = pattern.fullmatch(changed.path)
        if match is None or changed.status == "removed":
            continue
        app = match.groupdict().get("app") or changed.path
        env = match.groupdict().get("env") or "?"
        before = (previous or {}).get(changed.path)
        if changed.patch is None:
            rows.append(before or Row(changed.path, app, env))
            continue
        old, new = sides(changed.patch)
        if changed.status == "added":
            old = {}
        row = Row(
            path=changed.path,
            app=app,
            env=env,
            new_tag=new.get("tag"),
            digest=new.get("digest"),
            commit=new.get("commit"),
            repo_url=new.get("repo_url") or old.get("repo_url"),
            old_tag=old.get("tag"),
            old_digest=old.get("digest"),
            old_commit=old.get("commit"),
        )
        if before is not None and (before.reason or before.promoted_from) and before.commit == row.commit:
            row = replace(row, reason=before.reason, promoted_from=before.promoted_from)
        rows.append(row)
    return tuple(rows)


def sides(patch: str) -> tuple[dict[str, str], dict[str, str]]:
    """The block values on the old and new side of a unified-diff patch (the last of each key wins)."""
    old: dict[str, str] = {}
    new: dict[str, str] = {}
    for line in _lines(patch):
        if not line or line.startswith(("@@", "\\")):
            continue
        sign, text = line[0], line[1:]
        match = _KEY_RE.match(text)
        if match is None:
            continue
        key, value = _FIELDS[match.group(1)], _unquote(match.group(2))
        if key == "digest" and not value.startswith("sha256:"):
            continue
        if sign in " -":
            old[key] = value
        if sign in " +":
            new[key] = value
    return old, new


def _lines(patch: str) -> Iterable[str]:
    return (line.rstrip("\r") for line in patch.split("\n"))


def _unquote(value: str) -> str:
    value = value.split(" #", 1)[0].strip()
    if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
        return value[1:-1]
    return value
