"""The pull request body: a table of every deploy on the branch, and the state it was written from.

Pure. autodeploy owns the part between its begin and end markers and keeps whatever people wrote
around it. The hidden state records the rows and the branch head they describe, so the next run
can tell whether the table is still current (its commit's parent is that head) or must be rebuilt
from a comparison of the branch with its base (another run, a person or a merge moved the branch).
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import asdict, dataclass, fields, replace

BEGIN = "<!-- autodeploy:begin -->"
END = "<!-- autodeploy:end -->"
_STATE_RE = re.compile(r"<!-- autodeploy:state (\{.*?\}) -->", re.DOTALL)
_SECTION_RE = re.compile(re.escape(BEGIN) + r".*?" + re.escape(END), re.DOTALL)
_DIGEST_SHOWN = len("sha256:") + 12
MAX_BODY = 65_536  # characters GitHub takes in a pull request body


@dataclass(frozen=True)
class Row:
    """One app and env on the branch: what the base runs (old) and what the branch deploys (new)."""

    path: str
    app: str
    env: str
    new_tag: str | None = None
    digest: str | None = None
    commit: str | None = None
    repo_url: str | None = None  # the source repository's web URL, from the block's annotation
    old_tag: str | None = None
    old_digest: str | None = None
    old_commit: str | None = None
    reason: str | None = None  # why, for a rollback
    source_repo: str | None = None  # the block's GITHUB_REPOSITORY comment, for deriving the file
    promoted_from: str | None = None  # a promotion: "staging, where it has run since ..."

    @property
    def is_noop(self) -> bool:
        return (self.old_tag, self.old_digest, self.old_commit) == (self.new_tag, self.digest, self.commit)


@dataclass(frozen=True)
class State:
    head: str | None  # the branch commit the rows describe
    rows: tuple[Row, ...]


def read_state(body: str) -> State | None:
    """The state hidden in a body autodeploy wrote, or None (a body people wrote, or a damaged one)."""
    section = _SECTION_RE.search(body or "")
    match = _STATE_RE.search(section.group(0)) if section else None
    if not match:
        return None
    try:
        data = json.loads(match.group(1))
        names = {f.name for f in fields(Row)}
        rows = tuple(Row(**{k: v for k, v in item.items() if k in names}) for item in data["rows"])
        head = data.get("head")
        return State(head if isinstance(head, str) else None, rows)
    except (ValueError, KeyError, TypeError, AttributeError):
        return None


def has_section(body: str) -> bool:
    """Whether autodeploy's section is in the body (with or without its hidden state)."""
    return bool(_SECTION_RE.search(body or ""))


def write_body(existing: str, state: State, *, limit: int = MAX_BODY, origin: str = "") -> str:
    """`existing` with autodeploy's section replaced by one for `state` (or added at its end), within
    GitHub's limit: when every row does not fit, the table shows those that do; when the hidden
    state does not fit either, it is left out (the next run rebuilds the table from a comparison)."""
    body = _fit(existing, state, limit, hidden=True, origin=origin)
    return body if len(body) <= limit else _fit(existing, state, limit, hidden=False, origin=origin)


