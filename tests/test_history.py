"""Deploy history from a real git repo of deploy commits, and the choice a rollback makes."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from checkouts import example_checkout, git

from autodeploy.deploys import Deploy, FileVersion, choose, deploys
from autodeploy.errors import InputError
from autodeploy.gitlocal import GitFileHistory
from autodeploy.imagefile import Block, write_block

PATH = "my-api/production/image.yaml"


def digest(n: int) -> str:
    return f"sha256:{n:064x}"


def block(tag: str, n: int) -> Block:
    return Block("my-team/my-api", tag, digest(n), "https://github.com/my-team/my-api", f"{n:07x}abcdef")


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """A GitOps checkout whose production image file saw 1.0.0, 1.1.0, an unrelated edit, 1.2.0, 1.1.0."""
    root = example_checkout(tmp_path, author="alice")
    file = root / PATH
    for number, (tag, subject) in enumerate(
        [
            ("1.0.0", "deploy 1.0.0 (#3)"),
            ("1.1.0", "Merge pull request #4 from team/prod-release"),
            (None, "tidy"),
            ("1.2.0", "deploy 1.2.0"),
            ("1.1.0", "back to 1.1.0"),
        ],
        start=1,
    ):
        text = file.read_text()
        if tag is None:
            text = text.replace("spec:\n", "spec:\n  # tidied\n", 1)
        else:
            text = write_block(text, block(tag, {"1.0.0": 1, "1.1.0": 2, "1.2.0": 3}[tag]))
        file.write_text(text)
        git(root, "commit", "-q", "-am", subject, author="alice")
    return root


def test_history_lists_deploys_newest_first(repo: Path) -> None:
    found = deploys(GitFileHistory(str(repo)).versions(PATH, limit=30), PATH)
    assert [d.block.tag for d in found] == ["1.1.0", "1.2.0", "1.1.0", "1.0.0", "1.3.0"]
    assert found[0].block.digest == digest(2) and found[0].author == "alice"
    assert found[2].pull_request == 4 and found[3].pull_request == 3 and found[1].pull_request is None
    assert found[0].gitops_commit == git(repo, "rev-parse", "HEAD")


def test_history_works_from_a_subdirectory_checkout(repo: Path) -> None:
    versions = list(GitFileHistory(str(repo / "my-api")).versions("production/image.yaml", limit=5))
    assert versions and versions[0].text == (repo / PATH).read_text()


def test_a_plain_directory_has_no_history(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="is not a git checkout"):
        GitFileHistory(str(tmp_path))


def fake(*tags: str) -> list[Deploy]:
    return [Deploy(block(tag, n), f"{n:040x}", "2026-01-01", "bob", "x") for n, tag in enumerate(tags, 1)]


def test_steps_skip_images_equal_to_what_runs_now() -> None:
    history = fake("1.1.0", "1.2.0", "1.1.0", "1.0.0")
    history[2] = Deploy(history[0].block, "c" * 40, "d", "a", "s")
    assert choose(history, to=None, steps=1, label="a/e").block.tag == "1.2.0"
    assert choose(history, to=None, steps=2, label="a/e").block.tag == "1.0.0"
    with pytest.raises(InputError, match="only 2 earlier image"):
        choose(history, to=None, steps=3, label="a/e")


def test_to_picks_the_newest_deploy_of_that_tag() -> None:
    history = fake("1.2.0", "1.1.0", "1.0.0", "1.1.0")
    assert choose(history, to="1.1.0", steps=1, label="a/e") is history[1]
    with pytest.raises(InputError, match="a/e already runs 1.2.0"):
        choose(history, to="1.2.0", steps=1, label="a/e")
    with pytest.raises(InputError, match="never ran 9.9.9; the tags in its history are: 1.2.0, 1.1.0, 1.0.0"):
        choose(history, to="9.9.9", steps=1, label="a/e")


def test_no_history_is_an_input_error() -> None:
    with pytest.raises(InputError, match="found no earlier deploy"):
        choose([], to=None, steps=1, label="a/e")


def test_versions_without_a_block_or_unreadable_are_not_deploys() -> None:
    good = write_block("spec:\n  values:\n    a: 1\n", block("2.0.0", 9))
    versions = [
        FileVersion("3" * 40, "d3", "a", "s", good),
        FileVersion("2" * 40, "d2", "a", "s", "spec: [broken"),
        FileVersion("1" * 40, "d1", "a", "s", None),
    ]
    assert [d.gitops_commit for d in deploys(versions, "p")] == ["3" * 40]


def test_only_as_many_versions_as_needed_are_read() -> None:
    texts = [
        write_block("spec:\n  values:\n    a: 1\n", block(tag, n))
        for n, tag in enumerate(["3.0", "2.0", "1.0", "0.9"], 1)
    ]
    read: list[int] = []

    def versions() -> Iterator[FileVersion]:
        for number, text in enumerate(texts):
            read.append(number)
            yield FileVersion(f"{number:040x}", "d", "a", "s", text)

    assert [d.block.tag for d in deploys(versions(), "p", limit=2)] == ["3.0", "2.0"]
    assert read == [0, 1, 2]  # the third version is read to know the second ends its run


def test_choose_reads_the_history_only_as_far_as_it_must() -> None:
    seen: list[str] = []

    def history() -> Iterator[Deploy]:
        for deploy in fake("1.2.0", "1.1.0", "1.0.0", "0.9.0"):
            seen.append(deploy.block.tag or "")
            yield deploy

    assert choose(history(), to=None, steps=1, label="a/e").block.tag == "1.1.0"
    assert seen == ["1.2.0", "1.1.0"]
    seen.clear()
    assert choose(history(), to="1.0.0", steps=1, label="a/e").block.tag == "1.0.0"
    assert seen == ["1.2.0", "1.1.0", "1.0.0"]


@pytest.mark.parametrize("merge", ["merge", "squash", "rebase"])
def test_history_is_what_the_branch_held_not_what_a_release_branch_tried(tmp_path: Path, merge: str) -> None:
    """On prod-release 2.1.0 was replaced by 2.1.1 before the pull request merged: 2.1.0 never ran."""
    root = example_checkout(tmp_path, author="alice")
    file = root / PATH

    def deploy(tag: str, n: int, subject: str) -> None:
        file.write_text(write_block(file.read_text(), block(tag, n)))
        git(root, "commit", "-q", "-am", subject, author="alice")

    deploy("2.0.0", 2, "deploy 2.0.0")
    git(root, "checkout", "-q", "-b", "prod-release")
    deploy("2.1.0", 3, "deploy 2.1.0")
    deploy("2.1.1", 4, "deploy 2.1.1")
    git(root, "checkout", "-q", "main")
    if merge == "merge":
        git(
            root,
            "merge",
            "-q",
            "--no-ff",
            "-m",
            "Merge pull request #7 from team/prod-release",
            "prod-release",
        )
    elif merge == "squash":
        git(root, "merge", "-q", "--squash", "prod-release")
        git(root, "commit", "-q", "-m", "Production release (#7)", author="alice")
    else:
        git(root, "rebase", "-q", "prod-release", author="alice")
    found = deploys(GitFileHistory(str(root)).versions(PATH, limit=30), PATH)
    tags = [d.block.tag for d in found]
    if merge == "rebase":  # rebased commits sit on the first-parent line: each one was the branch's head
        assert tags[:3] == ["2.1.1", "2.1.0", "2.0.0"]
    else:
        assert tags[:2] == ["2.1.1", "2.0.0"] and "2.1.0" not in tags
        assert found[0].pull_request == 7
    assert choose(iter(found), to=None, steps=1, label="my-api/production").block.tag == (
        "2.1.0" if merge == "rebase" else "2.0.0"
    )
