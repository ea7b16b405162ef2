"""What the wait reads on GitHub, cheaply enough to poll: the pull request and the commit statuses
as conditional GETs (an unchanged answer is a 304, free of rate limit), and, only when the base
branch moved past the merge commit, one GraphQL request for its first-parent line since then with
the image files at each commit.

    watch.pull(12)                   the pull request's state (merged, by whom, its merge commit)
    watch.checks(sha)                the statuses of the pull request's head, for the progress line
    watch.candidates(merge, targets) the merge commit and the later first-parent commits of the base,
                                     each with its statuses and which targets' digests it still holds
    watch.changed_files(sha)         the image files a merged commit changed, with their texts there
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from autodeploy import imagefile
from autodeploy.errors import AutodeployError, InputError
from autodeploy.flux import CommitStatus
from autodeploy.github.api import RepoApi
from autodeploy.github.client import Client
from autodeploy.github.conditional import Conditional
from autodeploy.github.graphql import graphql_data
from autodeploy.github.models import field
from autodeploy.github.statuses import NEEDS, combined_status, commit_statuses
from autodeploy.rollout import Candidate, PullState, WaitTarget

CHAIN_DEPTH = 30  # commits of the base looked through for the merge commit's later first-parent line


class GitHubWatch:
    def __init__(self, client: Client, repo: str, base: str | None) -> None:
        self.client = client
        self.repo = repo
        self._base = base
        self.poller = Conditional(client)
        self._chain: tuple[str, list[tuple[str, dict[str, str | None]]]] | None = None

    @property
    def requests(self) -> int:
        return self.client.requests

    @property
    def base(self) -> str:
        if self._base is None:
            self._base = RepoApi(self.client, self.repo).default_branch()
        return self._base

    def pull(self, number: int) -> tuple[PullState, bool]:
        doing = f"reading pull request #{number} in {self.repo}"
        got = self.poller.get(
            f"/repos/{self.repo}/pulls/{number}", doing=doing, needs="`pull-requests: read`", allow=(404,)
        )
        if got.status == 404:
            raise InputError(
                f"{doing}: there is no pull request #{number} in {self.repo}, or the token cannot see it"
            )
        data = got.data
        merged_by = data.get("merged_by") if isinstance(data, dict) else None
        state = PullState(
            number=int(field(data, "number", doing=doing)),
            url=str(field(data, "html_url", doing=doing)),
            state=str(field(data, "state", doing=doing)),
            merged=bool(data.get("merged") or data.get("merged_at")),
            merged_at=data.get("merged_at") or None,
            merged_by=str(merged_by.get("login")) if isinstance(merged_by, dict) else None,
            merge_commit=data.get("merge_commit_sha") or None,
            auto_merge=data.get("auto_merge") is not None,
            head_sha=str(field(data, "head", "sha", doing=doing)),
            base_ref=str(field(data, "base", "ref", doing=doing)),
        )
        return state, got.changed

    def checks(self, sha: str) -> tuple[CommitStatus, ...]:
        return commit_statuses(self.poller, self.repo, sha)[0]

    def candidates(self, merge_commit: str, targets: Sequence[WaitTarget]) -> tuple[list[Candidate], bool]:
        """(the commits whose statuses may count, oldest first; whether anything changed)."""
        every = frozenset(t.path for t in targets)
        head, head_statuses, changed = combined_status(self.poller, self.repo, self.base)
        if head == merge_commit:
            return [Candidate(merge_commit, head_statuses, every)], changed
        chain = self._first_parent_line(head, merge_commit, targets)
        found = []
        for sha, texts in chain:
            if sha == head:
                statuses = head_statuses
            else:
                statuses, moved = commit_statuses(self.poller, self.repo, sha)
                changed = changed or moved
            holds = every if sha == merge_commit else frozenset(t.path for t in targets if _holds(texts, t))
            found.append(Candidate(sha, statuses, holds))
        return found, changed

    def _first_parent_line(
        self, head: str, merge_commit: str, targets: Sequence[WaitTarget]
    ) -> list[tuple[str, dict[str, str | None]]]:
        """The merge commit, then each first-parent descendant up to `head`, with the targets' files
        (one GraphQL request, made again only when the head moves)."""
        if self._chain is not None and self._chain[0] == head:
            return self._chain[1]
        paths = list(dict.fromkeys(t.path for t in targets))
        owner, name = self.repo.split("/", 1)
        declared = ["$owner: String!", "$name: String!", "$head: GitObjectID!"]
        variables: dict[str, Any] = {"owner": owner, "name": name, "head": head}
        files = []
        for number, path in enumerate(paths):
            declared.append(f"$p{number}: String!")
            variables[f"p{number}"] = path
            files.append(f"f{number}: file(path: $p{number}) {{ object {{ ... on Blob {{ text }} }} }}")
        query = (
            f"query({', '.join(declared)}) {{ repository(owner: $owner, name: $name) {{ "
            f"object(oid: $head) {{ ... on Commit {{ history(first: {CHAIN_DEPTH}) {{ nodes {{ oid "
            "parents(first: 1) { nodes { oid } } " + " ".join(files) + " } } } } } }"
        )
        doing = f"reading the commits of {self.base} since {merge_commit[:12]} in {self.repo}"
        got = self.client.graphql(query, variables, doing=doing, needs=NEEDS)
        repository = graphql_data(got.data, doing).get("repository") or {}
        nodes = ((repository.get("object") or {}).get("history") or {}).get("nodes") or []
        by_sha = {str(n.get("oid")): n for n in nodes if isinstance(n, dict)}
        line: list[tuple[str, dict[str, str | None]]] = []
        sha: str | None = head
        while sha is not None and sha in by_sha and sha != merge_commit:
            node = by_sha[sha]
            texts = {
                path: ((node.get(f"f{i}") or {}).get("object") or {}).get("text")
                for i, path in enumerate(paths)
            }
            line.append((sha, texts))
            parents = (node.get("parents") or {}).get("nodes") or []
            sha = str(parents[0].get("oid")) if parents else None
        if sha != merge_commit:
            line = []  # the merge commit is not on the line within reach: only it counts
        line.append((merge_commit, {}))
        self._chain = (head, line[::-1])
        return self._chain[1]

    def merged_parent(self, sha: str) -> str:
        """The first parent of a merged commit: what it is compared with."""
        commit = RepoApi(self.client, self.repo).commit(sha)
        if not commit.parents:
            raise InputError(f"{sha[:12]} in {self.repo} has no parent: it brought no deploy to wait for")
        return commit.parents[0]

    def changed_files(self, base: str, head: str, matches: Callable[[str], bool]) -> list[tuple[str, str]]:
        """The image files (`matches(path)`) that `head` changed since `base`, with their texts at
        `head` (two requests: the comparison, then the files in one GraphQL read); removed ones are
        left out."""
        api = RepoApi(self.client, self.repo)
        comparison = api.compare(base, head)
        if comparison is None:
            raise InputError(f"cannot compare {base[:12]}...{head[:12]} in {self.repo}: is the commit there?")
        paths = [f.path for f in comparison.files if f.sha is not None and matches(f.path)]
        if not paths:
            return []
        read = api.read_refs({"at": head}, paths)["at"]
        if read is None:
            raise InputError(f"commit {head[:12]} is not in {self.repo}")
        return [(path, text) for path, text in read.files.items() if text is not None]


def _holds(texts: dict[str, str | None], target: WaitTarget) -> bool:
    text = texts.get(target.path)
    if text is None:
        return False
    try:
        block = imagefile.read_block(text, path=target.path)
    except AutodeployError:
        return False
    return block is not None and block.digest == target.digest
