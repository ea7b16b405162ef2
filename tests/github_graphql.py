"""GraphQL queries against the fake GitHub, executed by graphql-core on GitHub's own schema
(tests/graphql/schema.graphql, from npm @octokit/graphql-schema): a query autodeploy sends that the
real API would refuse (an unknown field, a wrong argument, an unused variable) is refused here too.

Resolved from the fake's real git objects: `Repository.ref` and `.defaultBranchRef`, `Ref.target`,
`Commit.history(path:)` with git log's history simplification (a merge that left the file as one
parent had it is followed down that parent only and not listed), `Commit.file`, `Blob.text`,
`Commit.associatedPullRequests`, `Commit.parents`, `Commit.status` (the commit statuses of
tests/github_fake_statuses.py: the latest per context), `Ref.associatedPullRequests` (open pull
requests from a branch), `Repository.object(oid:)` for a commit or a blob, `.object(expression:
"<rev>:<path>")` for a blob or a tree, `PullRequest.headRefOid` and `.files`, and
`Repository.pullRequests(states: OPEN)`.
"""

from __future__ import annotations

import datetime
import heapq
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from graphql import GraphQLSchema, build_schema, graphql_sync, parse, validate

if TYPE_CHECKING:
    from github_fake import Pull, Repo

SCHEMA = Path(__file__).resolve().parent / "graphql" / "schema.graphql"
WEB = ["https://github.com"]  # the web address pull requests' urls are on: the fake's, per query
EPOCH = datetime.datetime(2026, 1, 1, tzinfo=datetime.UTC)


@cache
def schema() -> GraphQLSchema:
    built = build_schema(SCHEMA.read_text(), assume_valid_sdl=True)
    # GitHub's published schema breaks a few of graphql-core's rules on deprecations; the queries
    # are still validated against it in full.
    built._validation_errors = []  # type: ignore[attr-defined]
    return built


def check(query: str) -> list[str]:
    """What GitHub's schema finds wrong with `query` (nothing: [])."""
    return [error.message for error in validate(schema(), parse(query))]


def execute(
    repos: dict[str, Repo], query: str, variables: dict[str, Any], *, web: str = "https://github.com"
) -> dict[str, Any]:
    WEB[0] = web
    problems = check(query)
    if problems:
        return {"errors": [{"message": message} for message in problems]}
    result = graphql_sync(
        schema(),
        query,
        root_value=Root(repos),
        variable_values=variables,
        field_resolver=_field,
        type_resolver=lambda value, info, kind: value.typename,
    )
    answer: dict[str, Any] = {"data": result.data}
    if result.errors:
        answer["errors"] = [{"message": error.message} for error in result.errors]
    return answer


def _field(source: Any, info: Any, **args: Any) -> Any:
    value = (
        getattr(source, info.field_name, None)
        if not isinstance(source, dict)
        else source.get(info.field_name)
    )
    return value(**args) if callable(value) else value


def date_of(repo: Repo, sha: str) -> str:
    """The fake's commits have no clock: their order stands in for it, a minute apart."""
    when = EPOCH + datetime.timedelta(minutes=repo.commits[sha].seq)
    return when.strftime("%Y-%m-%dT%H:%M:%SZ")


class Root:
    def __init__(self, repos: dict[str, Repo]) -> None:
        self.repos = repos

    def repository(self, owner: str, name: str, **_: Any) -> RepositoryNode | None:
        repo = self.repos.get(f"{owner}/{name}".lower())
        return RepositoryNode(repo) if repo else None


class RepositoryNode:
    typename = "Repository"

    def __init__(self, repo: Repo) -> None:
        self.repo = repo

    def ref(self, qualifiedName: str) -> RefNode | None:  # noqa: N803 (GraphQL's argument name)
        name = qualifiedName.removeprefix("refs/heads/")
        return RefNode(self.repo, name) if name in self.repo.refs else None

    def object(self, oid: str | None = None, expression: str | None = None) -> Any:
        if expression is not None:  # "<rev>:<path>": a blob or a tree at a commit, as rev-parse reads it
            rev, _, path = expression.partition(":")
            sha = self.repo.resolve(rev)
            return None if sha is None else _at_path(self.repo, sha, path.strip("/"))
        if oid in self.repo.commits:
            return CommitNode(self.repo, oid)
        if oid in self.repo.blobs:
            return BlobNode(self.repo.blobs[oid].decode(), oid)
        return None

    def defaultBranchRef(self) -> RefNode | None:  # noqa: N802
        return self.ref(self.repo.default_branch)

    def pullRequests(self, first: int = 100, states: list[str] | None = None, **_: Any) -> dict[str, Any]:  # noqa: N802
        pulls = sorted(self.repo.pulls.values(), key=lambda p: -p.number)
        wanted = {s.lower() for s in states} if states else None
        chosen = [p for p in pulls if wanted is None or _state(p) in wanted][:first]
        return {"nodes": [PullNode(self.repo, p) for p in chosen]}


