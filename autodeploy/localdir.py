"""A GitOps repo checked out on disk (`--gitops-dir`): files are edited in place, nothing is committed."""

from __future__ import annotations

import os
import stat
import tempfile
from collections.abc import Sequence
from pathlib import Path

from autodeploy.errors import ConflictError, InputError
from autodeploy.pipeline import Applied, Preview, Snapshot
from autodeploy.plan import DeployPlan, DeployRequest


class LocalDir:
    def __init__(self, root: str) -> None:
        path = Path(root)
        if not path.is_dir():
            raise InputError(f"--gitops-dir {root!r} is not a directory")
        self.root = path.resolve()
        self.display = root

    def _path(self, relative: str) -> Path:
        """The file for a repo-relative path; refuses one that a symlink leads out of the repo."""
        try:
            full = (self.root / relative).resolve()
        except (OSError, RuntimeError) as exc:  # RuntimeError: a symlink loop, before Python 3.13
            raise InputError(f"cannot resolve {relative}: {exc}") from exc
        if full != self.root and self.root not in full.parents:
            raise InputError(f"{relative} resolves outside --gitops-dir (through a symlink?): refusing")
        return full

    def read(
        self, paths: Sequence[str], *, branch: str, at: Snapshot | None = None, exact: bool = False
    ) -> Snapshot:
        files = dict(at.files) if at else {}
        for relative in paths:
            files[relative] = self._read(relative)
        return Snapshot(files=files, where=f"directory {self.display}")

    @property
    def base(self) -> str | None:
        return None  # a directory has no branch to protect

    def _read(self, relative: str) -> str | None:
        path = self._path(relative)
        try:
            if not stat.S_ISREG(path.stat().st_mode):  # a FIFO would block the read forever
                raise InputError(f"{relative} is not a regular file")
            data = path.read_bytes()
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise InputError(f"cannot read {relative}: {exc.strerror}") from exc
        try:
            return data.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise InputError(f"{relative} is not UTF-8 text") from exc

    def list_dirs(self, paths: Sequence[str], snapshot: Snapshot) -> dict[str, tuple[str, ...] | None]:
        return {path: self.list_dir(path, snapshot) for path in paths}

    def list_dir(self, path: str, snapshot: Snapshot) -> tuple[str, ...] | None:
        directory = self._path(path)
        if not directory.is_dir():
            return None
        return tuple(sorted(child.name for child in directory.iterdir() if child.is_dir()))

    def preview(self, plan: DeployPlan, request: DeployRequest, snapshot: Snapshot) -> Preview:
        return Preview(tuple(f"would write {change.path} in {self.display}" for change in plan.changed))

    def settle(self, plan: DeployPlan, request: DeployRequest, snapshot: Snapshot) -> Applied | None:
        return None  # a directory has no pull request to finish

    def apply(self, plan: DeployPlan, request: DeployRequest, snapshot: Snapshot) -> Applied:
        """Write every changed file atomically, if no one else changed it since it was read."""
        staged: list[tuple[str, Path]] = []
        try:
            for change in plan.changed:
                target = self._path(change.path)
                if self._read(change.path) != change.old_text:
                    raise ConflictError(f"{change.path} changed on disk while autodeploy was planning")
                if not target.parent.is_dir():
                    raise InputError(f"{target.parent.relative_to(self.root)}/ does not exist")
                staged.append((self._stage(target, change.new_text), target))
            for temp, target in staged:
                os.replace(temp, target)
        finally:
            for temp, _ in staged:
                if os.path.exists(temp):
                    os.unlink(temp)
        return Applied()

    @staticmethod
    def _stage(target: Path, text: str) -> str:
        """A temporary file beside `target` holding `text`, with `target`'s permissions."""
        fd, temp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
        with os.fdopen(fd, "wb") as handle:
            handle.write(text.encode("utf-8"))
        mode = target.stat().st_mode & 0o777 if target.exists() else 0o644
        os.chmod(temp, mode)
        return temp
