"""A stateful, thread-safe fake of the part of GitHub autodeploy talks to, served through `responses`.

It keeps real git objects (blob ids are git's, so a client's computed blob sha matches), branches,
pull requests, labels, tokens and GitHub Apps, and answers as GitHub does: the status codes and
error bodies of its REST API (409 for a stale file sha, 422 "Reference already exists", 403
"Resource not accessible by integration", rate-limit headers), every answer completed from and
checked against GitHub's OpenAPI description (tests/openapi/). GraphQL answers only the auto-merge
mutation. Ref updates are compare-and-swap in two locked steps, with `before_ref_update` called
between them, so a test can let another writer in and make one run lose the race for real.
`before_request` is called before every request is carried out: a test can merge a pull request
there, have CI report a check (auto-merge then fires, as on GitHub), or drop the connection; `fail`
can also lose a reply (the write is carried out, its answer is a 5xx or a dropped connection).
Pull requests merge as on GitHub: closed, their head frozen, the branch kept unless the repository
deletes head branches. `FakeGitHub.on_localhost()` serves it over HTTP for another process.

    fake = FakeGitHub(); repo = fake.create_repo("team/gitops", files={...})
    fake.add_token("t0k3n", permissions=WRITE_ALL)
    with fake.serve(): ...   # or the `github` fixture
"""

from __future__ import annotations

import base64
import contextlib
import difflib
import functools
import hashlib
import itertools
import json
import os
import re
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

import github_graphql
import github_openapi as oas
from github_fake_fleet import FleetRoutes
from github_fake_deployments import DeploymentsMixin
from github_fake_statuses import StatusesMixin, StatusRecord, latest_states, record_status
import pytest
import requests
import responses

API = "https://api.github.com"
TOKEN = "ghs_0123456789abcdefghijklmnopqrstuvwxyzAB"  # the token the fake accepts in the tests
DOCS = "https://docs.github.com/rest"
WRITE_ALL = {"contents": "write", "pull_requests": "write", "issues": "write", "metadata": "read"}
READ_ONLY = {"contents": "read", "pull_requests": "read", "metadata": "read"}
_LEVELS = {None: 0, "read": 1, "write": 2}

# (method, template) -> the permission it needs; ("jwt", "") for App endpoints
NEEDS: dict[tuple[str, str], tuple[str, str]] = {
    ("GET", "/repos/{owner}/{repo}"): ("metadata", "read"),
    ("GET", "/repos/{owner}/{repo}/contents/{path}"): ("contents", "read"),
    ("PUT", "/repos/{owner}/{repo}/contents/{path}"): ("contents", "write"),
    ("GET", "/repos/{owner}/{repo}/git/ref/{ref}"): ("contents", "read"),
    ("POST", "/repos/{owner}/{repo}/git/refs"): ("contents", "write"),
    ("PATCH", "/repos/{owner}/{repo}/git/refs/{ref}"): ("contents", "write"),
    ("GET", "/repos/{owner}/{repo}/git/commits/{commit_sha}"): ("contents", "read"),
    ("POST", "/repos/{owner}/{repo}/git/commits"): ("contents", "write"),
    ("POST", "/repos/{owner}/{repo}/git/trees"): ("contents", "write"),
    ("GET", "/repos/{owner}/{repo}/compare/{basehead}"): ("contents", "read"),
    ("POST", "/repos/{owner}/{repo}/merges"): ("contents", "write"),
    ("GET", "/repos/{owner}/{repo}/pulls"): ("pull_requests", "read"),
    ("POST", "/repos/{owner}/{repo}/pulls"): ("pull_requests", "write"),
    ("PATCH", "/repos/{owner}/{repo}/pulls/{pull_number}"): ("pull_requests", "write"),
    ("PUT", "/repos/{owner}/{repo}/pulls/{pull_number}/merge"): ("contents", "write"),
    ("POST", "/repos/{owner}/{repo}/pulls/{pull_number}/requested_reviewers"): ("pull_requests", "write"),
    ("POST", "/repos/{owner}/{repo}/issues/{issue_number}/labels"): ("issues|pull_requests", "write"),
    ("POST", "/repos/{owner}/{repo}/issues/{issue_number}/assignees"): ("issues|pull_requests", "write"),
    ("GET", "/repos/{owner}/{repo}/installation"): ("jwt", ""),
    ("POST", "/app/installations/{installation_id}/access_tokens"): ("jwt", ""),
    ("DELETE", "/installation/token"): ("self", ""),
}


def client_id(app_id: int) -> str:
    """The fake's client ID of an App (GitHub's look like Iv23li...)."""
    return f"Iv23li{app_id:014d}"


def git_blob(data: bytes) -> str:
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()


class Answer(Exception):
    """Raised by a handler to answer with an error: status, GitHub's body, extra headers."""

    def __init__(
        self,
        status: int,
        message: str,
        *,
        errors: list[Any] | None = None,
        headers: dict[str, str] | None = None,
    ):
        super().__init__(message)
        self.status = status
        self.body: dict[str, Any] = {"message": message, "documentation_url": DOCS}
        if status in {404, 409, 422, 403} and errors is None:
            self.body["status"] = str(status)
        if errors is not None:
            self.body["errors"] = errors
        self.headers = headers or {}


@dataclass
class Commit:
    sha: str
    tree: dict[str, str]  # path -> blob id (a flat tree)
    parents: tuple[str, ...]
    message: str
    seq: int
    tree_sha: str


@dataclass
class Pull:
    number: int
    node_id: str
    title: str
    body: str
    head: str
    base: str
    draft: bool = False
    state: str = "open"
    merged: bool = False
    labels: list[str] = field(default_factory=list)
    reviewers: list[str] = field(default_factory=list)
    assignees: list[str] = field(default_factory=list)
    auto_merge: dict[str, Any] | None = None
    head_sha: str | None = None  # frozen when the pull request closes; until then the branch's head
    merge_commit_sha: str | None = None
    merged_at: str | None = None
    closed_at: str | None = None
    merged_by: str | None = None  # who merged it; with auto-merge, who enabled it


@dataclass
class Token:
    value: str
    permissions: dict[str, str]
    repos: frozenset[str] | None = None  # None: every repository


@dataclass
class App:
    app_id: int
    public_key: str
    installations: dict[str, int]  # repository full name -> installation id
    permissions: dict[str, str]


@dataclass
class Call:
    method: str
    template: str  # the OpenAPI path, or "/graphql"
    path: str
    query: dict[str, str]
    body: Any
    status: int
    answer: Any
    headers: dict[str, str]


@dataclass
class Fault:
    method: str | None
    template: str | None
    status: int
    body: dict[str, Any]
    headers: dict[str, str]
    times: int
    applied: bool = False  # a lost reply: the request is carried out, then its answer is lost


class Dropped(Exception):
    """Raised by a `before_request` hook: the connection drops before the request is carried out."""


