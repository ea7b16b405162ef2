"""Frozen views of the JSON GitHub returns: only the fields autodeploy reads, checked once here."""

from __future__ import annotations

import base64
import binascii
import hashlib
from dataclasses import dataclass
from typing import Any

from autodeploy.errors import GitHubError, InputError


def blob_sha(text: str) -> str:
    """The git blob id of `text` as UTF-8: what the contents API calls a file's `sha`."""
    data = text.encode("utf-8")
    return hashlib.sha1(b"blob %d\0" % len(data) + data, usedforsecurity=False).hexdigest()


def field(data: Any, *keys: str | int, doing: str) -> Any:
    """data[k1][k2]..., or a GitHubError naming the missing field."""
    value = data
    for key in keys:
        try:
            value = value[key]
        except (KeyError, IndexError, TypeError):
            path = ".".join(str(k) for k in keys)
            raise GitHubError(f"{doing}: GitHub's answer has no {path}") from None
    return value


def text_of(data: Any, path: str, doing: str) -> str:
    """The text of a file from a contents API answer."""
    if isinstance(data, list) or field(data, "type", doing=doing) != "file":
        raise InputError(f"{path} is a directory or a link in the GitOps repo, not a file")
    if data.get("encoding") != "base64":
        raise InputError(
            f"{path} is larger than the 1 MB the contents API returns; autodeploy cannot edit it"
        )
    try:
        raw = base64.b64decode(field(data, "content", doing=doing), validate=False)
    except (binascii.Error, ValueError) as exc:
        raise GitHubError(f"{doing}: GitHub's answer holds content that is not base64") from exc
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InputError(f"{path} is not UTF-8 text") from exc


@dataclass(frozen=True)
class Commit:
    sha: str
    parents: tuple[str, ...]
    tree: str | None = None

    @classmethod
    def from_json(cls, data: Any, doing: str) -> Commit:
        parents = tuple(str(field(p, "sha", doing=doing)) for p in field(data, "parents", doing=doing))
        tree = data.get("tree", {}).get("sha") if isinstance(data.get("tree"), dict) else None
        return cls(str(field(data, "sha", doing=doing)), parents, tree)


@dataclass(frozen=True)
class Pull:
    number: int
    url: str
    node_id: str
    title: str
    body: str
    head_sha: str
    base_ref: str
    labels: tuple[str, ...]
    auto_merge: bool
    state: str = "open"  # open or closed
    merged: bool = False  # closed by a merge (`merged_at` is set)
    merge_commit_sha: str | None = None

    @property
    def is_open(self) -> bool:
        return self.state == "open"

    @classmethod
    def from_json(cls, data: Any, doing: str) -> Pull:
        return cls(
            number=int(field(data, "number", doing=doing)),
            url=str(field(data, "html_url", doing=doing)),
            node_id=str(field(data, "node_id", doing=doing)),
            title=str(data.get("title") or ""),
            body=str(data.get("body") or ""),
            head_sha=str(field(data, "head", "sha", doing=doing)),
            base_ref=str(field(data, "base", "ref", doing=doing)),
            labels=tuple(
                str(label.get("name")) for label in data.get("labels") or () if isinstance(label, dict)
            ),
            auto_merge=data.get("auto_merge") is not None,
            state=str(data.get("state") or "open"),
            merged=bool(data.get("merged") or data.get("merged_at")),
            merge_commit_sha=data.get("merge_commit_sha") or None,
        )

    @classmethod
    def from_graphql(cls, data: Any, doing: str) -> Pull:
        """A pull request from GraphQL (PULL_FIELDS), as the REST API would describe it."""
        labels = (data.get("labels") or {}).get("nodes") or ()
        merge = data.get("mergeCommit")
        return cls(
            number=int(field(data, "number", doing=doing)),
            url=str(field(data, "url", doing=doing)),
            node_id=str(field(data, "id", doing=doing)),
            title=str(data.get("title") or ""),
            body=str(data.get("body") or ""),
            head_sha=str(field(data, "headRefOid", doing=doing)),
            base_ref=str(field(data, "baseRefName", doing=doing)),
            labels=tuple(str(label.get("name")) for label in labels if isinstance(label, dict)),
            auto_merge=data.get("autoMergeRequest") is not None,
            state="open" if data.get("state") == "OPEN" else "closed",
            merged=bool(data.get("merged")),
            merge_commit_sha=str(merge["oid"]) if isinstance(merge, dict) and merge.get("oid") else None,
        )


PULL_FIELDS = (
    "number url id title body headRefOid baseRefName state merged mergeCommit { oid } "
    "labels(first: 100) { nodes { name } } autoMergeRequest { enabledAt }"
)


@dataclass(frozen=True)
class RefRead:
    """A ref's head commit (with its tree), files read there (None: missing), and, when asked,
    the open pull requests whose head it is."""

    head: Commit
    files: dict[str, str | None]
    pulls: tuple[Pull, ...] = ()
    name: str | None = None  # the branch's name, for a ref (the default branch's, say)


@dataclass(frozen=True)
class ChangedFile:
    path: str
    status: str  # added, removed, modified, renamed, copied, changed, unchanged
    sha: str | None  # the blob at the comparison's head; None when removed
    patch: str | None  # absent for binary or very large diffs
    previous_path: str | None = None


@dataclass(frozen=True)
class Comparison:
    status: str  # ahead, behind, identical, diverged (of head relative to base)
    ahead_by: int
    behind_by: int
    files: tuple[ChangedFile, ...]

    MAX_FILES = 300  # GitHub lists at most this many; a comparison with as many may be cut short

    @property
    def complete(self) -> bool:
        return len(self.files) < self.MAX_FILES

    @property
    def paths(self) -> frozenset[str]:
        return frozenset(p for f in self.files for p in (f.path, f.previous_path) if p)

    @classmethod
    def from_json(cls, data: Any, doing: str) -> Comparison:
        files = tuple(
            ChangedFile(
                path=str(field(f, "filename", doing=doing)),
                status=str(f.get("status") or "modified"),
                sha=f.get("sha") if f.get("status") != "removed" else None,
                patch=f.get("patch"),
                previous_path=f.get("previous_filename"),
            )
            for f in data.get("files") or ()
        )
        return cls(
            status=str(field(data, "status", doing=doing)),
            ahead_by=int(field(data, "ahead_by", doing=doing)),
            behind_by=int(field(data, "behind_by", doing=doing)),
            files=files,
        )
