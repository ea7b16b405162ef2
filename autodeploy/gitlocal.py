"""Thin functions over the git binary, for local checkouts of the GitOps and source repositories."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import IO, TYPE_CHECKING

from autodeploy.errors import GitError, InputError
from autodeploy.plan import Relation

if TYPE_CHECKING:
    from autodeploy.deploys import FileVersion, Pending

_TIMEOUT = 60.0


@dataclass(frozen=True)
class Result:
    returncode: int
    stdout: str  # decoded as UTF-8 with no newline translation: CRLF files stay CRLF
    stderr: str


def git(repo: str, *args: str, check: bool = True, stdin: str | None = None) -> Result:
    env = {**os.environ, "GIT_TERMINAL_PROMPT": "0", "LC_ALL": "C"}
    try:
        done = subprocess.run(
            ["git", "-C", repo, *args],
            capture_output=True,
            env=env,
            timeout=_TIMEOUT,
            check=False,
            input=stdin.encode("utf-8") if stdin is not None else None,
        )
    except FileNotFoundError as exc:
        raise GitError("git is not installed (needed for local history)") from exc
    except subprocess.TimeoutExpired as exc:
        raise GitError(f"git {args[0]} took longer than {_TIMEOUT:.0f}s in {repo}") from exc
    result = Result(
        done.returncode,
        done.stdout.decode("utf-8", "surrogateescape"),
        done.stderr.decode("utf-8", "replace"),
    )
    if check and result.returncode != 0:
        detail = (result.stderr.strip().splitlines() or ["no output"])[-1]
        raise GitError(f"git {args[0]} failed in {repo}: {detail}")
    return result


def toplevel(path: str) -> str | None:
    """The work tree that holds `path`, or None outside any git repository."""
    result = git(path, "rev-parse", "--show-toplevel", check=False)
    return result.stdout.strip() if result.returncode == 0 else None


def may_be_repository(path: str) -> bool:
    """Whether git could find a repository at `path`, told without starting git: a `.git` there or in
    a directory above, a bare repository, or GIT_DIR set. False only when git would find none, so
    that a deploy in a plain directory starts no git process."""
    if os.environ.get("GIT_DIR"):
        return True
    here = os.path.abspath(path)
    if os.path.isfile(os.path.join(here, "HEAD")) and os.path.isdir(os.path.join(here, "objects")):
        return True
    while True:
        if os.path.exists(os.path.join(here, ".git")):
            return True
        parent = os.path.dirname(here)
        if parent == here:
            return False
        here = parent


def resolve_commits(repo: str, *commits: str) -> list[str | None] | None:
    """The full id of each commit, None for one the repository lacks; None when `repo` is in no git
    repository at all. One git process for all of them, none when `repo` cannot be in one."""
    if not may_be_repository(repo):
        return None
    result = git(
        repo, "cat-file", "--batch-check", check=False, stdin="".join(f"{c}^{{commit}}\n" for c in commits)
    )
    if result.returncode != 0:
        return None
    found: list[str | None] = []
    for line in result.stdout.splitlines():
        parts = line.split()
        found.append(parts[0] if len(parts) == 3 and parts[1] == "commit" else None)
    return found


def relation(repo: str, old: str, new: str) -> Relation:
    """How `new` stands to `old` in the repository's history."""
    found = resolve_commits(repo, old, new)
    if found is None:
        return Relation.NO_HISTORY
    if len(found) != 2 or found[0] is None or found[1] is None:
        return Relation.UNKNOWN
    if found[0] == found[1]:
        return Relation.SAME
    if git(repo, "merge-base", "--is-ancestor", old, new, check=False).returncode == 0:
        return Relation.NEWER
    if git(repo, "merge-base", "--is-ancestor", new, old, check=False).returncode == 0:
        return Relation.OLDER
    return Relation.DIVERGED


class GitSourceHistory:
    """The downgrade guard's view of the source repository, from a local clone of it."""

    def __init__(self, repo: str) -> None:
        self.repo = repo

    def relation(self, repo: str, old: str, new: str) -> Relation:
        return relation(self.repo, old, new)


