"""The git binary adapter against real repositories."""

from __future__ import annotations

from pathlib import Path

import pytest
from checkouts import git

from autodeploy import gitlocal
from autodeploy.errors import GitError
from autodeploy.plan import Relation


def commit(repo: Path, name: str, text: str) -> str:
    (repo / name).write_bytes(text.encode())
    git(repo, "add", name)
    git(repo, "commit", "-q", "-m", f"write {name}")
    return git(repo, "rev-parse", "HEAD")


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    git(tmp_path, "init", "-q", "-b", "main")
    return tmp_path


def test_relations(repo: Path) -> None:
    first = commit(repo, "a", "1")
    second = commit(repo, "a", "2")
    git(repo, "checkout", "-q", "-b", "side", first)
    side = commit(repo, "b", "x")
    assert gitlocal.relation(str(repo), first, second) is Relation.NEWER
    assert gitlocal.relation(str(repo), second, first) is Relation.OLDER
    assert gitlocal.relation(str(repo), second, second[:7]) is Relation.SAME
    assert gitlocal.relation(str(repo), second, side) is Relation.DIVERGED
    assert gitlocal.relation(str(repo), second, "0" * 40) is Relation.UNKNOWN


def test_log_and_show_keep_crlf(repo: Path) -> None:
    first = commit(repo, "image.yaml", "a: 1\r\n")
    commit(repo, "other", "x")
    second = commit(repo, "image.yaml", "a: 2\r\n")
    entries = gitlocal.log(str(repo), "image.yaml", limit=10)
    assert [e.commit for e in entries] == [second, first]
    assert entries[0].subject == "write image.yaml" and entries[0].author == "ci"
    assert gitlocal.show(str(repo), first, "image.yaml") == "a: 1\r\n"
    assert gitlocal.show(str(repo), first, "missing") is None


def test_toplevel(repo: Path, tmp_path_factory: pytest.TempPathFactory) -> None:
    (repo / "sub").mkdir()
    assert gitlocal.toplevel(str(repo / "sub")) == str(repo)
    assert gitlocal.toplevel(str(tmp_path_factory.mktemp("plain"))) is None


def test_failures_are_one_line_git_errors(repo: Path) -> None:
    with pytest.raises(GitError, match=r"^git log failed in .*: fatal: "):
        gitlocal.log(str(repo), "x", limit=1, rev="no-such-rev")
