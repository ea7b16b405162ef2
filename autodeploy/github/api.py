"""The REST endpoints autodeploy uses on one repository, one method each, one request each.

Answers that mean "someone else got there first" (a stale file sha, a ref that moved or already
exists) come back as None or False for the caller to turn into a ConflictError; anything else
that fails goes through `Client.failure`.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Mapping, Sequence
from typing import Any
from urllib.parse import quote

from autodeploy.errors import GitHubError, InputError
from autodeploy.github.client import Client, Response, is_protection
from autodeploy.github.graphql import graphql_data, repository_query
from autodeploy.github.models import PULL_FIELDS, Commit, Comparison, Pull, RefRead, field, text_of

_SHA_RE = re.compile(r"[0-9a-f]{40}")
READ = "`contents: read`"
WRITE = "`contents: write`"
PULLS = "`pull-requests: write`"
CONFLICT_HINTS = (
    "does not match",
    "is at ",
    "expected",
    "already exists",
    "not a fast forward",
    "does not exist",
)


class RepoApi:
    def __init__(self, client: Client, repo: str) -> None:
        self.client = client
        self.repo = repo
        self.owner = repo.split("/", 1)[0]
        self.prefix = f"/repos/{repo}"

    # -- reading ---------------------------------------------------------------------------------

    def read_file(self, path: str, ref: str) -> tuple[str | None, bool]:
        """(text, ref_found): text is None for a missing file; ref_found is False when GitHub says
        the ref itself does not exist ("No commit found for the ref ..."), True when it may."""
        doing = f"reading {path} on {_short(ref)} in {self.repo}"
        got = self.client.request(
            "GET",
            f"{self.prefix}/contents/{quote(path)}",
            params={"ref": ref},
            doing=doing,
            allow=(404,),
            needs=READ,
        )
        if got.status == 404:
            return None, not got.message.lower().startswith("no commit found")
        return text_of(got.data, path, doing), True

    def read_refs(
        self, refs: Mapping[str, str | None], paths: Sequence[str], *, pulls_of: str | None = None
    ) -> dict[str, RefRead | None]:
        """Several files at the heads of several refs, in one GraphQL request: for each alias, its
        ref's head commit (with its tree) and the files' texts there, all read from that one commit
        (None for a missing file), or None for a missing ref. A ref of None is the default branch, a
        40-hex ref a commit. `pulls_of` names the alias whose open pull requests (as head) come too."""
        declared = ["$owner: String!", "$name: String!"]
        variables: dict[str, Any] = {"owner": self.owner, "name": self.repo.split("/", 1)[1]}
        files = []
        for number, path in enumerate(paths):
            declared.append(f"$p{number}: String!")
            variables[f"p{number}"] = path
            files.append(
                f"f{number}: file(path: $p{number}) {{ object {{ ... on Blob {{ text isBinary }} }} }}"
            )
        commit = "... on Commit { oid tree { oid } " + " ".join(files) + " }"
        fields = []
        for alias, ref in refs.items():
            pulls = (
                f" pulls: associatedPullRequests(states: OPEN, first: 5) {{ nodes {{ {PULL_FIELDS} }} }}"
                if alias == pulls_of
                else ""
            )
            if ref is None:
                fields.append(f"{alias}: defaultBranchRef {{ name target {{ {commit} }}{pulls} }}")
            elif _SHA_RE.fullmatch(ref):
                declared.append(f"${alias}: GitObjectID!")
                variables[alias] = ref
                fields.append(f"{alias}: object(oid: ${alias}) {{ {commit} }}")
            else:
                declared.append(f"${alias}: String!")
                variables[alias] = ref
                named = f"ref(qualifiedName: ${alias})"
                fields.append(f"{alias}: {named} {{ name target {{ {commit} }}{pulls} }}")
        doing = f"reading {len(paths)} files in {self.repo}"
        repository = self._repository(declared, variables, fields, doing)
        found: dict[str, RefRead | None] = {}
        for alias, ref in refs.items():
            node = repository.get(alias) or {}
            target = node if ref is not None and _SHA_RE.fullmatch(ref) else node.get("target")
            if not isinstance(target, dict):
                found[alias] = None
                continue
            head = Commit(
                str(field(target, "oid", doing=doing)), (), str(field(target, "tree", "oid", doing=doing))
            )
            texts: dict[str, str | None] = {}
            for number, path in enumerate(paths):
                blob = (target.get(f"f{number}") or {}).get("object")
                if not isinstance(blob, dict):
                    texts[path] = None
                elif blob.get("isBinary") or not isinstance(blob.get("text"), str):
                    texts[path] = self.read_file(path, head.sha)[0]  # too large or not text for GraphQL
                else:
                    texts[path] = blob["text"]
            listed = (node.get("pulls") or {}).get("nodes") or ()
            open_pulls = tuple(Pull.from_graphql(p, doing) for p in listed if isinstance(p, dict))
            name = node.get("name")
            found[alias] = RefRead(head, texts, open_pulls, str(name) if name else None)
        return found

    def _repository(
        self, declared: Sequence[str], variables: Mapping[str, Any], fields: Sequence[str], doing: str
    ) -> dict[str, Any]:
        """One GraphQL query of `fields` on the repository: its answer, or the error GitHub gave."""
        got = self.client.graphql(repository_query(declared, fields), variables, doing=doing, needs=READ)
        repository = graphql_data(got.data, doing).get("repository")
        if not isinstance(repository, dict):
            raise self._missing()
        return repository

    def list_dirs(self, paths: Sequence[str], commit: str) -> dict[str, tuple[str, ...] | None]:
        """The directories inside each of `paths` at `commit`, in one GraphQL request (None for a
        path that is no directory there)."""
        declared = ["$owner: String!", "$name: String!"]
        variables: dict[str, Any] = {"owner": self.owner, "name": self.repo.split("/", 1)[1]}
        fields = []
        for number, path in enumerate(paths):
            declared.append(f"$d{number}: String!")
            variables[f"d{number}"] = f"{commit}:{'' if path in {'', '.'} else path}"
            fields.append(
                f"d{number}: object(expression: $d{number}) {{ ... on Tree {{ entries {{ name type }} }} }}"
            )
        doing = f"listing {len(paths)} directories at {_short(commit)} in {self.repo}"
        repository = self._repository(declared, variables, fields, doing)
        found: dict[str, tuple[str, ...] | None] = {}
        for number, path in enumerate(paths):
            tree = repository.get(f"d{number}")
            entries = tree.get("entries") if isinstance(tree, dict) else None
            if not isinstance(entries, list):
                found[path] = None  # missing, or a file
                continue
            names = (str(e.get("name")) for e in entries if isinstance(e, dict) and e.get("type") == "tree")
            found[path] = tuple(sorted(names))
        return found

    def list_dir(self, path: str, ref: str) -> list[dict[str, Any]] | None:
        where = "" if path in {"", "."} else quote(path)
        got = self.client.request(
            "GET",
            f"{self.prefix}/contents/{where}",
            params={"ref": ref},
            doing=f"listing {path}/ on {_short(ref)} in {self.repo}",
            allow=(404,),
            needs=READ,
        )
        if got.status == 404 or not isinstance(got.data, list):
            return None
        return [item for item in got.data if isinstance(item, dict)]

    def ref(self, branch: str) -> str | None:
        """The commit `branch` points at, or None when there is no such branch."""
        got = self.client.request(
            "GET",
            f"{self.prefix}/git/ref/heads/{quote(branch)}",
            doing=f"reading branch {branch} of {self.repo}",
            allow=(404,),
            needs=READ,
        )
        if got.status == 404:
            return None
        return str(field(got.data, "object", "sha", doing=f"reading branch {branch}"))

    def base_ref(self, branch: str) -> str:
        """Like `ref`, but a missing branch is the user's error, and so is a missing repository."""
        sha = self.ref(branch)
        if sha is not None:
            return sha
        self.default_branch()  # raises InputError when the repository itself is missing
        raise InputError(f"the base branch {branch} does not exist in {self.repo}; check --base-branch")

    def default_branch(self) -> str:
        doing = f"reading the repository {self.repo}"
        got = self.client.request("GET", self.prefix, doing=doing, allow=(404,), needs=READ)
        if got.status == 404:
            raise self._missing()
        return str(field(got.data, "default_branch", doing=doing))

    def _missing(self) -> InputError:
        return InputError(
            f"the repository {self.repo} does not exist or the token cannot see it; check --gitops-repo "
            "and that the token (or the App's installation) has access to it"
        )

    def commit(self, sha: str) -> Commit:
        doing = f"reading commit {sha[:12]} of {self.repo}"
        got = self.client.request("GET", f"{self.prefix}/git/commits/{sha}", doing=doing, needs=READ)
        return Commit.from_json(got.data, doing)

    def compare(self, base: str, head: str) -> Comparison | None:
        """base...head: what head changed since the two diverged; None when either is missing."""
        doing = f"comparing {_short(base)}...{_short(head)} in {self.repo}"
        got = self.client.request(
            "GET",
            f"{self.prefix}/compare/{quote(base)}...{quote(head)}",
            params={"per_page": 1},  # commits are not needed; files come with the first page
            doing=doing,
            allow=(404,),
            needs=READ,
        )
        return None if got.status == 404 else Comparison.from_json(got.data, doing)

    def create_ref(self, branch: str, sha: str) -> bool:
        """Create `branch` at `sha`; False when it already exists (another run created it)."""
        got = self.client.request(
            "POST",
            f"{self.prefix}/git/refs",
            body={"ref": f"refs/heads/{branch}", "sha": sha},
            doing=f"creating branch {branch} in {self.repo}",
            allow=(422,),
            needs=WRITE,
        )
        return self._lost(got, f"creating branch {branch} in {self.repo}")

    def update_ref(self, branch: str, sha: str) -> bool:
        """Move `branch` to `sha` if that is a fast-forward (never forced); False when it moved meanwhile."""
        doing = f"updating branch {branch} of {self.repo}"
        got = self.client.request(
            "PATCH",
            f"{self.prefix}/git/refs/heads/{quote(branch)}",
            body={"sha": sha, "force": False},
            doing=doing,
            allow=(409, 422),
            needs=WRITE,
        )
        return self._lost(got, doing)

    def put_file(self, path: str, branch: str, text: str, old_sha: str | None, message: str) -> Commit | None:
        """Commit `text` to `path` on `branch` (GitHub signs the commit); None when the file or the
        branch moved since `old_sha` was read (GitHub checks it: compare-and-swap)."""
        doing = f"committing {path} to {branch} in {self.repo}"
        body: dict[str, Any] = {
            "message": message,
            "content": base64.b64encode(text.encode("utf-8")).decode("ascii"),
            "branch": branch,
        }
        if old_sha is not None:
            body["sha"] = old_sha
        got = self.client.request(
            "PUT",
            f"{self.prefix}/contents/{quote(path)}",
            body=body,
            doing=doing,
            allow=(404, 409, 422),
            needs=WRITE,
        )
        if got.status in {404, 409} and not is_protection(got):
            return None  # the file's sha is stale, the ref moved under GitHub, or the branch is gone
        if got.status == 422 and "sha" in got.message and not is_protection(got):
            return None  # someone created the file since we saw it missing
        if got.status >= 300:
            raise self.client.failure(got, doing=doing, needs=WRITE)
        return Commit.from_json(field(got.data, "commit", doing=doing), doing)

    def merge(self, branch: str, head: str, message: str) -> tuple[str, str | None]:
        """Merge `head` into `branch`: ("merged", the merge commit), or "nothing" (already in),
        "conflict" or "missing" with None."""
        doing = f"merging {head} into {branch} in {self.repo}"
        got = self.client.request(
            "POST",
            f"{self.prefix}/merges",
            body={"base": branch, "head": head, "commit_message": message},
            doing=doing,
            allow=(404, 409),
            needs=WRITE,
        )
        if got.status == 409 and is_protection(got):
            raise self.client.failure(got, doing=doing)
        outcome = {201: "merged", 204: "nothing", 404: "missing", 409: "conflict"}.get(got.status, "merged")
        sha = got.data.get("sha") if outcome == "merged" and isinstance(got.data, dict) else None
        return outcome, str(sha) if sha else None

    def create_tree(self, base_tree: str, entries: Sequence[dict[str, Any]]) -> str:
        doing = f"writing a tree in {self.repo}"
        got = self.client.request(
            "POST",
            f"{self.prefix}/git/trees",
            body={"base_tree": base_tree, "tree": list(entries)},
            doing=doing,
            needs=WRITE,
        )
        return str(field(got.data, "sha", doing=doing))

    def create_commit(self, message: str, tree: str, parents: Sequence[str]) -> Commit:
        doing = f"writing a commit in {self.repo}"
        got = self.client.request(
            "POST",
            f"{self.prefix}/git/commits",
            body={"message": message, "tree": tree, "parents": list(parents)},
            doing=doing,
            needs=WRITE,
        )
        return Commit.from_json(got.data, doing)

    # -- pull requests ---------------------------------------------------------------------------

    def open_pull(self, branch: str) -> Pull | None:
        doing = f"looking for an open pull request from {branch} in {self.repo}"
        got = self.client.request(
            "GET",
            f"{self.prefix}/pulls",
            params={"state": "open", "head": f"{self.owner}:{branch}", "per_page": 5},
            doing=doing,
            allow=(404,),
            needs="`pull-requests: read`",
        )
        if got.status == 404:
            raise self._missing()  # the list is never 404 for a repository that exists
        pulls = [Pull.from_json(item, doing) for item in got.data or ()]
        return min(pulls, key=lambda p: p.number) if pulls else None

    def create_pull(self, *, title: str, branch: str, base: str, body: str, draft: bool) -> Pull | None:
        """Open a pull request; None when one is already open for `branch` (another run opened it)."""
        doing = f"opening a pull request from {branch} into {base} in {self.repo}"
        got = self.client.request(
            "POST",
            f"{self.prefix}/pulls",
            body={"title": title, "head": branch, "base": base, "body": body, "draft": draft},
            doing=doing,
            allow=(422,),
            needs=PULLS,
        )
        if got.status == 422:
            if "already exists" in got.message:
                return None
            if "no commits between" in got.message.lower():
                raise GitHubError(f"{doing}: {branch} holds nothing that {base} lacks; nothing to review")
            raise self.client.failure(got, doing=doing, needs=PULLS)
        return Pull.from_json(got.data, doing)

    def update_pull(self, number: int, body: str) -> Pull:
        doing = f"updating pull request #{number} in {self.repo}"
        got = self.client.request(
            "PATCH", f"{self.prefix}/pulls/{number}", body={"body": body}, doing=doing, needs=PULLS
        )
        return Pull.from_json(got.data, doing)

    def add_labels(self, number: int, labels: Sequence[str]) -> None:
        """Label the pull request; GitHub creates a label that does not exist yet."""
        self.client.request(
            "POST",
            f"{self.prefix}/issues/{number}/labels",
            body={"labels": list(labels)},
            doing=f"labelling pull request #{number} in {self.repo}",
            needs=f"{PULLS} (or `issues: write`)",
        )

    def add_assignees(self, number: int, users: Sequence[str]) -> None:
        """Assign the pull request; GitHub leaves out, without an error, users it cannot assign."""
        self.client.request(
            "POST",
            f"{self.prefix}/issues/{number}/assignees",
            body={"assignees": list(users)},
            doing=f"assigning pull request #{number} in {self.repo}",
            needs=f"{PULLS} (or `issues: write`)",
        )

    def request_reviewers(self, number: int, users: Sequence[str], teams: Sequence[str]) -> str | None:
        """Ask for reviews; GitHub's reason when it refuses (say, a reviewer is not a collaborator)."""
        got = self.client.request(
            "POST",
            f"{self.prefix}/pulls/{number}/requested_reviewers",
            body={"reviewers": list(users), "team_reviewers": list(teams)},
            doing=f"requesting reviewers on pull request #{number} in {self.repo}",
            allow=(422,),
            needs=PULLS,
        )
        return got.message if got.status == 422 else None

    def enable_auto_merge(self, pull: Pull, method: str) -> str | None:
        """GraphQL, as REST has no way to do it; GitHub's reason when it refuses, else None."""
        got = self.client.graphql(
            "mutation($id: ID!, $method: PullRequestMergeMethod!, $head: GitObjectID) {"
            " enablePullRequestAutoMerge(input: {pullRequestId: $id, mergeMethod: $method,"
            " expectedHeadOid: $head}) { pullRequest { number } } }",
            {"id": pull.node_id, "method": method.upper(), "head": pull.head_sha},
            doing=f"enabling auto-merge on pull request #{pull.number} in {self.repo}",
            needs=f"{WRITE} and {PULLS}",
        )
        errors = got.data.get("errors") if isinstance(got.data, dict) else None
        if errors:
            return "; ".join(str(e.get("message", e)) if isinstance(e, dict) else str(e) for e in errors)
        return None

    def merge_pull(self, pull: Pull, method: str) -> bool:
        """Merge now, if the head is still the one we saw; False when GitHub will not merge it."""
        got = self.client.request(
            "PUT",
            f"{self.prefix}/pulls/{pull.number}/merge",
            body={"merge_method": method, "sha": pull.head_sha},
            doing=f"merging pull request #{pull.number} in {self.repo}",
            allow=(405, 409, 422),
            needs=f"{WRITE} and {PULLS}",
        )
        return got.status == 200

    # --------------------------------------------------------------------------------------------

    def _lost(self, got: Response, doing: str) -> bool:
        """True for success; False when the answer says another writer won; raises otherwise."""
        if got.status < 300:
            return True
        if not is_protection(got) and any(hint in got.message.lower() for hint in CONFLICT_HINTS):
            return False
        raise self.client.failure(got, doing=doing, needs=WRITE)


def _short(ref: str) -> str:
    return ref[:12] if len(ref) == 40 and all(c in "0123456789abcdef" for c in ref) else ref
