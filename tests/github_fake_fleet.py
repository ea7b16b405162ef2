"""The fake's part for reading a whole GitOps repo at once (`status`, `promote --all`): GitHub's tree
listing, `GET /repos/{owner}/{repo}/git/trees/{tree_sha}` (with `recursive`), built from the fake's
flat trees as GitHub answers it: every blob and every directory, paths relative to the root."""

from __future__ import annotations

import hashlib
from typing import Any, ClassVar

TREE = "/repos/{owner}/{repo}/git/trees/{tree_sha}"


class FleetRoutes:
    """A FakeGitHub mixin (it uses the fake's lock, `_complete` and `Answer`)."""

    ROUTES: ClassVar[dict[tuple[str, str], tuple[str, tuple[str, str]]]] = {
        ("GET", TREE): ("h_get_git_tree", ("contents", "read")),
    }

    def h_get_git_tree(
        self, repo: Any, params: dict[str, str], query: dict[str, str], body: Any, headers: Any
    ) -> tuple[int, Any, dict[str, str]]:
        from github_fake import Answer

        fake: Any = self
        with fake.lock:
            wanted = params["tree_sha"]
            commit = next((c for c in repo.commits.values() if c.tree_sha == wanted), None)
            if commit is None:
                resolved = repo.resolve(wanted)
                commit = repo.commits.get(resolved) if resolved else None
            if commit is None:
                raise Answer(404, "Not Found")
            recursive = "recursive" in query
            url = f"{fake.api_url}/repos/{repo.full_name}/git"
            entries: dict[str, dict[str, Any]] = {}
            for path, blob in sorted(commit.tree.items()):
                parts = path.split("/")
                for depth in range(1, len(parts)):
                    directory = "/".join(parts[:depth])
                    if directory not in entries and (recursive or depth == 1):
                        sha = _tree_sha(commit.tree, directory)
                        entries[directory] = {
                            "path": directory,
                            "mode": "040000",
                            "type": "tree",
                            "sha": sha,
                            "url": f"{url}/trees/{sha}",
                        }
                if recursive or len(parts) == 1:
                    entries[path] = {
                        "path": path,
                        "mode": "100644",
                        "type": "blob",
                        "sha": blob,
                        "size": len(repo.blobs[blob]),
                        "url": f"{url}/blobs/{blob}",
                    }
            answer = {
                "sha": commit.tree_sha,
                "url": f"{url}/trees/{commit.tree_sha}",
                "tree": sorted(entries.values(), key=lambda e: e["path"]),
                "truncated": False,
            }
            return 200, fake._complete("GET", TREE, 200, answer), {}


def _tree_sha(tree: dict[str, str], directory: str) -> str:
    inside = sorted(f"{p}\0{s}" for p, s in tree.items() if p.startswith(directory + "/"))
    return hashlib.sha1("\n".join(inside).encode()).hexdigest()
