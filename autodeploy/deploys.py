"""What ran when: the deploys of one app and env, read from the history of its image.yaml on the
base branch's first-parent line (the versions Flux applied, in order), and what open pull requests
would deploy next.

Pure: an adapter lists the file's versions (`git log --first-parent` on a checkout, GraphQL on
GitHub); this module turns them into deploys and picks the one a rollback goes back to.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from itertools import islice
from typing import Protocol

from autodeploy.errors import ImageFileError, InputError
from autodeploy.imagefile import Block, read_block

_PR_RE = re.compile(r"(?:Merge pull request #|\(#)(\d+)")


@dataclass(frozen=True)
class FileVersion:
    """One commit of the base branch's first-parent line that changed the file (a merge, a squash or
    a direct commit: the commit that brought the change to the base), and the file's text after it."""

    commit: str
    date: str  # ISO 8601: when the commit reached the base (its committer date)
    author: str  # the pull request's author where GitHub says, else the commit's
    subject: str
    text: str | None  # None: the commit deleted the file
    pull_request: int | None = None  # None: from the subject ("Merge pull request #7", "(#7)")
    merged_by: str | None = None  # where GitHub says


@dataclass(frozen=True)
class Pending:
    """What an open pull request would deploy: not history until it merges."""

    block: Block
    pull_request: int
    branch: str
    author: str


class FileHistory(Protocol):
    """The versions of a file in the GitOps repo, newest first, at most `limit`, read as they are
    consumed (reading one may cost a request)."""

    def versions(self, path: str, *, limit: int) -> Iterator[FileVersion]: ...

    def pending(self, path: str) -> tuple[Pending, ...]:
        """What open pull requests into the base would change the file to."""
        ...


@dataclass(frozen=True)
class Deploy:
    block: Block
    gitops_commit: str  # the commit that brought it to the base
    date: str  # when it reached the base
    author: str
    subject: str
    pr: int | None = None
    merged_by: str | None = None

    @property
    def pull_request(self) -> int | None:
        if self.pr is not None:
            return self.pr
        match = _PR_RE.search(self.subject)
        return int(match.group(1)) if match else None

    def same_image(self, other: Deploy) -> bool:
        return (self.block.tag, self.block.digest) == (other.block.tag, other.block.digest)


@dataclass(frozen=True)
class History:
    """`history`'s answer: what ran, newest first, and what open pull requests would deploy."""

    ran: tuple[Deploy, ...]
    pending: tuple[Pending, ...] = ()


def deploys(versions: Iterable[FileVersion], path: str, *, limit: int | None = None) -> list[Deploy]:
    """The newest `limit` deploys (all, without a limit); see iter_deploys."""
    return list(islice(iter_deploys(versions, path), limit))


def iter_deploys(versions: Iterable[FileVersion], path: str) -> Iterator[Deploy]:
    """The versions that changed what runs (tag, digest or source commit), newest first. Lazy: a
    deploy is known once the version before it is read, and nothing further is read."""
    run: Deploy | None = None  # the oldest version so far of a run that all hold the same block
    for version in versions:
        block = _block(version, path)
        if block is None:
            continue
        if run is not None and _key(run.block) != _key(block):
            yield run  # the run's oldest version is the deploy; later ones only edited around it
        run = Deploy(
            block,
            version.commit,
            version.date,
            version.author,
            version.subject,
            version.pull_request,
            version.merged_by,
        )
    if run is not None:
        yield run


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


def choose(history: Iterable[Deploy], *, to: str | None, steps: int, label: str) -> Deploy:
    """The deploy to go back to: the newest one of tag `to`, or the `steps`-th different image back.
    Consumes `history` (newest first) only as far as it has to."""
    if steps < 1:
        raise InputError("--steps must be 1 or more")
    deploys_seen = iter(history)
    current = next(deploys_seen, None)
    if current is None:
        raise InputError(f"found no earlier deploy of {label} in the history of its image file")
    if to is not None and current.block.tag == to:
        raise InputError(f"{label} already runs {to}")
    tags = [current.block.tag or ""]
    distinct: list[Deploy] = []
    for deploy in deploys_seen:
        if to is not None:
            if deploy.block.tag == to:
                return deploy
            tags.append(deploy.block.tag or "")
        elif not deploy.same_image(current) and not any(deploy.same_image(seen) for seen in distinct):
            distinct.append(deploy)
            if len(distinct) == steps:
                return deploy
    if to is not None:
        raise InputError(
            f"{label} never ran {to}; the tags in its history are: {', '.join(dict.fromkeys(tags))}"
        )
    raise InputError(f"{label} has only {len(distinct)} earlier image(s) in its history, not {steps}")


def pending_of(text: str | None, path: str, *, pull_request: int, branch: str, author: str) -> Pending | None:
    """An open pull request's version of the file as a Pending deploy, if it holds a block."""
    version = FileVersion("", "", author, "", text)
    block = _block(version, f"{path}@{branch}")
    return Pending(block, pull_request, branch, author) if block is not None else None
