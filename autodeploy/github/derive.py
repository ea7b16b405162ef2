"""A file of an open pull request's branch, derived from its base instead of read: the read of the
base that a deploy needs anyway (has the base changed the file?) then also gives the branch's text.

Pure. The pull request's hidden state names the branch head it describes and, per image file, what
the branch deploys (new) and what the base ran when the branch took the file (old). When that head
is still the branch's, autodeploy's writes are all the branch holds, so the branch's file is the
base's with the row's block, provided the base has not changed the file since. The derivation
checks the block against the row's old side; the compare-and-swap of the write that follows checks
every other byte (its blob sha is the derived text's). A wrong guess costs a lost race and a read of
the branch itself, never a wrong commit.
"""

from __future__ import annotations

from autodeploy.errors import ImageFileError
from autodeploy.github.models import Pull
from autodeploy.github.prbody import State, read_state
from autodeploy.imagefile import Block, read_block, write_block


def current_state(pull: Pull) -> State | None:
    """The pull request's hidden state when it describes the branch's head, else None: someone, or
    a run that has not written its table yet, moved the branch."""
    state = read_state(pull.body)
    return state if state is not None and state.head == pull.head_sha else None


def branch_text(path: str, base_text: str, state: State) -> str | None:
    """What `path` holds on the branch `state` describes, or None when that cannot be derived."""
    try:
        base = read_block(base_text, path=path)
    except ImageFileError:
        return None
    if base is None:
        return None
    row = next((r for r in state.rows if r.path == path), None)
    if row is None:
        return base_text  # the branch does not change the file; the write's swap checks the guess
    if (base.tag, base.digest, base.commit, base.repo_url) != (
        row.old_tag,
        row.old_digest,
        row.old_commit,
        row.repo_url,
    ):
        return None  # the base deployed something else (a rollback, a hotfix): the file is stale
    block = Block(
        source_repo=row.source_repo or base.source_repo,
        tag=row.new_tag,
        digest=row.digest,
        repo_url=row.repo_url,
        commit=row.commit,
    )
    try:
        return write_block(base_text, block, path=path)
    except ImageFileError:
        return None


def in_step(path: str, base_text: str | None, text: str | None, state: State) -> bool:
    """Whether the branch's `text` of `path` is the base's `base_text` with only what `state` says
    the branch changed: then the base has not changed the file since the branch took it (or has
    changed it as the branch did), and merging the base would change nothing there. A file that
    neither holds, or that the branch added (its row has no old side), is in step too."""
    if base_text is None:
        row = next((r for r in state.rows if r.path == path), None)
        added = row is not None and (row.old_tag, row.old_digest, row.old_commit) == (None, None, None)
        return text is None or added
    return text is not None and branch_text(path, base_text, state) == text