class Repo:
    def __init__(self, full_name: str, default_branch: str, repo_id: int) -> None:
        self.full_name = full_name
        self.owner, self.name = full_name.split("/")
        self.default_branch = default_branch
        self.id = repo_id
        self.blobs: dict[str, bytes] = {}
        self.commits: dict[str, Commit] = {}
        self.refs: dict[str, str] = {}  # branch -> commit sha
        self.pulls: dict[int, Pull] = {}
        self.labels: set[str] = set()
        self.protected: set[str] = set()  # branches that refuse direct writes
        self.collaborators: set[str] = set()
        self.allow_auto_merge = True
        self.creation_restricted = False  # a ruleset that forbids creating branches
        self.plain_missing_ref = False  # answer a missing ref with a bare "Not Found", as some servers may
        self.mergeable_now = False  # auto-merge answers "clean status": nothing to wait for
        self.required_checks: set[str] = set()  # contexts that must succeed on a head before it merges
        # commit sha -> its statuses, oldest first: CI's checks and Flux's alike (one store)
        self.statuses: dict[str, list[StatusRecord]] = {}
        self.delete_branch_on_merge = False  # "Automatically delete head branches"
        self._seq = itertools.count(1)

    # -- objects ---------------------------------------------------------------------------------

    def blob(self, data: bytes) -> str:
        sha = git_blob(data)
        self.blobs[sha] = data
        return sha

    def commit(self, tree: dict[str, str], parents: tuple[str, ...], message: str) -> str:
        tree_sha = hashlib.sha1("\n".join(f"{p}\0{s}" for p, s in sorted(tree.items())).encode()).hexdigest()
        seq = next(self._seq)
        sha = hashlib.sha1(f"{tree_sha} {parents} {message} {seq}".encode()).hexdigest()
        self.commits[sha] = Commit(sha, tree, parents, message, seq, tree_sha)
        return sha

    def text(self, sha: str, path: str) -> str | None:
        blob = self.commits[sha].tree.get(path)
        return self.blobs[blob].decode() if blob else None

    def write(self, branch: str, files: Mapping[str, str | None], message: str = "seed") -> str:
        """Commit straight to `branch` (created from the default branch): for setting up a test."""
        head = self.refs.get(branch) or self.refs.get(self.default_branch)
        tree = dict(self.commits[head].tree) if head else {}
        for path, text in files.items():
            if text is None:
                tree.pop(path, None)
            else:
                tree[path] = self.blob(text.encode())
        self.refs[branch] = self.commit(tree, (head,) if head else (), message)
        return self.refs[branch]

    def resolve(self, ref: str) -> str | None:
        if ref in self.commits:
            return ref
        name = ref.removeprefix("refs/").removeprefix("heads/")
        return self.refs.get(name)

    def ancestors(self, sha: str) -> set[str]:
        seen, todo = set(), [sha]
        while todo:
            current = todo.pop()
            if current not in seen:
                seen.add(current)
                todo.extend(self.commits[current].parents)
        return seen

    def merge_base(self, a: str, b: str) -> str | None:
        common = self.ancestors(a) & self.ancestors(b)
        return max(common, key=lambda s: self.commits[s].seq) if common else None

    def merge_trees(self, base: str | None, ours: str, theirs: str) -> dict[str, str] | None:
        """A three-way merge of two commits' trees (git merge-file for files both changed); None on conflict."""
        b = self.commits[base].tree if base else {}
        o, t = self.commits[ours].tree, self.commits[theirs].tree
        out: dict[str, str] = {}
        for path in set(b) | set(o) | set(t):
            bb, oo, tt = b.get(path), o.get(path), t.get(path)
            if oo == tt or tt == bb:
                merged = oo
            elif oo == bb:
                merged = tt
            elif None in (bb, oo, tt):
                return None
            else:
                text = _merge_file(self.blobs[bb], self.blobs[oo], self.blobs[tt])  # type: ignore[index]
                if text is None:
                    return None
                merged = self.blob(text)
            if merged is not None:
                out[path] = merged
        return out

    def open_pull(self, branch: str) -> Pull | None:
        return next((p for p in self.pulls.values() if p.head == branch and p.state == "open"), None)

    @property
    def checks(self) -> dict[str, dict[str, str]]:
        """Commit sha -> context -> its latest state: a view of `statuses`."""
        return {sha: latest_states(records) for sha, records in self.statuses.items()}

    def checks_pass(self, sha: str) -> bool:
        done = self.checks.get(sha, {})
        return all(done.get(context) == "success" for context in self.required_checks)

    def merge(self, pull: Pull, method: str = "merge", message: str | None = None) -> str:
        """Merge `pull` at its branch's head as GitHub does: a merge commit (or one commit of the merged
        tree for squash and rebase) on the base; the pull request closes with its head frozen, and
        the branch is deleted when the repository says so. Raises ValueError on a conflict."""
        head, into = self.refs[pull.head], self.refs[pull.base]
        tree = self.merge_trees(self.merge_base(into, head), into, head)
        if tree is None:
            raise ValueError(f"pull request #{pull.number} conflicts with {pull.base}")
        parents = (into, head) if method == "merge" else (into,)
        new = self.commit(
            tree, parents, message or f"Merge pull request #{pull.number} from {self.owner}/{pull.head}"
        )
        self.refs[pull.base] = new
        pull.state, pull.merged, pull.head_sha, pull.merge_commit_sha = "closed", True, head, new
        pull.merged_at = pull.closed_at = "2026-01-01T00:00:00Z"
        pull.merged_by = (
            pull.merged_by or (pull.auto_merge or {}).get("enabled_by", {}).get("login") or "alice"
        )
        if self.delete_branch_on_merge and not any(
            p.head == pull.head and p.state == "open" for p in self.pulls.values()
        ):
            del self.refs[pull.head]
        return new

    def close(self, pull: Pull) -> None:
        """Close without merging: the pull request keeps the head it had."""
        pull.state, pull.head_sha, pull.closed_at = "closed", self.refs.get(pull.head), "2026-01-01T00:00:00Z"

    def report_check(self, sha: str, context: str = "ci", state: str = "success") -> list[int]:
        """CI reports a check on a commit; every open pull request with auto-merge on whose head it is
        and whose required checks now all pass is merged, as GitHub's auto-merge does. Returns the
        numbers of those it merged."""
        record_status(self, sha, context, state)
        merged = []
        for pull in list(self.pulls.values()):
            if pull.state != "open" or pull.auto_merge is None or self.refs.get(pull.head) != sha:
                continue
            if self.checks_pass(sha):
                with contextlib.suppress(ValueError):  # a conflict: GitHub leaves it open
                    self.merge(pull, pull.auto_merge.get("merge_method", "merge"))
                    merged.append(pull.number)
        return merged


def _merge_file(base: bytes, ours: bytes, theirs: bytes) -> bytes | None:
    with tempfile.TemporaryDirectory() as tmp:
        names = []
        for name, data in (("ours", ours), ("base", base), ("theirs", theirs)):
            path = os.path.join(tmp, name)
            with open(path, "wb") as handle:
                handle.write(data)
            names.append(path)
        done = subprocess.run(["git", "merge-file", "-p", "-q", *names], capture_output=True, check=False)
    return done.stdout if done.returncode == 0 else None


