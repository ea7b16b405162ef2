"""`matrix.Fleet` for a directory on disk (`--gitops-dir`): the files as they are, and, in a git
checkout, the first-parent history of all of them from one `git log`. No process per file."""

from __future__ import annotations

import os
from collections.abc import Sequence

from autodeploy.matrix import HISTORY_DEPTH, FileState, FleetRead, Version
from autodeploy.plan import path_pattern


class LocalFleet:
    def __init__(self, root: str) -> None:
        from autodeploy.localdir import LocalDir

        self.dir = LocalDir(root)  # refuses what is not a directory, and paths out of it

    def read_fleet(self, path_template: str, *, paths: Sequence[str] | None) -> FleetRead:
        from autodeploy import gitlocal

        wanted = list(paths) if paths is not None else self._listing(path_template)
        files = self.dir.read(wanted, branch="").files
        root = str(self.dir.root)
        history = (
            gitlocal.recent_blobs(root, wanted, depth=HISTORY_DEPTH)
            if gitlocal.may_be_repository(root)
            else {}
        )
        states = []
        for path in wanted:
            text = files.get(path)
            versions = tuple(Version(c, d, b) for c, d, b in history.get(path, ()))
            states.append(FileState(path, text, _blob(text), versions))
        where = f"directory {self.dir.display}" + (" (its git history)" if history else "")
        return FleetRead(tuple(states), where=where)

    def _listing(self, path_template: str) -> list[str]:
        pattern = path_pattern(path_template)
        found = []
        for directory, subdirs, names in os.walk(self.dir.root):
            subdirs[:] = sorted(d for d in subdirs if d != ".git")
            relative = os.path.relpath(directory, self.dir.root)
            for name in sorted(names):
                path = name if relative == "." else f"{relative.replace(os.sep, '/')}/{name}"
                if pattern.fullmatch(path):
                    found.append(path)
        return found


def _blob(text: str | None) -> str | None:
    """git's blob id of the text, so a file on disk compares with the blobs of its history."""
    from autodeploy.github.models import blob_sha  # pure: hashlib only

    return None if text is None else blob_sha(text)