def _state(pull: Pull) -> str:
    return "merged" if pull.merged else pull.state


class RefNode:
    typename = "Ref"

    def __init__(self, repo: Repo, name: str) -> None:
        self.repo = repo
        self.name = name

    def target(self) -> CommitNode:
        return CommitNode(self.repo, self.repo.refs[self.name])

    def associatedPullRequests(
        self, first: int = 100, states: list[str] | None = None, **_: Any
    ) -> dict[str, Any]:  # noqa: N802
        """The pull requests whose head is this branch (of this repository)."""
        wanted = {s.lower() for s in states} if states else None
        pulls = sorted(self.repo.pulls.values(), key=lambda p: p.number)
        chosen = [p for p in pulls if p.head == self.name and (wanted is None or _state(p) in wanted)]
        return {"nodes": [PullNode(self.repo, p) for p in chosen[:first]]}


class CommitNode:
    typename = "Commit"

    def __init__(self, repo: Repo, sha: str) -> None:
        self.repo = repo
        self.oid = sha
        commit = repo.commits[sha]
        self.messageHeadline = commit.message.split("\n", 1)[0]
        self.committedDate = date_of(repo, sha)
        self.author = {"name": "ci", "user": None}
        self.tree = {"oid": commit.tree_sha}

    def file(self, path: str) -> dict[str, Any] | None:
        blob = self.repo.commits[self.oid].tree.get(path)
        if blob is None:
            return None
        return {"oid": blob, "path": path, "object": BlobNode(self.repo.blobs[blob].decode(), blob)}

    def history(
        self, first: int = 100, after: str | None = None, path: str | None = None, **_: Any
    ) -> dict[str, Any]:
        shas = _log(self.repo, self.oid, path)
        start = int(after) if after else 0
        page = shas[start : start + first]
        end = start + len(page)
        return {
            "nodes": [CommitNode(self.repo, sha) for sha in page],
            "pageInfo": {"hasNextPage": end < len(shas), "endCursor": str(end)},
        }

    def parents(self, first: int = 100, **_: Any) -> dict[str, Any]:
        shas = self.repo.commits[self.oid].parents
        return {"nodes": [CommitNode(self.repo, sha) for sha in shas[:first]], "totalCount": len(shas)}

    def status(self) -> dict[str, Any] | None:
        from github_fake_statuses import combined_state, latest

        records = self.repo.statuses.get(self.oid)
        if not records:
            return None  # GitHub: null when no status was ever posted
        contexts = [
            {
                "id": f"SC_{r.id}",
                "context": r.context,
                "state": r.state.upper(),
                "description": r.description,
                "createdAt": r.created_at,
                "targetUrl": r.target_url,
            }
            for r in latest(records)
        ]
        return {"id": f"S_{self.oid[:10]}", "state": combined_state(records).upper(), "contexts": contexts}

    def associatedPullRequests(self, first: int = 100, **_: Any) -> dict[str, Any]:  # noqa: N802
        found = [p for p in self.repo.pulls.values() if self.oid in _pull_commits(self.repo, p)]
        return {"nodes": [PullNode(self.repo, p) for p in sorted(found, key=lambda p: p.number)][:first]}


class TreeNode:
    typename = "Tree"

    def __init__(self, entries: list[dict[str, str]]) -> None:
        self.entries = entries