@dataclass(frozen=True)
class LogEntry:
    commit: str
    date: str  # ISO 8601, committer date
    author: str
    subject: str


_FIELD = "\x1f"
_RECORD = "\x1e"


def log(repo: str, path: str, *, limit: int, rev: str = "HEAD") -> list[LogEntry]:
    """The commits of `rev`'s first-parent line that changed `path`, newest first: the versions the
    branch held, one after another. A merge counts against its first parent, so the commits of a
    merged branch are not listed, only the merge that brought them, dated when it was made."""
    fmt = _FIELD.join(["%H", "%cI", "%an", "%s"]) + _RECORD
    out = git(repo, "log", "--first-parent", f"-{limit}", f"--format={fmt}", rev, "--", path).stdout
    entries = []
    for record in out.split(_RECORD):
        fields = record.strip("\n").split(_FIELD)
        if len(fields) == 4:
            entries.append(LogEntry(*fields))
    return entries


def show(repo: str, commit: str, path: str) -> str | None:
    """The text of `path` (relative to `repo`) at `commit`, or None when it did not exist there."""
    result = git(repo, "show", f"{commit}:./{path}", check=False)
    return result.stdout if result.returncode == 0 else None


class GitFileHistory:
    """A local checkout's history of a file on its checked-out branch: `git log --first-parent`
    and `git show`."""

    def __init__(self, repo: str) -> None:
        if toplevel(repo) is None:
            raise InputError(f"{repo} is not a git checkout: history and rollback read its git log")
        self.repo = repo

    def pending(self, path: str) -> tuple[Pending, ...]:
        return ()  # a checkout has no pull requests

    def versions(self, path: str, *, limit: int) -> Iterator[FileVersion]:
        from autodeploy.deploys import FileVersion  # the guard imports this module, not history

        for entry in log(self.repo, path, limit=limit):
            yield FileVersion(
                entry.commit, entry.date, entry.author, entry.subject, show(self.repo, entry.commit, path)
            )


def recent_blobs(
    repo: str, paths: Sequence[str], *, depth: int, rev: str = "HEAD"
) -> dict[str, list[tuple[str, str, str | None]]]:
    """For each of `paths` (relative to `repo`), the newest `depth` commits of `rev`'s first-parent
    line that changed it, as (commit, committer date, the blob it left; None when deleted). One git
    process for all the paths, read as it streams and stopped once every path has its `depth`."""
    found: dict[str, list[tuple[str, str, str | None]]] = {path: [] for path in paths}
    if not paths:
        return found
    args = ["git", "-C", repo, "log", "--first-parent", "--raw", "--no-abbrev", "--no-renames"]
    args += ["--relative", "-z", f"--format={_RECORD}%H{_FIELD}%cI", rev, "--", *paths]
    env = {**os.environ, "GIT_TERMINAL_PROMPT": "0", "LC_ALL": "C"}
    try:
        process = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
    except FileNotFoundError as exc:
        raise GitError("git is not installed (needed for local history)") from exc
    assert process.stdout is not None
    waiting = set(paths)
    try:
        for record in _records(process.stdout):
            header, _, raw = record.partition("\0")
            commit, _, date = header.strip("\n").partition(_FIELD)
            tokens = raw.lstrip("\n").split("\0")
            for meta, path in zip(tokens[::2], tokens[1::2], strict=False):
                fields = meta.split()
                if path not in waiting or len(fields) < 5:
                    continue
                blob = None if fields[4].startswith("D") else fields[3]
                found[path].append((commit, date, blob))
                if len(found[path]) >= depth:
                    waiting.discard(path)
            if not waiting:
                break
    finally:
        process.kill()
        process.communicate(timeout=_TIMEOUT)
    return found


def _records(stream: IO[bytes]) -> Iterator[str]:
    """The records of a `git log` stream, split on the record separator as they arrive."""
    pending = ""
    for chunk in iter(lambda: stream.read(65536), b""):
        pending += chunk.decode("utf-8", "surrogateescape")
        *done, pending = pending.split(_RECORD)
        yield from (record for record in done if record)
    if pending:
        yield pending
