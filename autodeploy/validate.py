"""Checks for every value a user hands autodeploy; each returns the value normalized or raises InputError."""

from __future__ import annotations

import itertools
import re
from typing import TYPE_CHECKING

from autodeploy.errors import InputError

if TYPE_CHECKING:
    from autodeploy.options import WaitOptions

TAG_RE = re.compile(r"[A-Za-z0-9_][A-Za-z0-9._-]{0,127}")
DIGEST_RE = re.compile(r"sha256:[0-9a-f]{64}")
COMMIT_RE = re.compile(r"[0-9a-f]{7,40}")
# GitHub: owners are alphanumerics and single hyphens (39 max); names add '.' and '_' (100 max).
OWNER_RE = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9]|-(?=[A-Za-z0-9])){0,38}")
REPO_NAME_RE = re.compile(r"[A-Za-z0-9._-]{1,100}")
SEGMENT_RE = re.compile(r"[A-Za-z0-9_][A-Za-z0-9._-]*")
# Unicode's control (Cc), format (Cf: bidi overrides and isolates, zero-width characters) and line or
# paragraph separators (Zl, Zp): a set of code points, cheaper at start-up than unicodedata or a regex.
_CONTROL = frozenset(
    itertools.chain(
        range(0x00, 0x20),
        range(0x7F, 0xA0),
        (0xAD, 0x61C, 0x6DD, 0x70F, 0x890, 0x891, 0x8E2, 0x180E, 0xFEFF, 0x110BD, 0x110CD, 0xE0001),
        range(0x600, 0x606),
        range(0x200B, 0x2010),
        range(0x2028, 0x202F),
        range(0x2060, 0x2065),
        range(0x2066, 0x2070),
        range(0xFFF9, 0xFFFC),
        range(0x13430, 0x13440),
        range(0x1BCA0, 0x1BCA4),
        range(0x1D173, 0x1D17B),
        range(0xE0020, 0xE0080),
    )
)
# git check-ref-format, restricted to what a branch name for a deploy needs.
BRANCH_RE = re.compile(r"[A-Za-z0-9._/-]{1,200}")


def tag(value: str) -> str:
    if not TAG_RE.fullmatch(value):
        raise InputError(
            f"tag {value!r} is not a valid OCI tag: it must match [A-Za-z0-9_][A-Za-z0-9._-]{{0,127}}"
        )
    return value


def digest(value: str) -> str:
    if not DIGEST_RE.fullmatch(value):
        raise InputError(f"digest {value!r} is not 'sha256:' followed by 64 lowercase hex digits")
    return value


def commit(value: str) -> str:
    lowered = value.lower()
    if not COMMIT_RE.fullmatch(lowered):
        raise InputError(f"commit {value!r} is not a git commit hash (7 to 40 hex digits)")
    return lowered


def since(value: str, name: str) -> str | None:
    """A push's `before` commit, 40 hex digits; None for the zeros GitHub sends when the push created
    the branch (nothing before it to compare with)."""
    lowered = value.strip().lower()
    if not re.fullmatch(r"[0-9a-f]{40}", lowered):
        raise InputError(f"{name} {value!r} is not a full commit sha (40 hex digits)")
    return None if lowered == "0" * 40 else lowered


def source_repo(value: str) -> str:
    owner, sep, name = value.partition("/")
    if not sep or not OWNER_RE.fullmatch(owner) or not REPO_NAME_RE.fullmatch(name) or name in {".", ".."}:
        raise InputError(f"source repository {value!r} is not of the form OWNER/NAME")
    return value


def path_part(kind: str, value: str) -> str:
    """An app or env: one or more '/'-separated segments that stay inside the repository."""
    if value.startswith("/") or "\\" in value:
        raise InputError(f"{kind} {value!r} must be a relative path inside the GitOps repository")
    segments = value.split("/")
    for segment in segments:
        if segment in {"", ".", ".."} or not SEGMENT_RE.fullmatch(segment):
            raise InputError(
                f"{kind} {value!r} is not a plain relative path "
                "(segments of letters, digits, '.', '_' and '-'; no '..')"
            )
    return value


def reviewer(kind: str, value: str) -> str:
    """A GitHub user, or ORG/TEAM for a team."""
    owner, sep, name = value.partition("/")
    if not OWNER_RE.fullmatch(owner) or (sep and not REPO_NAME_RE.fullmatch(name)):
        raise InputError(f"{kind} {value!r} is not a GitHub user or ORG/TEAM")
    return value


def branch(value: str) -> str:
    bad = (
        not BRANCH_RE.fullmatch(value)
        or value.startswith(("/", "-", "."))
        or value.endswith(("/", ".", ".lock"))
        or any(part in value for part in ("..", "//", "/.", "@{"))
    )
    if bad:
        raise InputError(f"branch {value!r} is not a valid git branch name")
    return value


def repo_relative_path(value: str) -> str:
    """A rendered path template: relative, normalized, never leaving the repository."""
    if value.startswith("/") or "\\" in value:
        raise InputError(f"path {value!r} must be relative to the GitOps repository")
    parts = value.split("/")
    if any(part in {"", ".", ".."} for part in parts):
        raise InputError(f"path {value!r} must not contain empty, '.' or '..' segments")
    return value


def plain(kind: str, value: str) -> str:
    """Text free of control, format and bidi characters: a newline, a tab or U+202E in a name makes
    files, branches and labels that read as something else."""
    for char in value:
        if ord(char) in _CONTROL:
            raise InputError(f"{kind} {value!r} holds the control character U+{ord(char):04X}: remove it")
    return value


def wait_options(
    *,
    contexts: list[str],
    timeout: float,
    on_timeout: str,
    names: tuple[str, str],
) -> WaitOptions:
    """The wait's options, checked (the CLI's flags and the Action's inputs alike); `names` are the
    flags or inputs of the contexts and the timeout, for messages."""
    from autodeploy import flux
    from autodeploy.options import ON_TIMEOUT, WaitOptions

    for pattern in contexts:
        flux.context_globs([pattern], app="app", env="env")  # a bad placeholder fails here, not later
    if not 0 < timeout < float("inf"):
        raise InputError(f"{names[1]} must be a number of seconds above 0")
    if on_timeout not in ON_TIMEOUT:
        raise InputError(f"on-timeout must be fail or warn, not {on_timeout!r}")
    return WaitOptions(
        flux_contexts=tuple(contexts),
        timeout=timeout,
        on_timeout=on_timeout,
    )
