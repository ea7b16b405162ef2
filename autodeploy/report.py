"""Everything autodeploy prints goes through here, so secrets can be redacted in one place.

Register every token, password and key with `secret()` as soon as it is read; every line written
by `info`, `warn`, `error` and `out` has registered values replaced by `***`. In GitHub Actions
mode, secrets are also announced with `::add-mask::` and errors become `::error::` annotations.
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Iterator

_secrets: set[str] = set()
_github_actions = False


def secret(value: str) -> str:
    """Remember `value` as a secret and return it unchanged."""
    value = value.strip()
    if len(value) >= 4 and value not in _secrets:
        _secrets.add(value)
        if _github_actions:
            for line in value.splitlines():
                if line.strip():  # escaped as the runner decodes it, or "%25" would mask the wrong text
                    sys.stdout.write(f"::add-mask::{_escape_annotation(line.strip())}\n")
    return value


def use_github_actions(enabled: bool = True) -> None:
    global _github_actions
    _github_actions = enabled


def redact(text: str) -> str:
    # Each line of a multi-line secret (a PEM key) counts on its own; longest first, so that a short
    # piece of one secret never breaks up a longer secret before it is replaced whole.
    pieces = set(_secrets)
    pieces.update(line.strip() for value in _secrets for line in value.splitlines() if len(line.strip()) >= 4)
    for piece in sorted(pieces, key=len, reverse=True):
        text = text.replace(piece, "***")
    return text


def _escape_annotation(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def error(message: str) -> None:
    _problem("error", message)


def warn(message: str) -> None:
    _problem("warning", message)


def _problem(level: str, message: str) -> None:
    """One line on stderr; in GitHub Actions an annotation instead (the log shows it too), with the
    error also on stderr, where a step's failure is looked for."""
    text = redact(message)
    if _github_actions:
        text = _rephrase(text)
        sys.stdout.write(f"::{level} title=autodeploy::{_escape_annotation(text)}\n")
        sys.stdout.flush()
        if level == "warning":
            return
        text = _one_line(text)
    sys.stderr.write(f"autodeploy: {level}: {text}\n")


_phrasing: list[tuple[str, str]] = []


def phrase(replacements: list[tuple[str, str]]) -> None:
    """Words to say otherwise (the Action names its inputs where the CLI names flags), longest first."""
    _phrasing[:] = sorted(replacements, key=lambda pair: len(pair[0]), reverse=True)


def _rephrase(text: str) -> str:
    for old, new in _phrasing:
        text = text.replace(old, new)
    return text


@contextlib.contextmanager
def group(title: str) -> Iterator[None]:
    """In GitHub Actions, the lines written inside fold under `title` in the log."""
    if not _github_actions:
        yield
        return
    sys.stdout.write(f"::group::{_one_line(title)}\n")
    sys.stdout.flush()
    try:
        yield
    finally:
        sys.stdout.write("::endgroup::\n")
        sys.stdout.flush()


def info(message: str) -> None:
    text = redact(message)
    if _github_actions:
        text = _one_line(text)
    sys.stderr.write(f"{text}\n")


def out(text: str) -> None:
    """Results meant for stdout (a diff, JSON, digests). In GitHub Actions, text of several lines is
    fenced with stop-commands, so no line of it is read as a workflow command."""
    text = redact(text)
    if not text.endswith("\n"):
        text += "\n"
    if _github_actions and text.count("\n") > 1:
        token = os.urandom(16).hex()
        text = f"::stop-commands::{token}\n{text}::{token}::\n"
    sys.stdout.write(text)
    sys.stdout.flush()


def _one_line(text: str) -> str:
    """A log line in GitHub Actions: user text inside it must never start a line of its own, where
    the runner would take `::stop-commands::` or `::add-mask::` as a command."""
    return text.replace("\r", "\\r").replace("\n", "\\n")
