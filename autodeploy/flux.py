"""What Flux said about a GitOps commit: the commit statuses its notification-controller posts
(context `<kind>/<name>/<uid8>`, state `success` or `failure`), matched against the globs that
decide one environment, and the verdict they add up to.

Pure: an adapter reads the statuses; this module only judges them.
"""

from __future__ import annotations

import enum
import fnmatch
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from autodeploy.errors import InputError

DEFAULT_CONTEXTS: tuple[str, ...] = ("kustomization/*{env}*",)
_PLACEHOLDERS = ("{app}", "{env}")


@dataclass(frozen=True)
class CommitStatus:
    context: str
    state: str  # GitHub's: success, failure, error or pending (Flux posts only the first two)
    description: str
    updated_at: str  # ISO 8601


class Rollout(enum.Enum):
    SUCCESS = "success"
    FAILURE = "failure"
    PENDING = "pending"  # not every glob has a success yet, and nothing failed


@dataclass(frozen=True)
class Verdict:
    rollout: Rollout
    description: str  # Flux's, of the status that decided; "" while pending
    context: str | None  # the status that decided; None while pending
    missing: tuple[str, ...] = ()  # globs no status matches yet


def context_globs(patterns: Sequence[str], *, app: str, env: str) -> tuple[str, ...]:
    """The globs with `{app}` and `{env}` filled in, lowercased as Flux lowercases its contexts.
    Any other brace is refused, so a typo such as `{environment}` fails loudly instead of never
    matching."""
    out = []
    for pattern in patterns or DEFAULT_CONTEXTS:
        rest = pattern
        for placeholder in _PLACEHOLDERS:
            rest = rest.replace(placeholder, "")
        if "{" in rest or "}" in rest:
            raise InputError(f"--flux-context {pattern!r}: the only placeholders are {{app}} and {{env}}")
        if not pattern.strip():
            raise InputError("--flux-context must not be empty")
        out.append(pattern.replace("{app}", app).replace("{env}", env).lower())
    return tuple(out)


def judge(statuses: Iterable[CommitStatus], globs: Sequence[str]) -> Verdict:
    """Any matching failure (or error) decides at once; success needs every glob matched at least
    once and every matching status a success. Statuses that match no glob (another environment's
    Kustomization, CI) never decide."""
    matching = [s for s in statuses if any(fnmatch.fnmatchcase(s.context.lower(), g) for g in globs)]
    for status in matching:
        if status.state in ("failure", "error"):
            return Verdict(Rollout.FAILURE, status.description, status.context)
    missing = tuple(g for g in globs if not any(fnmatch.fnmatchcase(s.context.lower(), g) for s in matching))
    if missing or any(s.state != "success" for s in matching):
        return Verdict(Rollout.PENDING, "", None, missing)
    last = max(matching, key=lambda s: s.updated_at)
    return Verdict(Rollout.SUCCESS, last.description, last.context)
