"""`matrix.Fleet` on GitHub: every image file of the base branch in three requests, however many
apps and environments there are.

  1. GraphQL: the base branch's head commit and tree, and the open pull requests into it with the
     paths each changes (as `files.py` lists them for one file's history);
  2. REST: the recursive tree listing of that commit, to find the files the path template matches
     (left out when the command names every app and environment);
  3. GraphQL: each file's text at that commit (`object(expression: "<commit>:<path>")`), each open
     pull request's text of the files it changes, and the last versions of each file's history
     (blob ids only), mapped to the commits that brought them to the base as `files.py` maps them.

A pull request that changes more files than GitHub lists at once (100) has every file read at its
head instead, in the same third request.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from autodeploy.deploys import Pending, pending_of
from autodeploy.errors import GitHubError, InputError
from autodeploy.github.api import RepoApi
from autodeploy.github.graphql import graphql_data, repository_query
from autodeploy.matrix import HISTORY_DEPTH, FileState, FleetRead, Version
from autodeploy.plan import path_pattern

OPEN_PULLS = 50
PULL_FILES = 100  # GitHub's page size for a pull request's files
READ = "`contents: read`"

_BASE = "{ name target { ... on Commit { oid tree { oid } } } }"
_PULLS = (
    f"openPulls: pullRequests(states: OPEN, first: {OPEN_PULLS},"
    " orderBy: {field: CREATED_AT, direction: DESC}) {"
    " nodes { number baseRefName headRefName headRefOid author { login }"
    f" files(first: {PULL_FILES}) {{ pageInfo {{ hasNextPage }} nodes {{ path }} }} }} }}"
)
_BLOB = "... on Blob { oid text isBinary }"
_VERSION = (
    "nodes { oid committedDate file(path: $pPATH) { oid }"
    " associatedPullRequests(first: 5) { nodes { merged baseRefName"
    " mergeCommit { oid committedDate file(path: $pPATH) { oid } } } } }"
)


@dataclass(frozen=True)
class _Pull:
    number: int
    branch: str
    head: str
    author: str
    paths: tuple[str, ...] | None  # None: more than GitHub lists at once


class GitHubFleet:
    def __init__(self, api: RepoApi, base: str | None) -> None:
        self.api = api
        self.base = base  # None: the repository's default branch, learned in the first request

    def read_fleet(self, path_template: str, *, paths: Sequence[str] | None) -> FleetRead:
        head, tree, base_name, pulls = self._head_and_pulls()
        wanted = list(paths) if paths is not None else self._listing(tree, path_template)
        texts, blobs, versions, pending = self._read(head, base_name, wanted, pulls)
        files = tuple(
            FileState(path, texts.get(path), blobs.get(path), versions.get(path, ()), pending.get(path, ()))
            for path in wanted
        )
        return FleetRead(files, revision=head, where=f"{base_name} of {self.api.repo} @ {head[:7]}")

    # -- 1. the base's head and the open pull requests ----------------------------------------------

    def _head_and_pulls(self) -> tuple[str, str, str, list[_Pull]]:
        declared = "$owner: String!, $name: String!"
        if self.base:
            declared += ", $ref: String!"
            base = "base: ref(qualifiedName: $ref) " + _BASE
        else:
            base = "base: defaultBranchRef " + _BASE
        query = f"query({declared}) {{ repository(owner: $owner, name: $name) {{ {base} {_PULLS} }} }}"
        variables = self._repo_variables()
        if self.base:
            variables["ref"] = f"refs/heads/{self.base}"
        repository = self._graphql(query, variables, f"reading the base branch of {self.api.repo}")
        ref = repository.get("base")
        target = ref.get("target") if isinstance(ref, dict) else None
        if not isinstance(target, dict) or not target.get("oid"):
            raise InputError(
                f"the base branch {self.base} does not exist in {self.api.repo}; check --base-branch"
                if self.base
                else f"{self.api.repo} has no default branch to read"
            )
        base_name = self.base or str(ref.get("name") if isinstance(ref, dict) else "")
        pulls = []
        for node in (repository.get("openPulls") or {}).get("nodes") or ():
            if not isinstance(node, dict) or not node.get("headRefOid"):
                continue
            if node.get("baseRefName") != base_name:
                continue
            files = node.get("files") or {}
            complete = not (files.get("pageInfo") or {}).get("hasNextPage")
            changed = tuple(str(f.get("path")) for f in files.get("nodes") or () if isinstance(f, dict))
            pulls.append(
                _Pull(
                    number=int(node["number"]),
                    branch=str(node.get("headRefName") or ""),
                    head=str(node["headRefOid"]),
                    author=str((node.get("author") or {}).get("login") or ""),
                    paths=changed if complete else None,
                )
            )
        return str(target["oid"]), str((target.get("tree") or {}).get("oid") or ""), base_name, pulls

    # -- 2. the listing ------------------------------------------------------------------------------

    def _listing(self, tree: str, path_template: str) -> list[str]:
        doing = f"listing the files of {self.api.repo}"
        got = self.api.client.request(
            "GET",
            f"/repos/{self.api.repo}/git/trees/{quote(tree)}",
            params={"recursive": "1"},
            doing=doing,
            needs=READ,
        )
        data = got.data if isinstance(got.data, dict) else {}
        if data.get("truncated"):
            raise GitHubError(
                f"{doing}: the repository has more files than GitHub lists at once; name the apps "
                "with --app and the environments with --env"
            )
        pattern = path_pattern(path_template)
        entries = data.get("tree") or ()
        return sorted(
            str(e["path"])
            for e in entries
            if isinstance(e, dict) and e.get("type") == "blob" and pattern.fullmatch(str(e.get("path")))
        )

    # -- 3. texts, pending texts and history, in one request ------------------------------------------

    def _read(
        self, head: str, base_name: str, paths: Sequence[str], pulls: Sequence[_Pull]
    ) -> tuple[
        dict[str, str | None],
        dict[str, str | None],
        dict[str, tuple[Version, ...]],
        dict[str, tuple[Pending, ...]],
    ]:
        if not paths:
            return {}, {}, {}, {}
        declared = ["$owner: String!", "$name: String!", "$head: GitObjectID!"]
        variables: dict[str, Any] = {**self._repo_variables(), "head": head}
        fields, histories = [], []
        for number, path in enumerate(paths):
            declared += [f"$p{number}: String!", f"$e{number}: String!"]
            variables[f"p{number}"] = path
            variables[f"e{number}"] = f"{head}:{path}"
            fields.append(f"f{number}: object(expression: $e{number}) {{ {_BLOB} }}")
            field = f"h{number}: history(path: $p{number}, first: {HISTORY_DEPTH}) {{ {_VERSION} }}"
            histories.append(field.replace("PATH", str(number)))
        wanted = set(paths)
        asked: list[tuple[str, _Pull, str]] = []  # alias, pull request, path
        for pull in pulls:
            for path in sorted(wanted & set(pull.paths)) if pull.paths is not None else paths:
                alias = f"q{len(asked)}"
                declared.append(f"${alias}: String!")
                variables[alias] = f"{pull.head}:{path}"
                fields.append(f"{alias}: object(expression: ${alias}) {{ {_BLOB} }}")
                asked.append((alias, pull, path))
        fields.append("history: object(oid: $head) { ... on Commit { " + " ".join(histories) + " } }")
        doing = f"reading {len(paths)} image files in {self.api.repo}"
        repository = self._graphql(repository_query(declared, fields), variables, doing)
        texts: dict[str, str | None] = {}
        blobs: dict[str, str | None] = {}
        versions: dict[str, tuple[Version, ...]] = {}
        history = repository.get("history") or {}
        for number, path in enumerate(paths):
            texts[path], blobs[path] = self._blob(repository.get(f"f{number}"), path, head)
            versions[path] = _versions(history.get(f"h{number}"), base_name)
        pending: dict[str, list[Pending]] = {}
        for alias, pull, path in asked:
            text, blob = self._blob(repository.get(alias), path, pull.head)
            if blob == blobs.get(path):
                continue
            entry = pending_of(text, path, pull_request=pull.number, branch=pull.branch, author=pull.author)
            if entry is not None:
                pending.setdefault(path, []).append(entry)
        return texts, blobs, versions, {path: tuple(found) for path, found in pending.items()}

    def _blob(self, node: Any, path: str, ref: str) -> tuple[str | None, str | None]:
        if not isinstance(node, dict) or not node.get("oid"):
            return None, None
        if node.get("isBinary") or not isinstance(node.get("text"), str):
            return self.api.read_file(path, ref)[0], str(node["oid"])  # too large for GraphQL
        return str(node["text"]), str(node["oid"])

    # ------------------------------------------------------------------------------------------------

    def _repo_variables(self) -> dict[str, Any]:
        owner, name = self.api.repo.split("/", 1)
        return {"owner": owner, "name": name}

    def _graphql(self, query: str, variables: Mapping[str, Any], doing: str) -> dict[str, Any]:
        got = self.api.client.graphql(query, dict(variables), doing=doing, needs=READ)
        repository = graphql_data(got.data, doing).get("repository")
        if not isinstance(repository, dict):
            raise InputError(
                f"{doing}: the repository {self.api.repo} does not exist or the token cannot see it; "
                "check --gitops-repo"
            )
        return repository


def _versions(connection: Any, base: str) -> tuple[Version, ...]:
    """The commits that brought the listed versions to the base, newest first, each once: a merged
    pull request's merge commit (a merge, squash or rebase), else the commit itself."""
    found: dict[str, Version] = {}
    for node in (connection or {}).get("nodes") or ():
        if not isinstance(node, dict):
            continue
        version = Version(str(node["oid"]), str(node.get("committedDate") or ""), _oid(node.get("file")))
        for pull in (node.get("associatedPullRequests") or {}).get("nodes") or ():
            merge = pull.get("mergeCommit") if isinstance(pull, dict) else None
            if pull and pull.get("merged") and pull.get("baseRefName") == base and isinstance(merge, dict):
                version = Version(
                    str(merge["oid"]), str(merge.get("committedDate") or ""), _oid(merge.get("file"))
                )
                break
        found.setdefault(version.commit, version)
    return tuple(sorted(found.values(), key=lambda v: v.date, reverse=True))


def _oid(entry: Any) -> str | None:
    oid = entry.get("oid") if isinstance(entry, dict) else None
    return str(oid) if oid else None
