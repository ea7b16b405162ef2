"""What was deployed when: the deploys of one app and env, read from the history of its image.yaml.

Pure: an adapter lists the file's versions (git log on a checkout, the commits API on GitHub);
this module turns them into deploys and picks the one a rollback goes back to.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Protocol

from autodeploy.errors import ImageFileError, InputError
from autodeploy.imagefile import Block, read_block

_PR_RE = re.compile(r"(?:Merge pull request #|\(#)(\d+)")


@dataclass(frozen=True)
class FileVersion:
    """One commit of the GitOps repo that touched the file, and the file's text after it."""

    commit: str
    date: str  # ISO 8601
    author: str
    subject: str
    text: str | None  # None: the commit deleted the file


class FileHistory(Protocol):
    """The versions of a file in the GitOps repo, newest first, at most `limit`, read as they are
    consumed (reading one may cost a request)."""

    def versions(self, path: str, *, limit: int) -> Iterator[FileVersion]: ...


@dataclass(frozen=True)
class Deploy:
    block: Block
    gitops_commit: str
    date: str
    author: str
    subject: str

    @property
    def pull_request(self) -> int | None:
        match = _PR_RE.search(self.subject)
        return int(match.group(1)) if match else None

    def same_image(self, other: Deploy) -> bool:
        return (self.block.tag, self.block.digest) == (other.block.tag, other.block.digest)


def deploys(versions: Iterable[FileVersion], path: str, *, limit: int | None = None) -> list[Deploy]:
    """The versions that changed what runs (tag, digest or source commit), newest first; reads only
    as many versions as it takes to find `limit` of them (and the one before the last)."""
    found: list[Deploy] = []
    run: Deploy | None = None  # the oldest version so far of a run that all hold the same block
    for version in versions:
        block = _block(version, path)
        if block is None:
            continue
        if run is not None and _key(run.block) != _key(block):
            found.append(run)  # the run's oldest version is the deploy; later ones only edited around it
            if limit is not None and len(found) == limit:
                return found
        run = Deploy(block, version.commit, version.date, version.author, version.subject)
    if run is not None:
        found.append(run)
    return found[:limit] if limit is not None else found


def _block(version: FileVersion, path: str) -> Block | None:
    if version.text is None:
        return None
    try:
        block = read_block(version.text, path=f"{path}@{version.commit[:12]}")
    except ImageFileError:
        return None  # a broken version in history is no deploy; it cannot be rolled back to
    return block if block is not None and block.tag else None


def _key(block: Block) -> tuple[str | None, str | None, str | None]:
    return block.tag, block.digest, block.commit


def choose(history: Sequence[Deploy], *, to: str | None, steps: int, label: str) -> Deploy:
    """The deploy to go back to: the newest one of tag `to`, or the `steps`-th different image back."""
    if not history:
        raise InputError(f"found no earlier deploy of {label} in the history of its image file")
    current = history[0]
    if to is not None:
        if current.block.tag == to:
            raise InputError(f"{label} already runs {to}")
        for deploy in history[1:]:
            if deploy.block.tag == to:
                return deploy
        known = ", ".join(dict.fromkeys(d.block.tag or "" for d in history)) or "none"
        raise InputError(f"{label} never ran {to}; the tags in its history are: {known}")
    if steps < 1:
        raise InputError("--steps must be 1 or more")
    distinct: list[Deploy] = []
    for deploy in history[1:]:
        if deploy.same_image(current) or any(deploy.same_image(seen) for seen in distinct):
            continue
        distinct.append(deploy)
        if len(distinct) == steps:
            return deploy
    raise InputError(
        f"{label} has only {len(distinct)} earlier image(s) in its history, not {steps}"
    )