class FakeGitHub(StatusesMixin, DeploymentsMixin, FleetRoutes):
    """Handlers of a topic live in a mixin (tests/github_fake_<topic>.py) that declares its routes in
    a ROUTES class attribute: {(method, template): (handler method, (permission, level))}; such a
    handler is called with (repo, params, query, body, request headers) and returns (status, answer,
    answer headers)."""

    def __init__(self, api_url: str = API, *, validate: bool = True) -> None:
        self.api_url = api_url.rstrip("/")
        root = urlsplit(self.api_url)
        self.graphql_url = f"{root.scheme}://{root.netloc}{root.path.removesuffix('/v3')}/graphql"
        self.web = f"{root.scheme}://{root.netloc.removeprefix('api.')}"
        self.validate = validate
        self.lock = threading.RLock()
        self.repos: dict[str, Repo] = {}
        self.revoked: list[str] = []  # installation tokens revoked by DELETE /installation/token
        self.tokens: dict[str, Token] = {}
        self.apps: dict[int, App] = {}
        self.calls: list[Call] = []
        self.problems: list[str] = []  # requests or answers that do not match GitHub's description
        self.faults: list[Fault] = []
        self.before_ref_update: Callable[[str, str], None] | None = None
        # called with (method, template, params, body) before each request is carried out; it may
        # change the world (merge a pull request, report a check) or raise Dropped
        self.before_request: Callable[[str, str, dict[str, str], Any], None] | None = None
        self.clock: Callable[[], float] = time.time
        self.rate_remaining = 5000
        self._ids = itertools.count(1000)
        self._routes = oas.routes()

    # -- setup -----------------------------------------------------------------------------------

    def create_repo(
        self, full_name: str, files: Mapping[str, str] | None = None, *, default_branch: str = "main"
    ) -> Repo:
        repo = Repo(full_name, default_branch, next(self._ids))
        self.repos[full_name.lower()] = repo
        repo.write(default_branch, files or {}, "initial commit")
        return repo

    def add_token(
        self, value: str, permissions: Mapping[str, str] = WRITE_ALL, repos: set[str] | None = None
    ) -> None:
        self.tokens[value] = Token(
            value, dict(permissions), frozenset(r.lower() for r in repos) if repos else None
        )

    def add_app(
        self,
        app_id: int,
        public_key: str,
        installations: Mapping[str, int],
        permissions: Mapping[str, str] = WRITE_ALL,
    ) -> None:
        self.apps[app_id] = App(
            app_id, public_key, {k.lower(): v for k, v in installations.items()}, dict(permissions)
        )

    def fail(
        self,
        status: int,
        *,
        method: str | None = None,
        template: str | None = None,
        message: str = "Server Error",
        headers: Mapping[str, str] | None = None,
        times: int = 1,
        applied: bool = False,
    ) -> None:
        """Answer the next `times` matching requests with `status` (a 5xx, a rate limit...); status 0
        drops the connection instead. With `applied`, a lost reply: the request is carried out first,
        then its answer is replaced (or, with status 0, the connection drops)."""
        body = {"message": message, "documentation_url": DOCS}
        self.faults.append(Fault(method, template, status, body, dict(headers or {}), times, applied))

    def count(self, template: str | None = None) -> int:
        return sum(1 for c in self.calls if template is None or c.template == template)

    @contextlib.contextmanager
    def serve(self) -> Iterator[responses.RequestsMock]:
        with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
            # PyGithub spells the default port out (https://api.github.com:443/...).
            pattern = re.compile(_with_port(self.api_url) + r"(/.*)?$")
            for method in ("GET", "POST", "PUT", "PATCH", "DELETE"):
                mock.add_callback(method, pattern, callback=self._callback)
            if not self.graphql_url.startswith(self.api_url + "/"):
                mock.add_callback(
                    "POST", re.compile(_with_port(self.graphql_url) + "$"), callback=self._callback
                )
            yield mock

    @classmethod
    @contextlib.contextmanager
    def on_localhost(cls, **kwargs: Any) -> Iterator[FakeGitHub]:
        """A fake served over real HTTP on 127.0.0.1 (a free port), for a separate process to talk to:
        its `api_url` is what GITHUB_API_URL should say."""
        server = ThreadingHTTPServer(("127.0.0.1", 0), _HttpHandler)
        server.daemon_threads = True
        fake = cls(f"http://127.0.0.1:{server.server_address[1]}", **kwargs)
        server.fake = fake  # type: ignore[attr-defined]
        thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        thread.start()
        try:
            yield fake
        finally:
            server.shutdown()
            server.server_close()

    # -- HTTP ------------------------------------------------------------------------------------

    def _callback(self, request: Any) -> tuple[int, dict[str, str], str]:
        try:
            return self.answer(request.method, request.url, request.body, request.headers)
        except Dropped as exc:
            raise requests.ConnectionError(f"Connection reset by peer ({exc})") from exc

    def answer(
        self, method: str, full_url: str, raw: bytes | str | None, request_headers: Mapping[str, str]
    ) -> tuple[int, dict[str, str], str]:
        """One request: (status, headers, body text), or Dropped when the connection is to drop."""
        url = urlsplit(full_url)
        netloc = url.netloc.removesuffix(":443" if url.scheme == "https" else ":80")
        full = f"{url.scheme}://{netloc}{url.path}"
        path = "/graphql" if full == self.graphql_url else full[len(self.api_url) :] or "/"
        query = dict(parse_qsl(url.query))
        text = raw.decode() if isinstance(raw, bytes) else raw
        body = json.loads(text) if text else None
        template, params = self._route(path)
        self.run_scheduled()
        if self.before_request is not None:
            self.before_request(method, template, params, body)
        if self._take_fault(method, template, "drop") is not None:
            raise Dropped("the fake dropped it")
        lost = self._take_fault(method, template, "lost")
        try:
            status, answer, headers = self._handle(method, template, params, query, body, request_headers)
        except Answer as exc:
            status, answer, headers = exc.status, exc.body, exc.headers
        # a 304 (If-None-Match) does not count against the primary rate limit
        headers = {
            **self._rate_headers(charge=status != 304),
            "content-type": "application/json; charset=utf-8",
            **headers,
        }
        with self.lock:
            self.calls.append(Call(method, template, path, query, body, status, answer, headers))
            if self.validate and template not in {"/graphql", "?"}:
                where = f"{method} {template} -> {status}"
                self.problems += [
                    f"{where}: request: {p}" for p in oas.check_request(method, template, query, body)
                ]
                self.problems += [
                    f"{where}: answer: {p}" for p in oas.check_response(method, template, status, answer)
                ]
        if lost is not None:  # carried out; the answer is lost on the way back
            if lost.status == 0:
                raise Dropped("the fake dropped the answer")
            return lost.status, {**headers, **lost.headers}, json.dumps(lost.body)
        return status, headers, "" if answer is None else json.dumps(answer)

    def _route(self, path: str) -> tuple[str, dict[str, str]]:
        if path == "/graphql":
            return "/graphql", {}
        for template, pattern in self._routes:
            match = pattern.fullmatch(path)
            if match:
                return template, {k: unquote(v) for k, v in match.groupdict().items()}
        return "?", {}

    def _rate_headers(self, *, charge: bool = True) -> dict[str, str]:
        with self.lock:
            self.rate_remaining = max(0, self.rate_remaining - (1 if charge else 0))
            return {
                "x-ratelimit-limit": "5000",
                "x-ratelimit-remaining": str(self.rate_remaining),
                "x-ratelimit-reset": str(int(self.clock()) + 3600),
                "x-ratelimit-used": str(5000 - self.rate_remaining),
                "x-ratelimit-resource": "core",
            }

    def _handle(
        self,
        method: str,
        template: str,
        params: dict[str, str],
        query: dict[str, str],
        body: Any,
        headers: Mapping[str, str],
    ) -> tuple[int, Any, dict[str, str]]:
        fault = self._take_fault(method, template, "answer")
        if fault is not None:
            raise Answer(fault.status, fault.body["message"], headers=fault.headers)
        if template == "?":
            raise Answer(404, "Not Found")
        auth = headers.get("Authorization", "")
        mixed = _mixin_routes(type(self)).get((method, template))
        if mixed is not None:
            name, permission = mixed
            repo = self._repo(params["owner"], params["repo"])
            self._authorize(auth, repo, permission)
            result: tuple[int, Any, dict[str, str]] = getattr(self, name)(repo, params, query, body, headers)
            return result
        handler = getattr(self, "h_" + _handler_name(method, template), None)
        if handler is None:
            raise Answer(404, "Not Found")
        if template == "/graphql":
            mutation = str(body.get("query", "")).lstrip().startswith("mutation")
            self._authorize(auth, None, ("pull_requests", "write") if mutation else ("contents", "read"))
            return 200, handler(body), {}
        need = NEEDS[(method, template)]
        if need[0] == "jwt":
            app = self._app(auth)
            return handler(app, params, query, body)
        if need[0] == "self":  # a token acting on itself: revoking it
            value = auth.partition(" ")[2]
            with self.lock:
                if self.tokens.pop(value, None) is None:
                    raise Answer(401, "Bad credentials")
                self.revoked.append(value)
            return 204, None, {}
        repo = self._repo(params["owner"], params["repo"])
        self._authorize(auth, repo, need)
        status, answer = handler(repo, params, query, body)
        return status, answer, {}

    def _take_fault(self, method: str, template: str, kind: str) -> Fault | None:
        """The next fault of `kind` for this request: "drop" (before it is carried out), "answer"
        (an error instead of carrying it out) or "lost" (carried out, its answer lost)."""
        with self.lock:
            for fault in self.faults:
                fault_kind = "lost" if fault.applied else "drop" if fault.status == 0 else "answer"
                if fault_kind != kind:
                    continue
                if fault.times > 0 and fault.method in {None, method} and fault.template in {None, template}:
                    fault.times -= 1
                    return fault
        return None

    def _repo(self, owner: str, name: str) -> Repo:
        repo = self.repos.get(f"{owner}/{name}".lower())
        if repo is None:
            raise Answer(404, "Not Found")
        return repo

    def _authorize(self, auth: str, repo: Repo | None, need: tuple[str, str]) -> None:
        scheme, _, value = auth.partition(" ")
        token = self.tokens.get(value) if scheme.lower() in {"token", "bearer"} else None
        if token is None:
            raise Answer(401, "Bad credentials")
        if repo is not None and token.repos is not None and repo.full_name.lower() not in token.repos:
            raise Answer(404, "Not Found")
        kinds, level = need
        have = max(
            (token.permissions.get(kind) for kind in kinds.split("|")), key=lambda h: _LEVELS.get(h, 0)
        )
        if _LEVELS.get(have, 0) < _LEVELS[level]:
            if _LEVELS.get(have, 0) == 0 and level == "read":
                raise Answer(404, "Not Found")
            raise Answer(403, "Resource not accessible by integration")

    def _app(self, auth: str) -> App:
        import jwt

        scheme, _, value = auth.partition(" ")
        if scheme.lower() != "bearer":
            raise Answer(401, "A JSON web token could not be decoded")
        try:
            claims = jwt.decode(value, options={"verify_signature": False})
            issuer = str(claims["iss"])  # the App's ID, or its client ID, as GitHub takes either
            app = next(a for a in self.apps.values() if issuer in {str(a.app_id), client_id(a.app_id)})
            jwt.decode(value, app.public_key, algorithms=["RS256"], options={"verify_iat": False})
        except Exception as exc:
            raise Answer(401, "A JSON web token could not be decoded") from exc
        return app

    # -- answers ---------------------------------------------------------------------------------

    def _complete(self, method: str, template: str, status: int, partial: Any) -> Any:
        return oas.complete(oas.response_schema(method, template, status), partial)

    def _repo_json(self, repo: Repo) -> dict[str, Any]:
        return {
            "id": repo.id,
            "node_id": f"R_{repo.id}",
            "name": repo.name,
            "full_name": repo.full_name,
            "default_branch": repo.default_branch,
            "private": True,
            "html_url": f"{self.web}/{repo.full_name}",
            "url": f"{self.api_url}/repos/{repo.full_name}",
            "owner": {"login": repo.owner, "id": 1, "type": "Organization"},
        }

    def _commit_json(self, repo: Repo, sha: str) -> dict[str, Any]:
        commit = repo.commits[sha]
        return {
            "sha": sha,
            "node_id": f"C_{sha[:10]}",
            "url": f"{self.api_url}/repos/{repo.full_name}/git/commits/{sha}",
            "html_url": f"{self.web}/{repo.full_name}/commit/{sha}",
            "message": commit.message,
            "tree": {
                "sha": commit.tree_sha,
                "url": f"{self.api_url}/repos/{repo.full_name}/git/trees/{commit.tree_sha}",
            },
            "parents": [
                {
                    "sha": p,
                    "url": f"{self.api_url}/repos/{repo.full_name}/git/commits/{p}",
                    "html_url": f"{self.web}/{repo.full_name}/commit/{p}",
                }
                for p in commit.parents
            ],
            "author": {
                "name": "autodeploy[bot]",
                "email": "bot@example.invalid",
                "date": "2026-01-01T00:00:00Z",
            },
            "committer": {"name": "GitHub", "email": "noreply@github.com", "date": "2026-01-01T00:00:00Z"},
            "verification": {
                "verified": True,
                "reason": "valid",
                "signature": "-----BEGIN PGP SIGNATURE-----",
                "payload": "tree",
                "verified_at": "2026-01-01T00:00:00Z",
            },
        }

    def _rest_commit(self, repo: Repo, sha: str) -> dict[str, Any]:
        """The `commit` schema (compare, merges) rather than `git-commit`."""
        git = self._commit_json(repo, sha)
        return {
            "sha": sha,
            "node_id": git["node_id"],
            "url": f"{self.api_url}/repos/{repo.full_name}/commits/{sha}",
            "html_url": git["html_url"],
            "comments_url": f"{self.api_url}/repos/{repo.full_name}/commits/{sha}/comments",
            "commit": {k: git[k] for k in ("url", "author", "committer", "message", "tree", "verification")}
            | {"comment_count": 0},
            "author": None,
            "committer": None,
            "parents": [
                {"sha": p["sha"], "url": p["url"], "html_url": p["html_url"]} for p in git["parents"]
            ],
        }

    def _pull_json(self, repo: Repo, pull: Pull, template: str, method: str, status: int) -> dict[str, Any]:
        head_sha = pull.head_sha or repo.refs.get(pull.head, "0" * 40)
        base_sha = repo.refs.get(pull.base, "0" * 40)
        partial = {
            "id": pull.number + 100000,
            "node_id": pull.node_id,
            "number": pull.number,
            "state": pull.state,
            "title": pull.title,
            "body": pull.body,
            "draft": pull.draft,
            "merged": pull.merged,
            "merged_at": pull.merged_at,
            "closed_at": pull.closed_at,
            "merge_commit_sha": pull.merge_commit_sha,
            "html_url": f"{self.web}/{repo.full_name}/pull/{pull.number}",
            "url": f"{self.api_url}/repos/{repo.full_name}/pulls/{pull.number}",
            "labels": [
                {
                    "id": i,
                    "node_id": f"L_{i}",
                    "name": n,
                    "color": "ededed",
                    "default": False,
                    "url": f"{self.api_url}/repos/{repo.full_name}/labels/{n}",
                    "description": None,
                }
                for i, n in enumerate(pull.labels, 1)
            ],
            "requested_reviewers": [{"login": r, "id": 7} for r in pull.reviewers],
            "auto_merge": pull.auto_merge,
            "head": {
                "ref": pull.head,
                "sha": head_sha,
                "label": f"{repo.owner}:{pull.head}",
                "repo": self._repo_json(repo),
                "user": {"login": repo.owner, "id": 1},
            },
            "base": {
                "ref": pull.base,
                "sha": base_sha,
                "label": f"{repo.owner}:{pull.base}",
                "repo": self._repo_json(repo),
                "user": {"login": repo.owner, "id": 1},
            },
        }
        if method == "GET":  # a list: complete the item
            return self._complete(method, template, status, [partial])[0]
        return self._complete(method, template, status, partial)

    def _file_json(self, repo: Repo, path: str, blob: str, ref: str) -> dict[str, Any]:
        data = repo.blobs[blob]
        encoded = base64.b64encode(data).decode()
        wrapped = "\n".join(encoded[i : i + 60] for i in range(0, len(encoded), 60)) + "\n"
        base = f"{self.api_url}/repos/{repo.full_name}"
        return {
            "type": "file",
            "encoding": "base64",
            "size": len(data),
            "name": path.rsplit("/", 1)[-1],
            "path": path,
            "content": wrapped,
            "sha": blob,
            "url": f"{base}/contents/{path}?ref={ref}",
            "git_url": f"{base}/git/blobs/{blob}",
            "html_url": f"{self.web}/{repo.full_name}/blob/{ref}/{path}",
            "download_url": f"https://raw.example.invalid/{repo.full_name}/{ref}/{path}",
            "_links": {
                "self": f"{base}/contents/{path}",
                "git": f"{base}/git/blobs/{blob}",
                "html": f"{self.web}/{repo.full_name}/blob/{ref}/{path}",
            },
        }

    # -- handlers: repository and contents -------------------------------------------------------

    def h_get_repo(
        self, repo: Repo, params: dict[str, str], query: dict[str, str], body: Any
    ) -> tuple[int, Any]:
        return 200, self._complete("GET", "/repos/{owner}/{repo}", 200, self._repo_json(repo))

    def h_get_contents(
        self, repo: Repo, params: dict[str, str], query: dict[str, str], body: Any
    ) -> tuple[int, Any]:
        with self.lock:
            ref = query.get("ref", repo.default_branch)
            sha = repo.resolve(ref)
            if sha is None:
                raise Answer(
                    404, "Not Found" if repo.plain_missing_ref else f"No commit found for the ref {ref}"
                )
            path = params["path"].strip("/")
            tree = repo.commits[sha].tree
            if path in tree:
                return 200, self._complete(
                    "GET",
                    "/repos/{owner}/{repo}/contents/{path}",
                    200,
                    self._file_json(repo, path, tree[path], ref),
                )
            prefix = f"{path}/" if path else ""
            entries: dict[str, str] = {}
            for name in tree:
                if name.startswith(prefix):
                    rest = name[len(prefix) :]
                    entries[rest.split("/", 1)[0]] = "dir" if "/" in rest else "file"
            if not entries:
                raise Answer(404, "Not Found")
            listing = [
                {
                    "type": kind,
                    "name": name,
                    "path": f"{prefix}{name}",
                    "sha": tree.get(f"{prefix}{name}", "0" * 40),
                    "size": 0,
                    "url": "https://example.invalid/",
                    "git_url": None,
                    "html_url": None,
                    "download_url": None,
                    "_links": {"self": "https://example.invalid/", "git": None, "html": None},
                }
                for name, kind in sorted(entries.items())
            ]
            return 200, listing

    def h_put_contents(
        self, repo: Repo, params: dict[str, str], query: dict[str, str], body: Any
    ) -> tuple[int, Any]:
        path, branch = params["path"].strip("/"), body.get("branch") or repo.default_branch
        with self.lock:
            head = repo.refs.get(branch)
            if head is None:
                raise Answer(404, f"Branch {branch} not found")
            if branch in repo.protected:
                raise Answer(
                    409,
                    "Repository rule violations found\n\nChanges must be made through a pull request.\n\n",
                )
            current = repo.commits[head].tree.get(path)
            if current is not None and "sha" not in body:
                raise Answer(422, 'Invalid request.\n\n"sha" wasn\'t supplied.')
            if current is not None and body["sha"] != current:
                raise Answer(409, f"{path} does not match {body['sha']}")
            tree = dict(repo.commits[head].tree)
            tree[path] = repo.blob(base64.b64decode(body["content"]))
            new = repo.commit(tree, (head,), body["message"])
        self._update_ref(repo, branch, head, new, message=f"is at {{now}} but expected {head}", status=409)
        with self.lock:
            answer = {
                "content": {
                    k: v
                    for k, v in self._file_json(repo, path, tree[path], branch).items()
                    if k not in {"content", "encoding"}
                },
                "commit": self._commit_json(repo, new),
            }
            status = 200 if current is not None else 201
            return status, self._complete("PUT", "/repos/{owner}/{repo}/contents/{path}", status, answer)

    def _update_ref(
        self, repo: Repo, branch: str, expected: str | None, new: str, *, message: str, status: int
    ) -> None:
        """Compare-and-swap `branch` from `expected` to `new`, letting `before_ref_update` in between."""
        if self.before_ref_update is not None:
            self.before_ref_update(repo.full_name, branch)
        with self.lock:
            now = repo.refs.get(branch)
            if now != expected:
                raise Answer(status, message.format(now=now))
            repo.refs[branch] = new

    # -- handlers: git data ----------------------------------------------------------------------

    def h_get_git_ref(
        self, repo: Repo, params: dict[str, str], query: dict[str, str], body: Any
    ) -> tuple[int, Any]:
        ref = params["ref"]
        with self.lock:
            sha = repo.refs.get(ref.removeprefix("heads/")) if ref.startswith("heads/") else None
            if sha is None:
                raise Answer(404, "Not Found")
            return 200, self._ref_json(
                repo, ref.removeprefix("heads/"), sha, "GET", "/repos/{owner}/{repo}/git/ref/{ref}", 200
            )

    def _ref_json(self, repo: Repo, branch: str, sha: str, method: str, template: str, status: int) -> Any:
        return self._complete(
            method,
            template,
            status,
            {
                "ref": f"refs/heads/{branch}",
                "node_id": f"REF_{branch}",
                "url": f"{self.api_url}/repos/{repo.full_name}/git/refs/heads/{branch}",
                "object": {
                    "type": "commit",
                    "sha": sha,
                    "url": f"{self.api_url}/repos/{repo.full_name}/git/commits/{sha}",
                },
            },
        )

    def h_post_git_refs(
        self, repo: Repo, params: dict[str, str], query: dict[str, str], body: Any
    ) -> tuple[int, Any]:
        ref, sha = body["ref"], body["sha"]
        if not ref.startswith("refs/heads/"):
            raise Answer(422, "Reference name must start with 'refs/'.")
        branch = ref.removeprefix("refs/heads/")
        with self.lock:
            if repo.creation_restricted:
                raise Answer(
                    422,
                    "Repository rule violations found\n\nCannot create ref due to creations being restricted.\n\n",
                )
            if sha not in repo.commits:
                raise Answer(422, "Object does not exist")
            if branch in repo.refs:
                raise Answer(422, "Reference already exists")
        self._update_ref(repo, branch, None, sha, message="Reference already exists", status=422)
        with self.lock:
            return 201, self._ref_json(repo, branch, sha, "POST", "/repos/{owner}/{repo}/git/refs", 201)

    def h_patch_git_refs(
        self, repo: Repo, params: dict[str, str], query: dict[str, str], body: Any
    ) -> tuple[int, Any]:
        branch = params["ref"].removeprefix("heads/")
        with self.lock:
            head = repo.refs.get(branch)
            if head is None:
                raise Answer(422, "Reference does not exist")
            if branch in repo.protected:
                raise Answer(422, f"Protected branch update failed for refs/heads/{branch}.")
            if body["sha"] not in repo.commits:
                raise Answer(422, "Object does not exist")
            if not body.get("force") and head not in repo.ancestors(body["sha"]):
                raise Answer(422, "Update is not a fast forward")
        self._update_ref(repo, branch, head, body["sha"], message="Update is not a fast forward", status=422)
        with self.lock:
            return 200, self._ref_json(
                repo, branch, body["sha"], "PATCH", "/repos/{owner}/{repo}/git/refs/{ref}", 200
            )

    def h_get_git_commits(
        self, repo: Repo, params: dict[str, str], query: dict[str, str], body: Any
    ) -> tuple[int, Any]:
        with self.lock:
            if params["commit_sha"] not in repo.commits:
                raise Answer(404, "Not Found")
            return 200, self._complete(
                "GET",
                "/repos/{owner}/{repo}/git/commits/{commit_sha}",
                200,
                self._commit_json(repo, params["commit_sha"]),
            )

    def h_post_git_trees(
        self, repo: Repo, params: dict[str, str], query: dict[str, str], body: Any
    ) -> tuple[int, Any]:
        with self.lock:
            base = next((c for c in repo.commits.values() if c.tree_sha == body.get("base_tree")), None)
            if base is None:
                raise Answer(422, "Invalid tree info", errors=["base_tree is not a valid tree"])
            tree = dict(base.tree)
            for entry in body["tree"]:
                if "content" in entry:
                    tree[entry["path"]] = repo.blob(entry["content"].encode())
                elif entry.get("sha") is None:
                    tree.pop(entry["path"], None)
                else:
                    tree[entry["path"]] = entry["sha"]
            parked = repo.commit(tree, (), "(tree)")  # a parentless commit holds the tree until it is used
            sha = repo.commits[parked].tree_sha
            answer = {
                "sha": sha,
                "url": f"{self.api_url}/repos/{repo.full_name}/git/trees/{sha}",
                "truncated": False,
                "tree": [
                    {
                        "path": e["path"],
                        "mode": e["mode"],
                        "type": "blob",
                        "sha": tree.get(e["path"]),
                        "size": 1,
                        "url": "https://example.invalid/",
                    }
                    for e in body["tree"]
                    if tree.get(e["path"])
                ],
            }
            return 201, self._complete("POST", "/repos/{owner}/{repo}/git/trees", 201, answer)

    def h_post_git_commits(
        self, repo: Repo, params: dict[str, str], query: dict[str, str], body: Any
    ) -> tuple[int, Any]:
        with self.lock:
            holder = next((c for c in repo.commits.values() if c.tree_sha == body["tree"]), None)
            if holder is None or any(p not in repo.commits for p in body.get("parents", [])):
                raise Answer(422, "Tree SHA does not exist")
            sha = repo.commit(dict(holder.tree), tuple(body.get("parents", [])), body["message"])
            return 201, self._complete(
                "POST", "/repos/{owner}/{repo}/git/commits", 201, self._commit_json(repo, sha)
            )

    # -- handlers: compare, merges, commits ------------------------------------------------------

    def h_get_compare(
        self, repo: Repo, params: dict[str, str], query: dict[str, str], body: Any
    ) -> tuple[int, Any]:
        base_ref, sep, head_ref = params["basehead"].partition("...")
        with self.lock:
            base, head = repo.resolve(base_ref), repo.resolve(head_ref) if sep else None
            if base is None or head is None:
                raise Answer(404, "Not Found")
            merge_base = repo.merge_base(base, head)
            if merge_base is None:
                raise Answer(404, f"No common ancestor between {base_ref} and {head_ref}.")
            ahead = repo.ancestors(head) - repo.ancestors(base)
            behind = repo.ancestors(base) - repo.ancestors(head)
            status = (
                "identical"
                if not ahead and not behind
                else "ahead"
                if not behind
                else "behind"
                if not ahead
                else "diverged"
            )
            per_page = int(query.get("per_page", 250))
            commits = sorted(ahead, key=lambda s: repo.commits[s].seq)[:per_page]
            answer = {
                "url": f"{self.api_url}/repos/{repo.full_name}/compare/{params['basehead']}",
                "html_url": f"{self.web}/{repo.full_name}/compare/{params['basehead']}",
                "permalink_url": f"{self.web}/{repo.full_name}/compare/{base}...{head}",
                "diff_url": f"{self.web}/{repo.full_name}/compare/{params['basehead']}.diff",
                "patch_url": f"{self.web}/{repo.full_name}/compare/{params['basehead']}.patch",
                "base_commit": self._rest_commit(repo, base),
                "merge_base_commit": self._rest_commit(repo, merge_base),
                "status": status,
                "ahead_by": len(ahead),
                "behind_by": len(behind),
                "total_commits": len(ahead),
                "commits": [self._rest_commit(repo, c) for c in commits],
                "files": self._diff(repo, merge_base, head)[:300],
            }
            return 200, self._complete("GET", "/repos/{owner}/{repo}/compare/{basehead}", 200, answer)

    def _diff(self, repo: Repo, old: str, new: str) -> list[dict[str, Any]]:
        a, b = repo.commits[old].tree, repo.commits[new].tree
        files = []
        for path in sorted(set(a) | set(b)):
            if a.get(path) == b.get(path):
                continue
            before = repo.blobs[a[path]].decode().splitlines() if path in a else []
            after = repo.blobs[b[path]].decode().splitlines() if path in b else []
            patch = "\n".join(list(difflib.unified_diff(before, after, lineterm="", n=3))[2:])
            status = "added" if path not in a else "removed" if path not in b else "modified"
            added = sum(1 for line in patch.splitlines() if line.startswith("+"))
            removed = sum(1 for line in patch.splitlines() if line.startswith("-"))
            files.append(
                {
                    "sha": b.get(path) or a[path],
                    "filename": path,
                    "status": status,
                    "additions": added,
                    "deletions": removed,
                    "changes": added + removed,
                    "blob_url": "https://example.invalid/",
                    "raw_url": "https://example.invalid/",
                    "contents_url": "https://example.invalid/",
                    "patch": patch,
                }
            )
        return files

    def h_post_merges(
        self, repo: Repo, params: dict[str, str], query: dict[str, str], body: Any
    ) -> tuple[int, Any]:
        branch = body["base"]
        with self.lock:
            ours = repo.refs.get(branch)
            theirs = repo.resolve(body["head"])
            if ours is None:
                raise Answer(404, "Base does not exist")
            if theirs is None:
                raise Answer(404, "Head does not exist")
            if branch in repo.protected:
                raise Answer(
                    409,
                    "Repository rule violations found\n\nChanges must be made through a pull request.\n\n",
                )
            if theirs in repo.ancestors(ours):
                return 204, None
            tree = repo.merge_trees(repo.merge_base(ours, theirs), ours, theirs)
            if tree is None:
                raise Answer(409, "Merge conflict")
            new = repo.commit(
                tree, (ours, theirs), body.get("commit_message") or f"Merge {body['head']} into {branch}"
            )
        self._update_ref(repo, branch, ours, new, message="Reference cannot be updated", status=409)
        with self.lock:
            return 201, self._complete(
                "POST", "/repos/{owner}/{repo}/merges", 201, self._rest_commit(repo, new)
            )

    # -- handlers: pull requests -----------------------------------------------------------------

    def h_get_pulls(
        self, repo: Repo, params: dict[str, str], query: dict[str, str], body: Any
    ) -> tuple[int, Any]:
        with self.lock:
            owner, _, branch = query.get("head", ":").partition(":")
            pulls = [
                p
                for p in sorted(repo.pulls.values(), key=lambda p: -p.number)
                if query.get("state", "open") in {p.state, "all"}
                and (not branch or (p.head == branch and owner.lower() == repo.owner.lower()))
            ]
            chosen = pulls[: int(query.get("per_page", 30))]
            return 200, [self._pull_json(repo, p, "/repos/{owner}/{repo}/pulls", "GET", 200) for p in chosen]

    def h_post_pulls(
        self, repo: Repo, params: dict[str, str], query: dict[str, str], body: Any
    ) -> tuple[int, Any]:
        with self.lock:
            _check_body(body)
            head, base = body["head"], body["base"]
            if head not in repo.refs or base not in repo.refs:
                field_name = "head" if head not in repo.refs else "base"
                raise Answer(
                    422,
                    "Validation Failed",
                    errors=[{"resource": "PullRequest", "field": field_name, "code": "invalid"}],
                )
            if repo.open_pull(head):
                raise Answer(
                    422,
                    "Validation Failed",
                    errors=[
                        {
                            "resource": "PullRequest",
                            "code": "custom",
                            "message": f"A pull request already exists for {repo.owner}:{head}.",
                        }
                    ],
                )
            if repo.refs[head] in repo.ancestors(repo.refs[base]):
                raise Answer(
                    422,
                    "Validation Failed",
                    errors=[
                        {
                            "resource": "PullRequest",
                            "code": "custom",
                            "message": f"No commits between {base} and {head}",
                        }
                    ],
                )
            number = max([*repo.pulls, *[0]]) + 1
            pull = Pull(
                number,
                f"PR_{repo.id}_{number}",
                body["title"],
                body.get("body") or "",
                head,
                base,
                bool(body.get("draft")),
            )
            repo.pulls[number] = pull
            return 201, self._pull_json(repo, pull, "/repos/{owner}/{repo}/pulls", "POST", 201)

    def h_patch_pull(
        self, repo: Repo, params: dict[str, str], query: dict[str, str], body: Any
    ) -> tuple[int, Any]:
        with self.lock:
            pull = _pull_of(repo, params["pull_number"])
            _check_body(body)
            pull.body = body.get("body", pull.body)
            pull.title = body.get("title", pull.title)
            return 200, self._pull_json(repo, pull, "/repos/{owner}/{repo}/pulls/{pull_number}", "PATCH", 200)

    def h_put_pull_merge(
        self, repo: Repo, params: dict[str, str], query: dict[str, str], body: Any
    ) -> tuple[int, Any]:
        with self.lock:
            pull = _pull_of(repo, params["pull_number"])
            if pull.state != "open":
                raise Answer(405, "Pull Request is not mergeable")
            head = repo.refs[pull.head]
            if body.get("sha") and body["sha"] != head:
                raise Answer(409, "Head branch was modified. Review and try the merge again.")
            missing = sorted(c for c in repo.required_checks if repo.checks.get(head, {}).get(c) != "success")
            if missing:
                raise Answer(405, f'Required status check "{missing[0]}" is expected.')
            try:
                new = repo.merge(pull, body.get("merge_method", "merge"))
            except ValueError:
                raise Answer(405, "Pull Request is not mergeable") from None
            return 200, {"sha": new, "merged": True, "message": "Pull Request successfully merged"}

    def h_post_requested_reviewers(
        self, repo: Repo, params: dict[str, str], query: dict[str, str], body: Any
    ) -> tuple[int, Any]:
        with self.lock:
            pull = _pull_of(repo, params["pull_number"])
            wanted = [*body.get("reviewers", []), *body.get("team_reviewers", [])]
            if any(r not in repo.collaborators for r in wanted):
                raise Answer(
                    422,
                    "Reviews may only be requested from collaborators. One or more of the users or teams you "
                    f"specified is not a collaborator of the {repo.full_name} repository.",
                )
            pull.reviewers += wanted
            return 201, self._pull_json(
                repo, pull, "/repos/{owner}/{repo}/pulls/{pull_number}/requested_reviewers", "POST", 201
            )

    def h_post_labels(
        self, repo: Repo, params: dict[str, str], query: dict[str, str], body: Any
    ) -> tuple[int, Any]:
        with self.lock:
            pull = _pull_of(repo, params["issue_number"])
            for name in body["labels"]:
                repo.labels.add(name)  # GitHub creates a label that does not exist
                if name not in pull.labels:
                    pull.labels.append(name)
            labels = [
                {
                    "id": i,
                    "node_id": f"L_{i}",
                    "name": n,
                    "color": "ededed",
                    "default": False,
                    "description": None,
                    "url": f"{self.api_url}/repos/{repo.full_name}/labels/{n}",
                }
                for i, n in enumerate(pull.labels, 1)
            ]
            return 200, labels

    def h_post_assignees(
        self, repo: Repo, params: dict[str, str], query: dict[str, str], body: Any
    ) -> tuple[int, Any]:
        """GitHub assigns the collaborators among them and silently leaves out the others."""
        with self.lock:
            pull = _pull_of(repo, params["issue_number"])
            for login in body.get("assignees", []):
                if login in repo.collaborators and login not in pull.assignees:
                    pull.assignees.append(login)
            template = "/repos/{owner}/{repo}/issues/{issue_number}/assignees"
            partial = {
                "number": pull.number,
                "title": pull.title,
                "state": pull.state,
                "assignees": [
                    {"login": login, "id": i, "type": "User"} for i, login in enumerate(pull.assignees, 1)
                ],
            }
            return 201, self._complete("POST", template, 201, partial)

    def h_graphql(self, body: Any) -> Any:
        query, variables = body.get("query", ""), body.get("variables", {})
        if "enablePullRequestAutoMerge" not in query:
            with self.lock:  # queries: executed on GitHub's schema (tests/github_graphql.py)
                return github_graphql.execute(self.repos, query, variables, web=self.web)
        with self.lock:
            found = [
                (r, p)
                for r in self.repos.values()
                for p in r.pulls.values()
                if p.node_id == variables.get("id")
            ]
            if not found:
                return {
                    "data": None,
                    "errors": [
                        {
                            "type": "NOT_FOUND",
                            "message": f"Could not resolve to a node with the global id of '{variables.get('id')}'",
                        }
                    ],
                }
            repo, pull = found[0]
            if not repo.allow_auto_merge:
                return {
                    "data": {"enablePullRequestAutoMerge": None},
                    "errors": [
                        {
                            "type": "UNPROCESSABLE",
                            "message": "Pull request Auto merge is not allowed for this repository",
                        }
                    ],
                }
            if repo.mergeable_now or (
                repo.required_checks and repo.checks_pass(repo.refs.get(pull.head, ""))
            ):
                return {
                    "data": {"enablePullRequestAutoMerge": None},
                    "errors": [{"type": "UNPROCESSABLE", "message": "Pull request is in clean status"}],
                }
            if variables.get("head") and variables["head"] != repo.refs.get(pull.head):
                return {
                    "data": {"enablePullRequestAutoMerge": None},
                    "errors": [
                        {"type": "UNPROCESSABLE", "message": "Head sha didn't match expected head sha"}
                    ],
                }
            pull.auto_merge = {
                "enabled_by": {"login": "autodeploy[bot]", "id": 3},
                "merge_method": variables["method"].lower(),
                "commit_title": "",
                "commit_message": "",
            }
            return {"data": {"enablePullRequestAutoMerge": {"pullRequest": {"number": pull.number}}}}

    # -- handlers: GitHub Apps -------------------------------------------------------------------

    def h_get_installation(
        self, app: App, params: dict[str, str], query: dict[str, str], body: Any
    ) -> tuple[int, Any, dict[str, str]]:
        installation = app.installations.get(f"{params['owner']}/{params['repo']}".lower())
        if installation is None:
            raise Answer(404, "Not Found")
        answer = {
            "id": installation,
            "app_id": app.app_id,
            "target_type": "Organization",
            "target_id": 1,
            "account": {"login": params["owner"], "id": 1},
            "permissions": dict(app.permissions),
            "events": [],
            "repository_selection": "selected",
            "access_tokens_url": f"{self.api_url}/app/installations/{installation}/access_tokens",
            "repositories_url": f"{self.api_url}/installation/repositories",
            "html_url": f"{self.web}/settings/installations/{installation}",
            "app_slug": "autodeploy",
            "created_at": "2026-01-01T00:00:00Z",
            "updated_at": "2026-01-01T00:00:00Z",
            "single_file_name": None,
        }
        return 200, self._complete("GET", "/repos/{owner}/{repo}/installation", 200, answer), {}

    def h_post_access_tokens(
        self, app: App, params: dict[str, str], query: dict[str, str], body: Any
    ) -> tuple[int, Any, dict[str, str]]:
        installation = int(params["installation_id"])
        repos = {name for name, number in app.installations.items() if number == installation}
        if not repos:
            raise Answer(404, "Not Found")
        body = body or {}
        asked = body.get("repositories")
        if asked is not None:  # scoped to some of the installation's repositories, by name
            owner_of = {name.split("/")[1]: name for name in repos}
            if any(name not in owner_of for name in asked):
                raise Answer(422, "There is at least one repository that does not exist or is not accessible")
            repos = {owner_of[name] for name in asked}
        permissions = dict(app.permissions)
        if body.get("permissions") is not None:  # a subset of what the App was granted, never more
            levels = {"read": 1, "write": 2, "admin": 3}
            for name, level in body["permissions"].items():
                if levels.get(level, 9) > levels.get(app.permissions.get(name, ""), 0):
                    raise Answer(
                        422, f"The permissions requested are not granted to this installation: {name}"
                    )
            permissions = {"metadata": "read", **body["permissions"]}  # metadata comes with any token
        token = f"ghs_{hashlib.sha1(f'{installation}{len(self.tokens)}'.encode()).hexdigest()[:36]}"
        self.add_token(token, permissions, repos)
        answer = {
            "token": token,
            "expires_at": "2026-01-01T01:00:00Z",
            "permissions": permissions,
            "repository_selection": "selected",
        }
        return (
            201,
            self._complete("POST", "/app/installations/{installation_id}/access_tokens", 201, answer),
            {},
        )

    def h_delete_installation_token(self) -> None:
        """Answered where the route is dispatched: the token revokes itself."""


