"""Keep a deploy branch mergeable: when its base changed files the pull request also changes, merge
the base into the branch, never force-push.

`look` costs one comparison (branch head...base: what the base changed since they diverged) when
the pull request's hidden state says which files it changes, two when it does not. A merge is
made only when a changed file overlaps: first with the merges API (one request); when that
conflicts, by hand with the Git Data API, taking the base's side for the files this run is about
to write and, for other apps' image files changed on both sides, the base's text with the branch's
generated block. A merge that changed a file this run writes (the base's blob is not the one it
planned on) ends the attempt (StaleSnapshot): the pipeline reads it again at once and re-plans.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass
from typing import Any

from autodeploy import report
from autodeploy.errors import ConflictError, GitHubError, ImageFileError, StaleSnapshot
from autodeploy.github.api import RepoApi
from autodeploy.github.models import Comparison, Pull
from autodeploy.github.prbody import State, read_state
from autodeploy.imagefile import read_block, write_block


@dataclass(frozen=True)
class BranchView:
    """What autodeploy knows of an existing branch before it commits."""

    pull: Pull | None
    state: State | None  # the pull request's hidden state
    in_sync: bool  # the state describes the branch's head
    changes: Comparison | None  # base...head, when it was needed
    merged: bool = False  # the base was merged in just now
    head: str | None = None  # the merge commit it made, when GitHub named it


def look(
    api: RepoApi,
    *,
    branch: str,
    base: str,
    pull: Pull | None,
    targets: Mapping[str, str | None],
    head: str | None = None,
) -> BranchView:
    """Read what the branch changes and merge the base in when it is stale for those files.
    `targets` are the files this run writes, each with the blob sha it planned on; `head` the
    commit to compare (by default the pull request's head, else the branch)."""
    state = read_state(pull.body) if pull else None
    head = head or (pull.head_sha if pull else branch)
    in_sync = pull is not None and state is not None and state.head == pull.head_sha
    changes = None
    if in_sync and state is not None:
        ours = {row.path for row in state.rows} | set(targets)
    else:
        changes = api.compare(base, head)
        ours = set(changes.paths if changes else ()) | set(targets)
    moved = api.compare(head, base)  # what the base changed since the branch left it
    if moved is None or moved.ahead_by == 0:
        return BranchView(pull, state, in_sync, changes)
    stale = moved.paths & ours if moved.complete else frozenset(ours)
    if not stale:
        return BranchView(pull, state, in_sync, changes)
    report.info(
        f"{base} changed {', '.join(sorted(stale))} since {branch} left it: merging {base} into {branch}"
    )
    outcome, made = api.merge(branch, base, f"Merge {base} into {branch}")
    if outcome == "missing":
        raise ConflictError(f"{branch} was deleted while autodeploy was updating it")
    if outcome == "conflict":
        made = _merge_by_hand(api, branch=branch, base=base, head=head, moved=moved, prefer_base=targets)
    theirs = {changed.path: changed.sha for changed in moved.files}
    rewritten = sorted(path for path in stale & set(targets) if theirs.get(path, "") != targets[path])
    if outcome != "nothing" and rewritten:  # the merge changed what this run planned on
        raise StaleSnapshot(f"merged {base} into {branch}, which changed {', '.join(rewritten)}")
    return BranchView(pull, state, False, changes, merged=outcome != "nothing", head=made)


def _merge_by_hand(
    api: RepoApi, *, branch: str, base: str, head: str, moved: Comparison, prefer_base: Collection[str]
) -> str:
    """A merge commit of the base into the branch whose tree is the base's plus the branch's changes."""
    base_sha = api.base_ref(base)
    head_sha = api.ref(branch)
    if head_sha is None:
        raise ConflictError(f"{branch} was deleted while autodeploy was updating it")
    ours = api.compare(base_sha, head_sha)
    if ours is None or not ours.complete or not moved.complete:
        raise _by_hand(branch, base, "too many files changed to merge through the API")
    both = ours.paths & moved.paths
    entries: list[dict[str, Any]] = []
    for changed in ours.files:
        if changed.path in both and changed.path in prefer_base:
            continue  # keep the base's: this run writes the file again on top
        if changed.path in both:
            entries.append(
                {
                    "path": changed.path,
                    "mode": "100644",
                    "type": "blob",
                    "content": _blocks(api, changed.path, head_sha, base_sha, branch, base),
                }
            )
        else:
            entries.append({"path": changed.path, "mode": "100644", "type": "blob", "sha": changed.sha})
        if changed.previous_path and changed.previous_path not in both:
            entries.append({"path": changed.previous_path, "mode": "100644", "type": "blob", "sha": None})
    tree = api.create_tree(_tree_of(api, base_sha), entries)
    commit = api.create_commit(f"Merge {base} into {branch}", tree, [head_sha, base_sha])
    if not api.update_ref(branch, commit.sha):
        raise ConflictError(f"{branch} moved while autodeploy was merging {base} into it")
    return commit.sha


def _blocks(api: RepoApi, path: str, head: str, base_sha: str, branch: str, base: str) -> str:
    """An image file changed on both sides: the base's text with the branch's generated block."""
    ours, _ = api.read_file(path, head)
    theirs, _ = api.read_file(path, base_sha)
    if ours is None or theirs is None:
        raise _by_hand(branch, base, f"{path} was deleted on one side")
    try:
        block = read_block(ours, path=path)
        if block is None:
            raise _by_hand(branch, base, f"{path} changed on both sides")
        return write_block(theirs, block, path=path)
    except ImageFileError as exc:
        raise _by_hand(branch, base, f"{path} changed on both sides") from exc


def _tree_of(api: RepoApi, sha: str) -> str:
    tree = api.commit(sha).tree
    if tree is None:
        raise GitHubError(f"reading commit {sha[:12]} of {api.repo}: GitHub's answer has no tree")
    return tree


def _by_hand(branch: str, base: str, why: str) -> GitHubError:
    return GitHubError(
        f"cannot bring {branch} up to date with {base}: {why}; merge {base} into {branch} by hand "
        "(git merge), then run again"
    )
