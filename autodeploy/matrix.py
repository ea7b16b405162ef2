"""What runs where: the apps x environments matrix of a GitOps repo's base branch, for `status`
and `promote`.

Pure. An adapter (`Fleet`) lists the image files the path template matches, with each file's text,
its git blob id, the commits that brought its last versions to the base (newest first, each with
the blob it left) and what open pull requests would change it to; this module reads the blocks,
dates each version's arrival, orders the environments and marks where they part.

A cell's arrival is the oldest of the newest versions that all hold the file's current blob: when
the base got what runs now. An edit outside the block makes a new blob, so such an edit dates the
cell (the file is generated; people edit release.yaml, not image.yaml).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Protocol

from autodeploy.deploys import Pending
from autodeploy.errors import ImageFileError, InputError
from autodeploy.imagefile import Block, read_block
from autodeploy.plan import path_pattern, version_older

DEFAULT_ORDER = ("development", "staging", "production")
HISTORY_DEPTH = 10  # versions of each file read to date its arrival


@dataclass(frozen=True)
class Version:
    """A commit that brought a version of the file to the base (a merge, squash or direct commit)."""

    commit: str
    date: str  # ISO 8601, when it reached the base
    blob: str | None  # the file's git blob id after it; None: it deleted the file


@dataclass(frozen=True)
class FileState:
    """One image file on the base, as an adapter read it."""

    path: str
    text: str | None
    blob: str | None  # git's blob id of `text`
    versions: tuple[Version, ...] = ()  # newest first, at most HISTORY_DEPTH
    pending: tuple[Pending, ...] = ()  # open pull requests' versions of the file


@dataclass(frozen=True)
class FleetRead:
    files: tuple[FileState, ...]
    revision: str | None = None  # the base commit read; None for a plain directory
    where: str = ""  # for people: "main of team/gitops @ 1a2b3c4"


class Fleet(Protocol):
    """Every image file of the base at once, in a number of reads that does not grow with them."""

    def read_fleet(self, path_template: str, *, paths: Sequence[str] | None) -> FleetRead:
        """The files the template matches (only `paths`, when given), read at one revision."""
        ...


@dataclass(frozen=True)
class Arrival:
    commit: str  # the GitOps commit that brought what runs now
    date: str


@dataclass(frozen=True)
class Cell:
    app: str
    env: str
    path: str
    block: Block | None  # None: no file, or a file without the generated block
    arrival: Arrival | None = None
    pending: tuple[Pending, ...] = ()  # only those that would change what runs
    problem: str | None = None  # why the file could not be read
    differs: bool = False  # runs another build than the environment before it in the order
    newer_than: tuple[str, ...] = ()  # earlier environments whose build is older (by version)

    @property
    def build(self) -> tuple[str | None, str | None] | None:
        """What identifies the build: its digest (the tag when no digest was recorded)."""
        if self.block is None:
            return None
        return (self.block.digest, None) if self.block.digest else (None, self.block.tag)


@dataclass(frozen=True)
class Matrix:
    envs: tuple[str, ...]
    apps: tuple[str, ...]
    cells: tuple[Cell, ...]  # app by app, in the order of `envs`; only where a file exists
    revision: str | None = None
    where: str = ""

    def cell(self, app: str, env: str) -> Cell | None:
        return next((c for c in self.cells if c.app == app and c.env == env), None)


def paths_for(path_template: str, apps: Sequence[str], envs: Sequence[str]) -> tuple[str, ...]:
    from autodeploy.plan import DeployRequest, Settings

    settings = Settings(path_template=path_template)
    return tuple(DeployRequest.path_for(settings, app, env) for app in apps for env in envs)


def build(
    read: FleetRead,
    path_template: str,
    *,
    apps: Sequence[str] = (),
    envs: Sequence[str] = (),
    order: Sequence[str] = DEFAULT_ORDER,
) -> Matrix:
    """The matrix of `read`'s files: only `apps` and `envs` when given, else every environment
    found; those `order` names first, in its order (and marked against one another)."""
    pattern = path_pattern(path_template)
    found: dict[tuple[str, str], FileState] = {}
    for state in read.files:
        match = pattern.fullmatch(state.path)
        if match is None or state.text is None:
            continue
        app, env = match.groupdict().get("app"), match.groupdict().get("env")
        if app is None or env is None:
            raise InputError(f"--path-template {path_template!r} must name both {{app}} and {{env}}")
        if (apps and app not in apps) or (envs and env not in envs):
            continue
        found[(app, env)] = state
    present = {env for _, env in found}
    if envs:  # in the order where it names them, then as given
        env_order = tuple(e for e in order if e in envs) + tuple(e for e in envs if e not in order)
    else:
        env_order = tuple(e for e in order if e in present) + tuple(sorted(present - set(order)))
    ordered = env_order if envs else tuple(e for e in env_order if e in order)
    app_order = tuple(apps) if apps else tuple(sorted({app for app, _ in found}))
    cells = []
    for app in app_order:
        row = [_cell(app, env, found[(app, env)]) for env in env_order if (app, env) in found]
        cells.extend(_marked(row, ordered))
    return Matrix(env_order, app_order, tuple(cells), read.revision, read.where)


def _cell(app: str, env: str, state: FileState) -> Cell:
    try:
        block = read_block(state.text or "", path=state.path)
    except ImageFileError as exc:
        return Cell(app, env, state.path, None, problem=str(exc))
    if block is None or not block.tag:
        return Cell(app, env, state.path, None, arrival=arrival(state.versions, state.blob))
    pending = tuple(p for p in state.pending if _key(p.block) != _key(block))
    return Cell(app, env, state.path, block, arrival(state.versions, state.blob), pending)


def arrival(versions: Iterable[Version], blob: str | None) -> Arrival | None:
    """The oldest of the newest versions that hold `blob`; None when the newest does not (a file
    changed and not committed, or a history that was not read)."""
    found = None
    for version in versions:
        if version.blob != blob:
            break
        found = Arrival(version.commit, version.date)
    return found


def _marked(row: list[Cell], ordered: Sequence[str]) -> list[Cell]:
    """Each cell marked against the environments before it in the order."""
    out: list[Cell] = []
    earlier: list[Cell] = []
    for cell in row:
        if cell.env not in ordered or cell.block is None:
            out.append(cell)
            continue
        previous = earlier[-1] if earlier else None
        differs = previous is not None and previous.build != cell.build
        newer = tuple(
            e.env
            for e in earlier
            if e.block is not None
            and e.block.tag
            and cell.block.tag
            and version_older(e.block.tag, cell.block.tag)
        )
        marked = Cell(**{**cell.__dict__, "differs": differs, "newer_than": newer})
        out.append(marked)
        earlier.append(marked)
    return out


def _key(block: Block) -> tuple[str | None, str | None, str | None]:
    return block.tag, block.digest, block.commit