class _HttpHandler(BaseHTTPRequestHandler):
    """Hands each request to the fake of its server; a Dropped request closes the connection unanswered."""

    protocol_version = "HTTP/1.1"

    def _serve(self) -> None:
        fake: FakeGitHub = self.server.fake  # type: ignore[attr-defined]
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else None
        try:
            status, headers, text = fake.answer(
                self.command,
                fake.api_url.split("/", 3)[0] + "//" + self.headers.get("Host", "") + self.path,
                raw,
                dict(self.headers.items()),
            )
        except Dropped:
            self.close_connection = True
            return
        data = text.encode()
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _serve

    def log_message(self, format: str, *args: object) -> None:
        pass


def _with_port(url: str) -> str:
    parts = urlsplit(url)
    port = "(:443)?" if parts.scheme == "https" else "(:80)?"
    return re.escape(f"{parts.scheme}://{parts.netloc}") + port + re.escape(parts.path)


@functools.cache
def _mixin_routes(cls: type) -> dict[tuple[str, str], tuple[str, tuple[str, str]]]:
    routes: dict[tuple[str, str], tuple[str, tuple[str, str]]] = {}
    for klass in reversed(cls.__mro__):
        routes.update(vars(klass).get("ROUTES", {}))
    return routes


def _handler_name(method: str, template: str) -> str:
    names = {
        ("GET", "/repos/{owner}/{repo}"): "get_repo",
        ("GET", "/repos/{owner}/{repo}/contents/{path}"): "get_contents",
        ("PUT", "/repos/{owner}/{repo}/contents/{path}"): "put_contents",
        ("GET", "/repos/{owner}/{repo}/git/ref/{ref}"): "get_git_ref",
        ("POST", "/repos/{owner}/{repo}/git/refs"): "post_git_refs",
        ("PATCH", "/repos/{owner}/{repo}/git/refs/{ref}"): "patch_git_refs",
        ("GET", "/repos/{owner}/{repo}/git/commits/{commit_sha}"): "get_git_commits",
        ("POST", "/repos/{owner}/{repo}/git/commits"): "post_git_commits",
        ("POST", "/repos/{owner}/{repo}/git/trees"): "post_git_trees",
        ("GET", "/repos/{owner}/{repo}/compare/{basehead}"): "get_compare",
        ("POST", "/repos/{owner}/{repo}/merges"): "post_merges",
        ("GET", "/repos/{owner}/{repo}/pulls"): "get_pulls",
        ("POST", "/repos/{owner}/{repo}/pulls"): "post_pulls",
        ("PATCH", "/repos/{owner}/{repo}/pulls/{pull_number}"): "patch_pull",
        ("PUT", "/repos/{owner}/{repo}/pulls/{pull_number}/merge"): "put_pull_merge",
        ("POST", "/repos/{owner}/{repo}/pulls/{pull_number}/requested_reviewers"): "post_requested_reviewers",
        ("POST", "/repos/{owner}/{repo}/issues/{issue_number}/labels"): "post_labels",
        ("GET", "/repos/{owner}/{repo}/installation"): "get_installation",
        ("POST", "/app/installations/{installation_id}/access_tokens"): "post_access_tokens",
        ("DELETE", "/installation/token"): "delete_installation_token",
        ("POST", "/repos/{owner}/{repo}/issues/{issue_number}/assignees"): "post_assignees",
        ("POST", "/graphql"): "graphql",
    }
    return names.get((method, template), "none")


