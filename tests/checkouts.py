"""Real directories and git repositories for tests: a copy of the example GitOps repo, and git
run with a fixed identity so commits work on a machine with no git config."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "gitops"


def git(repo: Path, *args: str, author: str = "ci") -> str:
    """Run git in `repo` as `author`; its standard output, stripped."""
    identity = {
        f"GIT_{who}_{what}": value
        for who in ("AUTHOR", "COMMITTER")
        for what, value in (("NAME", author), ("EMAIL", f"{author}@example.com"))
    }
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(repo), **identity}
    done = subprocess.run(
        ["git", "-C", str(repo), *args], check=True, capture_output=True, text=True, env=env
    )
    return done.stdout.strip()


def example_copy(directory: Path) -> Path:
    """A copy of examples/gitops at `directory/gitops`."""
    return Path(shutil.copytree(EXAMPLE, directory / "gitops"))


def init_checkout(root: Path, *, author: str = "ci") -> Path:
    """Make `root` a git checkout on `main` with one commit holding everything in it."""
    git(root, "init", "-q", "-b", "main", author=author)
    git(root, "add", ".", author=author)
    git(root, "commit", "-q", "-m", "initial", author=author)
    return root


def example_checkout(directory: Path, *, author: str = "ci") -> Path:
    """A copy of the example GitOps repo as a git checkout (see init_checkout)."""
    return init_checkout(example_copy(directory), author=author)


@pytest.fixture
def gitops(tmp_path: Path) -> Path:
    """A copy of the example GitOps repo to write in (a plain directory, not a checkout)."""
    return example_copy(tmp_path)
