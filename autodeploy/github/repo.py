"""A GitOps repo on GitHub as a `pipeline.GitopsRepo`: no clone, a handful of requests per deploy.

Reading one file starts with the branch's open pull request, which the deploy needs anyway:
  one is open   the file is read from the base, and the branch's text derived from it and the pull
                request's state (derive.py): one request that also shows whether the base changed
                the file since the branch took it; the write's compare-and-swap proves the guess;
  none is open  the branch is taken not to exist and the file is read from the base at the commit
                it points at (two requests); creating the branch fails if it does exist after all
                (a leftover), and the next attempt reads it.
Several files (`--targets`) are read in one GraphQL request with the branch's open pull request and
the base's files: the branch's at its head when it exists (when each is the base's with the pull
request's block, the base has not moved under them and no comparison is needed), else the base's.
In a dry run (`exact`) and after a lost race, the branch itself is read instead. Writing is always
compare-and-swap, never forced:
  one file        the contents API PUT with the blob sha of the text planned on: one request that
                  commits (GitHub signs it) and moves the branch, or 409 when the file or branch moved;
  several files   a tree and a commit on the commit that was read, then a fast-forward-only ref
                  update (422 when the branch moved);
  a new branch    POST git/refs from the base commit that was read (422 when another run made it).
A lost race raises ConflictError; the pipeline reads again and re-plans (bounded).

After its last write a run checks that its commit is held: the pull request's update answers with
its state, and one that was merged or closed meanwhile (its branch kept) either carried the commit
(it was the head merged) or did not, and then a new pull request is opened from the branch, with
the base merged in first when the merge changed the same files (a squash). A no-op run that finds
the table out of step with the branch's files (a run that committed and then failed, or lost the
answer to its write) rebuilds it from the branch.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from autodeploy import report
from autodeploy.errors import ConflictError, GitHubError, StaleSnapshot
from autodeploy.github import derive, refresh
from autodeploy.github.api import RepoApi
from autodeploy.github.models import Commit, Pull, RefRead, blob_sha
from autodeploy.github.prbody import Row, State, has_section, merge_rows, read_state
from autodeploy.github.pulls import PullRequests
from autodeploy.github.rows import path_pattern, rows_from_comparison
from autodeploy.options import PullOptions
from autodeploy.pipeline import Applied, Preview, Snapshot
from autodeploy.plan import Change, DeployPlan, DeployRequest

MAX_REOPENS = 3  # new pull requests opened in one run for pull requests that closed under it


class GitHubRepo:
    def __init__(self, api: RepoApi, *, base: str | None = None, options: PullOptions | None = None) -> None:
        self.api = api
        self.repo = api.repo
        self._base = base
        self.options = options or PullOptions()
        self._infer = True  # derive files and take a branch without a pull request to be missing
        self._pulls: dict[str, Pull | None] = {}  # each branch's open pull request, as of this read
        self._derived: Snapshot | None = None
        self._in_step: Snapshot | None = None  # read with its base, which has not moved under it
        self._trees: dict[str, str] = {}  # commit -> tree, where a read already learned it

    @property
    def base(self) -> str:
        """--base-branch, else the repository's default branch (one request, once)."""
        if self._base is None:
            self._base = self.api.default_branch()
        return self._base

    # -- reading ---------------------------------------------------------------------------------

    def read(
        self, paths: Sequence[str], *, branch: str, at: Snapshot | None = None, exact: bool = False
    ) -> Snapshot:
        if at is not None:
            ref = at.revision or (branch if at.on_branch else self.base)
            files = dict(at.files)
            if len(paths) > 1 and at.revision:
                files.update(self._batch({"at": at.revision}, paths)["at"] or {})
            else:
                files.update((path, self.api.read_file(path, ref)[0]) for path in paths)
            return replace(at, files=files)
        self._pulls, self._derived, self._in_step = {}, None, None
        exact = exact or not self._infer
        if len(paths) == 1:
            pull = self._pull(branch)
            if pull is None and not exact:
                return self._read_base(paths, branch)
            if pull is not None and not exact:
                derived = self._derive(paths[0], branch, pull)
                if derived is not None:
                    return derived
            text, ref_found = self.api.read_file(paths[0], branch)
            if text is not None:
                return Snapshot({paths[0]: text}, on_branch=True, where=f"branch {branch} of {self.repo}")
            head = self.api.ref(branch) if ref_found else None
        else:
            return self._read_many(paths, branch)
        if head is not None:
            return self._read_at(
                paths, head, on_branch=True, where=f"branch {branch} of {self.repo} @ {head[:7]}"
            )
        return self._read_base(paths, branch)

    def _read_many(self, paths: Sequence[str], branch: str) -> Snapshot:
        """The branch's files at its head, or the base's when the branch does not exist yet: one
        request however many files (a monorepo's --targets), each read from one commit, with the
        branch's open pull request and the base's files, which show whether the base changed a file
        this run writes since the branch took it (`_check_step`)."""
        refs = {"branch": f"refs/heads/{branch}", "base": self._qualified_base()}
        found = self.api.read_refs(refs, paths, pulls_of="branch")
        hit, base = found["branch"], found["base"]
        if self._base is None and base is not None and base.name:
            self._base = base.name  # the default branch, named by the same answer
        if hit is not None:
            pulls = sorted(hit.pulls, key=lambda p: p.number)
            self._pulls[branch] = pulls[0] if pulls else None
            self._trees[hit.head.sha] = hit.head.tree or ""
            snapshot = Snapshot(
                hit.files,
                revision=hit.head.sha,
                on_branch=True,
                where=f"{branch} of {self.repo} @ {hit.head.sha[:7]}",
            )
            if base is not None and self._infer and self._check_step(snapshot, base, branch):
                self._in_step = snapshot
            return snapshot
        if base is not None:
            self._trees[base.head.sha] = base.head.tree or ""
            return Snapshot(
                base.files,
                revision=base.head.sha,
                on_branch=False,
                where=f"{self.base} (no branch {branch} yet) of {self.repo} @ {base.head.sha[:7]}",
            )
        raise self.api._missing()

    def _check_step(self, snapshot: Snapshot, base: RefRead, branch: str) -> bool:
        """Whether the branch is in step with its base for every file this run writes
        (derive.in_step), so that no comparison is needed before the commit: its open pull
        request's hidden state describes the head read, and each file is the base's with the
        branch's block. Other apps' files of the pull request are left to their own deploys, as a
        one-file deploy leaves them. False sends the run through refresh.look's comparisons."""
        pull = self._pulls.get(branch)
        state = derive.current_state(pull) if pull is not None else None
        if pull is None or state is None or pull.head_sha != snapshot.revision:
            return False
        if pull.base_ref != (self._base or base.name):
            return False
        return all(
            derive.in_step(path, base.files.get(path), text, state) for path, text in snapshot.files.items()
        )

    def _qualified_base(self) -> str | None:
        return f"refs/heads/{self._base}" if self._base else None

    def _batch(
        self, refs: dict[str, str | None], paths: Sequence[str]
    ) -> dict[str, dict[str, str | None] | None]:
        return {alias: hit.files if hit else None for alias, hit in self.api.read_refs(refs, paths).items()}

    def _read_base(self, paths: Sequence[str], branch: str) -> Snapshot:
        base = self.api.base_ref(self.base)
        where = f"{self.base} of {self.repo} @ {base[:7]} (no branch {branch} yet)"
        return self._read_at(paths, base, on_branch=False, where=where)

    def _derive(self, path: str, branch: str, pull: Pull) -> Snapshot | None:
        state = derive.current_state(pull)
        if state is None:
            return None
        base_text, _ = self.api.read_file(path, pull.base_ref)
        text = derive.branch_text(path, base_text, state) if base_text is not None else None
        if text is None:
            return None
        where = f"branch {branch} of {self.repo} (from {pull.base_ref} and pull request #{pull.number})"
        self._derived = Snapshot({path: text}, on_branch=True, where=where)
        return self._derived

    def _pull(self, branch: str) -> Pull | None:
        """The branch's open pull request: listed once per read, shared by everything after it."""
        if branch not in self._pulls:
            self._pulls[branch] = self.api.open_pull(branch)
        return self._pulls[branch]

    def _read_at(self, paths: Sequence[str], sha: str, *, on_branch: bool, where: str) -> Snapshot:
        files = {path: self.api.read_file(path, sha)[0] for path in paths}
        return Snapshot(files, revision=sha, on_branch=on_branch, where=where)

    def list_dirs(self, paths: Sequence[str], snapshot: Snapshot) -> dict[str, tuple[str, ...] | None]:
        """One GraphQL request for all of them, at the snapshot's commit (a snapshot with a missing
        file names its commit; one that does not is listed at the base, one request a directory)."""
        if snapshot.revision:
            return self.api.list_dirs(paths, snapshot.revision)
        found = {}
        for path in paths:
            items = self.api.list_dir(path, self.base)
            names = (str(item.get("name")) for item in items or () if item.get("type") == "dir")
            found[path] = None if items is None else tuple(sorted(names))
        return found

    # -- dry run ---------------------------------------------------------------------------------

    def preview(self, plan: DeployPlan, request: DeployRequest, snapshot: Snapshot) -> Preview:
        branch = plan.branch
        lines = []
        if not snapshot.on_branch:
            lines.append(f"would create branch {branch} from {self.base} @ {(snapshot.revision or '')[:7]}")
        api = "the contents API" if len(plan.changed) == 1 else "the Git Data API"
        subject = plan.commit_message.splitlines()[0]
        lines.append(f"would commit to {branch} in {self.repo} (through {api}, signed by GitHub): {subject}")
        pull = self._pull(branch) if snapshot.on_branch else None
        if pull is not None:
            lines.append(f"would update pull request #{pull.number} {pull.url} (its table of deploys)")
        else:
            extras = [f"labels {', '.join(plan.labels)}"] if plan.labels else []
            if self.options.reviewers:
                extras.append(f"reviewers {', '.join(self.options.reviewers)}")
            if plan.auto_merge:
                extras.append(f"auto-merge ({self.options.merge_method})")
            lines.append(
                f"would open pull request {plan.title!r} from {branch} into {self.base} in {self.repo}"
                + (f" with {'; '.join(extras)}" if extras else "")
            )
        if plan.auto_merge and pull is not None and not pull.auto_merge:
            lines.append(f"would enable auto-merge ({self.options.merge_method}) on #{pull.number}")
        if pull is not None:
            would = Applied(branch=branch, pr_number=pull.number, pr_url=pull.url)
        else:
            would = Applied(branch=branch, pr_created=True)
        return Preview(tuple(lines), would)

    # -- writing ---------------------------------------------------------------------------------

    def apply(self, plan: DeployPlan, request: DeployRequest, snapshot: Snapshot) -> Applied:
        self._check_permissions()
        try:
            return self._apply(plan, request, snapshot)
        except ConflictError as exc:
            self._infer = False  # whatever was assumed, the next attempt reads what is there
            pull = self._pulls.get(plan.branch)
            if snapshot is self._derived and pull is not None:
                paths = ", ".join(change.path for change in plan.changed)
                raise ConflictError(
                    f"{paths} on {plan.branch} is not {pull.base_ref}'s with pull request #{pull.number}'s "
                    f"block ({pull.base_ref} or another run changed it, or this run and its answer was lost)"
                ) from exc
            raise

    def _apply(self, plan: DeployPlan, request: DeployRequest, snapshot: Snapshot) -> Applied:
        branch = plan.branch
        prs = PullRequests(self.api, self.options, path_pattern(request.settings.path_template))
        own = [_row(change, request) for change in plan.changed]
        if not snapshot.on_branch:
            base = self.base
            commit = self._create_branch(plan, branch, snapshot)
            pull, created = prs.open(plan=plan, branch=branch, base=base, state=State(commit.sha, tuple(own)))
        else:
            found = self._pull(branch)
            base = self._base or (found.base_ref if found else self.base)
            if (snapshot is self._derived or snapshot is self._in_step) and found is not None:
                view = refresh.BranchView(found, derive.current_state(found), in_sync=True, changes=None)
            else:
                targets = {
                    c.path: blob_sha(c.old_text) if c.old_text is not None else None for c in plan.changed
                }
                view = refresh.look(self.api, branch=branch, base=base, pull=found, targets=targets)
            commit = self._commit(plan, branch, snapshot)
            state = self._table(prs, view, commit, base, own)
            if found is None:
                pull, created = prs.open(plan=plan, branch=branch, base=base, state=state)
            else:
                parent = commit.parents[0] if commit.parents else None
                pull, created = prs.update(found, base=base, state=state, parent=parent), False
        paths = [change.path for change in plan.changed]
        pull, created = self._held(
            prs, pull, created, commit=commit.sha, base=base, paths=paths, own=own, plan=plan
        )
        auto_merge = prs.finish(pull, plan=plan, created=created, joined=True)
        return Applied(commit.sha, branch, pull.number, pull.url, created, auto_merge)

    def settle(self, plan: DeployPlan, request: DeployRequest, snapshot: Snapshot) -> Applied | None:
        """Nothing to change: finish what a run that committed and then failed (or was stopped, or
        lost an answer) left undone. An open pull request whose table is out of step with the files
        read gets it rebuilt, one left without labels is finished; a branch that holds something its
        base lacks without an open pull request (or after a closed one) gets one."""
        if not snapshot.on_branch:
            return None
        branch = plan.branch
        pull = self._pull(branch)
        prs = PullRequests(self.api, self.options, path_pattern(request.settings.path_template))
        own = [_row(change, request) for change in plan.changes]
        if pull is not None and (snapshot is self._derived or not _out_of_step(pull, plan)):
            # labels missing: a run stopped right after opening it, before labels and auto-merge
            unlabelled = any(label not in pull.labels for label in plan.labels)
            auto_merge = prs.finish(pull, plan=plan, created=False) if unlabelled else pull.auto_merge
            return Applied(None, branch, pull.number, pull.url, False, auto_merge)
        if pull is not None:
            return self._retable(prs, pull, plan, own)
        base = self.base
        base_sha = self.api.base_ref(base)
        paths = [change.path for change in plan.changes]
        if all(self.api.read_file(path, base_sha)[0] == snapshot.files.get(path) for path in paths):
            return None  # the deploy reached the base already; the branch is a leftover
        head = self.api.ref(branch)
        if head is None:
            return None  # deleted meanwhile: nothing left to finish
        self._check_permissions()
        why = f"{branch} holds {', '.join(paths)} but no pull request is open for it"
        reopened = self._reopen(prs, head, base=base, paths=paths, own=own, plan=plan, why=why)
        if reopened is None:
            return None
        pull, created = self._held(prs, *reopened, commit=head, base=base, paths=paths, own=own, plan=plan)
        return Applied(
            None, branch, pull.number, pull.url, created, prs.finish(pull, plan=plan, created=created)
        )

    def _retable(self, prs: PullRequests, pull: Pull, plan: DeployPlan, own: list[Row]) -> Applied:
        """The pull request's table (and hidden state) disagree with the branch's files: a run
        committed and then failed, was stopped or lost the answer to its write before it wrote the
        table. Rebuild it from the branch as it is now (its head, and a comparison with the base)."""
        branch = plan.branch
        self._check_permissions()
        head = self.api.ref(branch)
        if head is None:
            raise ConflictError(f"{branch} was deleted while autodeploy was reading it")
        base = self._base or pull.base_ref
        report.info(f"{pull.url}: its table is not what {branch} holds; rebuilding it from the branch")
        pull = prs.update(pull, base=base, state=prs.table(head, base, read_state(pull.body), own))
        paths = [change.path for change in plan.changes]
        pull, created = self._held(prs, pull, False, commit=head, base=base, paths=paths, own=own, plan=plan)
        auto_merge = prs.finish(pull, plan=plan, created=created)
        return Applied(None, branch, pull.number, pull.url, created, auto_merge)

    def _held(
        self,
        prs: PullRequests,
        pull: Pull,
        created: bool,
        *,
        commit: str,
        base: str,
        paths: Sequence[str],
        own: Sequence[Row],
        plan: DeployPlan,
    ) -> tuple[Pull, bool]:
        """Checked after the last write to `pull` (its answer says whether it is still open): the pull
        request that holds `commit`. One merged or closed meanwhile, its branch kept, is kept when it
        merged `commit` or the base holds the files anyway; otherwise a new one is opened from the
        branch, with the base merged in first when the merge changed the same files (a squash)."""
        for _ in range(MAX_REOPENS):
            if pull.is_open:
                return pull, created
            if pull.merged and pull.head_sha == commit:
                report.info(
                    f"{pull.url} was merged while autodeploy updated it, with {commit[:7]}: it is on {base}"
                )
                return pull, created
            why = (
                f"{pull.url} was {_closed(pull)} while autodeploy updated {plan.branch}, without {commit[:7]}"
            )
            previous = read_state(pull.body)
            reopened = self._reopen(
                prs, commit, base=base, paths=paths, own=own, plan=plan, why=why, previous=previous
            )
            if reopened is None:
                return pull, created
            pull, created = reopened
        if pull.is_open:
            return pull, created
        raise ConflictError(f"the pull requests from {plan.branch} keep closing while autodeploy opens them")

    def _reopen(
        self,
        prs: PullRequests,
        commit: str,
        *,
        base: str,
        paths: Sequence[str],
        own: Sequence[Row],
        plan: DeployPlan,
        why: str,
        previous: State | None = None,
    ) -> tuple[Pull, bool] | None:
        """Open a pull request from the branch, which holds `commit`, that GitHub can merge: when the
        base changed the same files since the branch left it (a squash merge of its last pull
        request), the base is merged in first. None when the base holds `paths` as they are at
        `commit` already: nothing to open."""
        branch = plan.branch
        view = refresh.look(self.api, branch=branch, base=base, pull=None, targets={}, head=commit)
        head, changes = commit, view.changes
        if view.merged:
            head = view.head or self.api.ref(branch) or ""
            if not head:
                raise ConflictError(f"{branch} was deleted while autodeploy was updating it")
            changes = self.api.compare(base, head)
        if changes is None:
            raise ConflictError(f"{branch} or {base} was deleted while autodeploy was updating it")
        if not changes.paths & set(paths):
            report.info(f"{why}; {base} holds {', '.join(paths)} as {branch} does")
            return None
        report.info(f"{why}: opening a new pull request")
        before = {row.path: row for row in previous.rows} if previous else {}
        state = State(head, merge_rows(rows_from_comparison(changes, prs.pattern, before), own))
        return prs.open(plan=plan, branch=branch, base=base, state=state)

    def _check_permissions(self) -> None:
        """Refuse before the first write when the token's permissions are known to fall short (a GitHub
        App's installation token), rather than commit and then fail to open the pull request."""
        granted = self.api.client.granted
        if granted is None:
            return
        missing = [f"{name}: write" for name in ("contents", "pull_requests") if granted.get(name) != "write"]
        if missing:
            raise GitHubError(
                f"the GitHub App's installation on {self.repo} lacks {', '.join(missing)}; grant it in the "
                "App's settings (Permissions) and accept the change on the installation; nothing was written"
            )

    def _create_branch(self, plan: DeployPlan, branch: str, snapshot: Snapshot) -> Commit:
        base_sha = snapshot.revision
        assert base_sha is not None, "a snapshot of the base branch names its commit"
        changes = plan.changed
        if len(changes) == 1:
            self._start_branch(branch, base_sha)
            return self._put(changes[0], plan, branch)
        commit = self._git_commit(plan, base_sha)
        self._start_branch(branch, commit.sha)
        return commit

    def _start_branch(self, branch: str, sha: str) -> None:
        """Create `branch` at `sha`. One left over from a merged pull request (nothing on it that its
        base lacks) is moved there instead: a fast-forward, which fails if it holds anything else."""
        if self.api.create_ref(branch, sha) or self.api.update_ref(branch, sha):
            return
        raise StaleSnapshot(
            f"{branch} exists with commits its base lacks (another run's, or a closed pull request's)"
        )

    def _commit(self, plan: DeployPlan, branch: str, snapshot: Snapshot) -> Commit:
        changes = plan.changed
        if len(changes) == 1:
            return self._put(changes[0], plan, branch)
        head = snapshot.revision
        assert head is not None, "a snapshot of several files names its commit"
        commit = self._git_commit(plan, head)
        if not self.api.update_ref(branch, commit.sha):
            raise ConflictError(f"{branch} moved since autodeploy read it at {head[:7]}")
        return commit

    def _put(self, change: Change, plan: DeployPlan, branch: str) -> Commit:
        old = blob_sha(change.old_text) if change.old_text is not None else None
        commit = self.api.put_file(change.path, branch, change.new_text, old, plan.commit_message)
        if commit is None:
            raise ConflictError(f"{change.path} on {branch} changed since autodeploy read it")
        return commit

    def _git_commit(self, plan: DeployPlan, parent: str) -> Commit:
        tree = self._trees.get(parent) or self.api.commit(parent).tree
        assert tree is not None
        entries = [
            {"path": c.path, "mode": "100644", "type": "blob", "content": c.new_text} for c in plan.changed
        ]
        new_tree = self.api.create_tree(tree, entries)
        return self.api.create_commit(plan.commit_message, new_tree, [parent])

    def _table(
        self, prs: PullRequests, view: refresh.BranchView, commit: Commit, base: str, own: list[Row]
    ) -> State:
        """The pull request's rows for `commit`: the previous table plus ours when it described our
        commit's parent, else rebuilt from the comparison (reused when it was made at that parent)."""
        parent = commit.parents[0] if commit.parents else None
        state = view.state
        if view.in_sync and state is not None and state.head == parent:
            return State(commit.sha, merge_rows(state.rows, own))
        if (
            view.changes is not None
            and view.pull is not None
            and view.pull.head_sha == parent
            and not view.merged
        ):
            before = {row.path: row for row in state.rows} if state else {}
            return State(commit.sha, merge_rows(rows_from_comparison(view.changes, prs.pattern, before), own))
        return prs.table(commit.sha, base, state, own)