@pytest.fixture
def github() -> Iterator[FakeGitHub]:
    """A fake GitHub at https://api.github.com, serving for the test's duration; its answers must
    all match GitHub's OpenAPI description."""
    fake = FakeGitHub()
    with fake.serve():
        yield fake
    assert not fake.problems, "\n".join(fake.problems[:20])


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No GitHub or autodeploy variables but a token; not inside any git checkout."""
    monkeypatch.chdir(tmp_path)  # no source clone in the working directory: the guard asks GitHub
    for name in (
        "AUTODEPLOY_GITHUB_TOKEN",
        "AUTODEPLOY_APP_ID",
        "AUTODEPLOY_APP_PRIVATE_KEY",
        "AUTODEPLOY_GITOPS_REPO",
        "AUTODEPLOY_BASE_BRANCH",
        "GITHUB_EVENT_NAME",
        "GITHUB_EVENT_PATH",
        "GITHUB_SHA",
        "GITHUB_REPOSITORY",
        "GITHUB_SERVER_URL",
        "GITHUB_API_URL",
        "GITHUB_ACTIONS",
    ):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("GITHUB_TOKEN", TOKEN)


def _check_body(body: Any) -> None:
    """GitHub refuses a pull request body over 65,536 characters."""
    if len(body.get("body") or "") > 65_536:
        raise Answer(
            422,
            "Validation Failed",
            errors=[
                {
                    "resource": "Issue",
                    "field": "body",
                    "code": "custom",
                    "message": "body is too long (maximum is 65536 characters)",
                }
            ],
        )


def _pull_of(repo: Repo, number: str) -> Pull:
    pull = repo.pulls.get(int(number))
    if pull is None:
        raise Answer(404, "Not Found")
    return pull
