"""`history.FileHistory` on GitHub: the commits that touched a file (one request per 100), then the
file at each of them (one request each, read as the caller consumes them, at most `limit`)."""

from __future__ import annotations

from collections.abc import Iterator

from autodeploy.deploys import FileVersion
from autodeploy.github.api import RepoApi
from autodeploy.github.models import field


class GitHubFileHistory:
    def __init__(self, api: RepoApi, branch: str | None) -> None:
        self.api = api
        self.branch = branch  # None: the repository's default branch

    def versions(self, path: str, *, limit: int) -> Iterator[FileVersion]:
        branch = self.branch or self.api.default_branch()
        doing = f"listing the commits of {path} on {branch} in {self.api.repo}"
        given = 0
        per_page = max(1, min(100, limit))
        for page in range(1, limit // per_page + 2):
            commits = self.api.commits_touching(path, branch, page=page, per_page=per_page)
            for item in commits[: limit - given]:
                given += 1
                sha = str(field(item, "sha", doing=doing))
                author = field(item, "commit", "author", doing=doing) or {}
                text, _ = self.api.read_file(path, sha)
                yield FileVersion(
                    commit=sha,
                    date=str(author.get("date") or ""),
                    author=str((item.get("author") or {}).get("login") or author.get("name") or ""),
                    subject=str(field(item, "commit", "message", doing=doing)).split("\n", 1)[0],
                    text=text,
                )
            if len(commits) < per_page or given >= limit:
                return