def _at_path(repo: Repo, sha: str, path: str) -> BlobNode | TreeNode | None:
    """The fake's trees are flat (path -> blob): a directory is every path under it."""
    text = repo.text(sha, path) if path else None
    if text is not None:
        return BlobNode(text, repo.commits[sha].tree[path])
    prefix = f"{path}/" if path else ""
    kinds: dict[str, str] = {}
    for name in repo.commits[sha].tree:
        if name.startswith(prefix):
            first, _, rest = name[len(prefix) :].partition("/")
            kinds[first] = "tree" if rest else kinds.get(first, "blob")
    if not kinds:
        return None
    return TreeNode([{"name": name, "type": kind} for name, kind in sorted(kinds.items())])


class UserNode:
    typename = "User"  # an Actor

    def __init__(self, login: str) -> None:
        self.login = login


class BlobNode:
    typename = "Blob"

    def __init__(self, text: str, oid: str | None = None) -> None:
        self.text = text
        self.isBinary = False
        self.oid = oid


class PullNode:
    typename = "PullRequest"

    def __init__(self, repo: Repo, pull: Pull) -> None:
        self.repo = repo
        self.number = pull.number
        self.merged = pull.merged
        self.baseRefName = pull.base
        self.headRefName = pull.head
        self.author = UserNode("autodeploy-bot")
        self.mergedBy = UserNode("alice") if pull.merged else None
        self._pull = pull
        self.id = pull.node_id
        self.url = f"{WEB[0]}/{repo.full_name}/pull/{pull.number}"
        self.title = pull.title
        self.body = pull.body
        self.state = _state(pull).upper()
        self.headRefOid = pull.head_sha or repo.refs.get(pull.head, "0" * 40)
        self.labels = {"nodes": [{"name": name} for name in pull.labels]}
        self.autoMergeRequest = {"enabledAt": EPOCH.isoformat()} if pull.auto_merge else None

    def mergeCommit(self) -> CommitNode | None:  # noqa: N802
        sha = self._pull.merge_commit_sha
        return CommitNode(self.repo, sha) if sha else None

    def headRef(self) -> RefNode | None:  # noqa: N802
        return RefNode(self.repo, self._pull.head) if self._pull.head in self.repo.refs else None

    def files(self, first: int = 100, **_: Any) -> dict[str, Any]:
        """The files the pull request changes: its head against where it left its base."""
        head = self.headRefOid
        base = self.repo.refs.get(self._pull.base)
        if head not in self.repo.commits or base is None:
            return {"pageInfo": {"hasNextPage": False, "endCursor": None}, "nodes": []}
        since = self.repo.merge_base(base, head)
        before = self.repo.commits[since].tree if since else {}
        after = self.repo.commits[head].tree
        changed = sorted(p for p in set(before) | set(after) if before.get(p) != after.get(p))
        return {
            "pageInfo": {"hasNextPage": len(changed) > first, "endCursor": str(min(first, len(changed)))},
            "nodes": [{"path": path} for path in changed[:first]],
        }


def _log(repo: Repo, start: str, path: str | None) -> list[str]:
    """`git log START -- PATH`: newest first, with the default history simplification."""
    shown: list[str] = []
    seen: set[str] = set()
    todo = [(-repo.commits[start].seq, start)]
    while todo:
        _, sha = heapq.heappop(todo)
        if sha in seen:
            continue
        seen.add(sha)
        commit = repo.commits[sha]
        if path is None:
            shown.append(sha)
            parents = list(commit.parents)
        else:
            blob = commit.tree.get(path)
            same = [p for p in commit.parents if repo.commits[p].tree.get(path) == blob]
            if same:
                parents = same[:1]  # TREESAME to it: follow that parent only, list nothing here
            else:
                if blob is not None or commit.parents:
                    shown.append(sha)
                parents = list(commit.parents)
        for parent in parents:
            heapq.heappush(todo, (-repo.commits[parent].seq, parent))
    return shown


def _pull_commits(repo: Repo, pull: Pull) -> set[str]:
    """The commits GitHub associates with a pull request: its branch's own, and its merge commit."""
    head = pull.head_sha if pull.state == "closed" else repo.refs.get(pull.head)
    if head is None:
        return set()
    if pull.merge_commit_sha:
        base_tip = repo.commits[pull.merge_commit_sha].parents[0]
        own = repo.ancestors(head) - repo.ancestors(base_tip)
        return own | {pull.merge_commit_sha}
    return repo.ancestors(head) - repo.ancestors(repo.refs.get(pull.base, head))