def _fit(existing: str, state: State, limit: int, *, hidden: bool, origin: str) -> str:
    shown = len(state.rows)
    body = _with_section(existing, render(state, hidden=hidden, origin=origin))
    while len(body) > limit and shown > 0:  # at most one render per row; a few in practice
        shown = max(0, min(shown - 1, shown * limit // len(body)))
        body = _with_section(existing, render(state, shown=shown, hidden=hidden, origin=origin))
    return body


def _with_section(existing: str, section: str) -> str:
    if existing and _SECTION_RE.search(existing):
        return _SECTION_RE.sub(lambda _: section, existing, count=1)
    return f"{existing.rstrip()}\n\n{section}" if existing.strip() else section


def render(state: State, *, shown: int | None = None, hidden: bool = True, origin: str = "") -> str:
    """The section for `state`: its first `shown` rows in the table (all by default), and the
    hidden state unless `hidden` is False."""
    rows = sorted(state.rows, key=lambda r: (r.app, r.env, r.path))
    visible = rows if shown is None else rows[:shown]
    lines = [BEGIN, "### Deploys on this branch", ""]
    if visible:
        lines += [
            "| App | Environment | Tag | Digest | Source commit | Changes |",
            "| --- | --- | --- | --- | --- | --- |",
        ]
        lines += [_table_row(row) for row in visible]
    elif not rows:
        lines.append("Nothing: this branch deploys the same images as its base.")
    if len(visible) < len(rows):
        more = len(rows) - len(visible)
        lines += [
            "",
            f"…and {more} more (the table is longer than a pull request body holds): see Files changed.",
        ]
    for row in visible:
        if row.reason:
            lines += [
                "",
                f"**Rollback** of `{row.app}` in `{row.env}` from {_version(row.old_tag, row.old_digest)} to "
                f"{_version(row.new_tag, row.digest)}: {_one_line(row.reason)}",
            ]
    for row in visible:
        if row.promoted_from:
            lines += [
                "",
                f"**Promotion** of `{row.app}` to `{row.env}`: {_version(row.new_tag, row.digest)} from "
                f"{_one_line(row.promoted_from)}",
            ]
    written = f"Last written by {_one_line(origin)}. " if origin else ""
    lines += [
        "",
        f"<sub>{written}autodeploy rewrites this section on every deploy to this branch; "
        "write your notes above it.</sub>",
    ]
    if hidden:
        payload = json.dumps({"head": state.head, "rows": [asdict(r) for r in rows]}, separators=(",", ":"))
        payload = payload.replace("-->", "--\\u003e")  # a reason must not end the HTML comment
        lines.append(f"<!-- autodeploy:state {payload} -->")
    lines.append(END)
    return "\n".join(lines)


def merge_rows(base: Sequence[Row], updates: Sequence[Row]) -> tuple[Row, ...]:
    """`base` with the rows of `updates` put in by path, keeping what `base` says the base branch
    runs (the old side); rows that change nothing are left out."""
    by_path = {row.path: row for row in base}
    for row in updates:
        before = by_path.get(row.path)
        if before is not None:
            row = replace(
                row, old_tag=before.old_tag, old_digest=before.old_digest, old_commit=before.old_commit
            )
        by_path[row.path] = row
    return tuple(row for row in by_path.values() if not row.is_noop)


def _version(tag: str | None, digest: str | None) -> str:
    return f"`{tag or '?'}` (`{digest[:_DIGEST_SHOWN] if digest else 'no digest'}`)"


def _table_row(row: Row) -> str:
    old = f"`{row.old_tag}` → " if row.old_tag and row.old_tag != row.new_tag else ""
    tag = f"{old}**`{row.new_tag}`**" if row.new_tag else "?"
    if row.new_tag and row.old_tag == row.new_tag and row.old_digest and row.digest != row.old_digest:
        shown_old, shown_new = (
            row.old_digest.removeprefix("sha256:")[:4],
            (row.digest or "?").removeprefix("sha256:")[:4],
        )
        tag += f" (pushed again: sha256:{shown_old} → {shown_new})"
    digest = f"`{row.digest[:_DIGEST_SHOWN]}`" if row.digest else "?"
    url = (row.repo_url or "").rstrip("/")
    commit = f"[`{row.commit[:7]}`]({url}/commit/{row.commit})" if row.commit and url else _code(row.commit)
    changes = "—"
    if url and row.commit and row.old_commit and row.old_commit != row.commit:
        changes = (
            f"[`{row.old_commit[:7]}...{row.commit[:7]}`]({url}/compare/{row.old_commit}...{row.commit})"
        )
    cells = [_code(row.app), _code(row.env), tag, digest, commit, changes]
    return "| " + " | ".join(cells) + " |"


def _code(value: str | None) -> str:
    return f"`{_one_line(value)}`" if value else "?"


def _one_line(text: str) -> str:
    return " ".join(text.split()).replace("|", "\\|").replace("<", "&lt;")
