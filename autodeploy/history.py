"""What was deployed when: the deploys of one app and env, read from the history of its image.yaml.

Pure: an adapter lists the file's versions (git log on a checkout, the commits API on GitHub);
this module turns them into deploys and picks the one a rollback goes back to.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
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
    """Lists the versions of a file in the GitOps repo, newest first."""

    def versions(self, path: str, *, limit: int) -> list[FileVersion]: ...


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


def deploys(versions: Sequence[FileVersion], path: str) -> list[Deploy]:
    """The versions that changed what runs (tag, digest or source commit), newest first."""
    found: list[Deploy] = []
    for version in reversed(versions):  # oldest first, to compare each with the one before
        if version.text is None:
            continue
        try:
            block = read_block(version.text, path=f"{path}@{version.commit[:12]}")
        except ImageFileError:
            continue  # a broken version in history is no deploy; it cannot be rolled back to
        if block is None or not block.tag:
            continue
        if found and _key(found[-1].block) == _key(block):
            continue
        found.append(Deploy(block, version.commit, version.date, version.author, version.subject))
    found.reverse()
    return found


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
