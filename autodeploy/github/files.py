"""`deploys.FileHistory` on GitHub: the versions of a file on the base branch's first-parent line, and
what open pull requests would deploy, in one GraphQL request per page of history.

GitHub's `history(path:)` lists the commits that touched the file as `git log` does, including
those of merged branches. Each is mapped to the commit that brought it to the base: its merged pull
request's merge commit (a merge, a squash or a rebase alike), or itself when it was committed to the
base directly. The file's text there is what the base held, so a tag replaced on a release branch
before the merge never shows. The first page also lists the open pull requests into the base.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from autodeploy.deploys import FileVersion, Pending, pending_of
from autodeploy.errors import GitHubError, InputError
from autodeploy.github.api import RepoApi

# A deploy is known once the version before it is read: `history --limit 10` needs 11 versions and a
# one-step rollback 3, so a small first page holds both, and larger pages follow.
FIRST_PAGE = 11
PAGE = 50
OPEN_PULLS = 20

_BLOB = "object { ... on Blob { text } }"
_HISTORY = """
      target {
        ... on Commit {
          history(path: $path, first: $first, after: $after) {
            pageInfo { hasNextPage endCursor }
            nodes {
              oid
              committedDate
              messageHeadline
              author { name user { login } }
              file(path: $path) { BLOB }
              associatedPullRequests(first: 5) {
                nodes {
                  number
                  merged
                  baseRefName
                  author { login }
                  mergedBy { login }
                  mergeCommit { oid committedDate messageHeadline file(path: $path) { BLOB } }
                }
              }
            }
          }
        }
      }""".replace("BLOB", _BLOB)
_OPEN_PULLS = """
    openPulls: pullRequests(states: OPEN, first: PULLS, orderBy: {field: CREATED_AT, direction: DESC}) {
      nodes {
        number
        baseRefName
        headRefName
        author { login }
        headRef { target { ... on Commit { file(path: $path) { BLOB } } } }
      }
    }""".replace("BLOB", _BLOB).replace("PULLS", str(OPEN_PULLS))


def history_query(*, named_branch: bool, with_pulls: bool) -> str:
    """One page of a file's history on a branch (named, or the default one), and on the first page
    the open pull requests."""
    declared = "$owner: String!, $name: String!, $path: String!, $first: Int!, $after: String"
    if named_branch:
        declared += ", $ref: String!"
        branch = "branch: ref(qualifiedName: $ref) {" + _HISTORY + "\n    }"
    else:
        branch = "branch: defaultBranchRef {\n      name" + _HISTORY + "\n    }"
    pulls = _OPEN_PULLS if with_pulls else ""
    body = f"  repository(owner: $owner, name: $name) {{\n    {branch}{pulls}\n  }}"
    return f"query({declared}) {{\n{body}\n}}\n"


class GitHubFileHistory:
    def __init__(self, api: RepoApi, branch: str | None) -> None:
        self.api = api
        self.branch = branch  # None: the repository's default branch, asked in the same request
        self._pending: dict[str, tuple[Pending, ...]] = {}
        self._default = ""

    def versions(self, path: str, *, limit: int) -> Iterator[FileVersion]:
        given: set[str] = set()  # bringing commits already yielded
        after: str | None = None
        first = min(limit, FIRST_PAGE)
        while len(given) < limit:
            history = self._page(path, first=first, after=after, with_pulls=not given and after is None)
            for version in _versions(history.get("nodes") or (), self.base_name, given):
                given.add(version.commit)
                yield version
                if len(given) >= limit:
                    return
            page = history.get("pageInfo") or {}
            if not page.get("hasNextPage"):
                return
            after, first = str(page.get("endCursor")), min(PAGE, limit)

    def pending(self, path: str) -> tuple[Pending, ...]:
        if path not in self._pending:
            self._page(path, first=1, after=None, with_pulls=True)
        return self._pending[path]

    @property
    def base_name(self) -> str:
        return self.branch or self._default

    def _page(self, path: str, *, first: int, after: str | None, with_pulls: bool) -> dict[str, Any]:
        owner, name = self.api.repo.split("/")
        variables: dict[str, Any] = {"owner": owner, "name": name, "path": path, "first": first}
        variables["after"] = after
        if self.branch:
            variables["ref"] = f"refs/heads/{self.branch}"
        query = history_query(named_branch=bool(self.branch), with_pulls=with_pulls)
        doing = f"reading the history of {path} in {self.api.repo}"
        got = self.api.client.graphql(query, variables, doing=doing, needs="contents: read")
        data = got.data if isinstance(got.data, dict) else {}
        errors = data.get("errors")
        if errors:
            error = errors[0] if isinstance(errors, list) else errors
            message = error.get("message") if isinstance(error, dict) else error
            raise GitHubError(f"{doing}: GitHub answered: {message}")
        repository = (data.get("data") or {}).get("repository")
        if not isinstance(repository, dict):
            raise InputError(
                f"{doing}: not found; check that {self.api.repo} exists and that the token can read it"
            )
        ref = repository.get("branch")
        if not isinstance(ref, dict):
            raise InputError(f"{doing}: the branch {self.branch} does not exist")
        if not self.branch:
            self._default = str(ref.get("name") or "")
        if with_pulls:
            self._pending[path] = _pending(repository.get("openPulls"), path, self.base_name)
        history = (ref.get("target") or {}).get("history")
        if not isinstance(history, dict):
            raise GitHubError(f"{doing}: GitHub's answer has no history")
        return history


def _versions(nodes: Any, base: str, given: set[str]) -> list[FileVersion]:
    """The commits that brought these to the base, newest first, each once."""
    found: dict[str, FileVersion] = {}
    for node in nodes:
        if not isinstance(node, dict):
            continue
        version = _brought_by(node, base)
        if version.commit not in given and version.commit not in found:
            found[version.commit] = version
    return sorted(found.values(), key=lambda v: v.date, reverse=True)


def _brought_by(node: dict[str, Any], base: str) -> FileVersion:
    pulls = ((node.get("associatedPullRequests") or {}).get("nodes")) or []
    for pull in pulls:
        merge = pull.get("mergeCommit") if isinstance(pull, dict) else None
        if pull and pull.get("merged") and pull.get("baseRefName") == base and isinstance(merge, dict):
            return FileVersion(
                commit=str(merge["oid"]),
                date=str(merge.get("committedDate") or ""),
                author=_login(pull.get("author")) or "",
                subject=str(merge.get("messageHeadline") or ""),
                text=_text(merge.get("file")),
                pull_request=int(pull["number"]),
                merged_by=_login(pull.get("mergedBy")),
            )
    author = node.get("author") or {}
    return FileVersion(
        commit=str(node["oid"]),
        date=str(node.get("committedDate") or ""),
        author=_login(author.get("user")) or str(author.get("name") or ""),
        subject=str(node.get("messageHeadline") or ""),
        text=_text(node.get("file")),
    )


def _pending(connection: Any, path: str, base: str) -> tuple[Pending, ...]:
    found = []
    for pull in (connection or {}).get("nodes") or ():
        if pull.get("baseRefName") != base:
            continue
        target = ((pull.get("headRef") or {}).get("target")) or {}
        entry = pending_of(
            _text(target.get("file")),
            path,
            pull_request=int(pull["number"]),
            branch=str(pull.get("headRefName") or ""),
            author=_login(pull.get("author")) or "",
        )
        if entry is not None:
            found.append(entry)
    return tuple(found)


def _text(entry: Any) -> str | None:
    blob = (entry or {}).get("object") if isinstance(entry, dict) else None
    text = blob.get("text") if isinstance(blob, dict) else None
    return text if isinstance(text, str) else None


def _login(user: Any) -> str | None:
    login = user.get("login") if isinstance(user, dict) else None
    return str(login) if login else None