def _out_of_step(pull: Pull, plan: DeployPlan) -> bool:
    """Whether the pull request's hidden state disagrees with the branch's files as the plan read
    them (each change's old block): a row whose new side is not the file's block, or no row for a
    file when the branch moved since the state was written, or no table at all (a body people
    wrote). A table too long to hold its state cannot be checked: deploys rebuild it. Costs nothing."""
    state = read_state(pull.body)
    if state is None:
        return not has_section(pull.body)
    rows = {row.path: row for row in state.rows}
    for change in plan.changes:
        row, old = rows.get(change.path), change.old
        if row is None:
            if state.head != pull.head_sha:
                return True
            continue
        if old is None or (row.new_tag, row.digest, row.commit) != (old.tag, old.digest, old.commit):
            return True
    return False


def _closed(pull: Pull) -> str:
    return "merged" if pull.merged else "closed"


def _row(change: Change, request: DeployRequest) -> Row:
    old = change.old
    return Row(
        path=change.path,
        app=change.target.app,
        env=change.target.env,
        new_tag=change.new.tag,
        digest=change.new.digest,
        commit=change.new.commit,
        repo_url=change.new.repo_url,
        old_tag=old.tag if old else None,
        old_digest=old.digest if old else None,
        old_commit=old.commit if old else None,
        reason=request.rollback_summary,
        source_repo=change.new.source_repo,
        promoted_from=change.target.promoted_from,
    )
