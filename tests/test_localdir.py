"""The local-directory adapter on real files: reads, atomic writes, conflicts, symlinks out."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from autodeploy.errors import ConflictError, InputError
from autodeploy.imageref import parse
from autodeploy.localdir import LocalDir
from autodeploy.pipeline import read_facts
from autodeploy.plan import DeployRequest, Facts, Target, plan_deploy

DIGEST = "sha256:" + "d" * 64


def request(env: str = "staging") -> DeployRequest:
    image = parse("harbor.example.com/my-team/my-api:2.0.0")
    return DeployRequest((Target("my-api", env, image, DIGEST),), "abcdef1", "my-team/my-api")


def test_reads_missing_files_as_none(gitops: Path) -> None:
    snapshot = LocalDir(str(gitops)).read(["my-api/staging/image.yaml", "nope/x.yaml"], branch="b")
    assert snapshot.files["nope/x.yaml"] is None
    assert snapshot.files["my-api/staging/image.yaml"] == (gitops / "my-api/staging/image.yaml").read_text()


def test_apply_writes_exactly_the_planned_bytes_and_keeps_the_mode(gitops: Path) -> None:
    file = gitops / "my-api/staging/image.yaml"
    file.chmod(0o640)
    repo = LocalDir(str(gitops))
    snapshot = read_facts(request(), repo)
    result = plan_deploy(request(), Facts(files=snapshot.files))
    repo.apply(result, request(), snapshot)
    assert file.read_text() == result.changes[0].new_text
    assert file.stat().st_mode & 0o777 == 0o640
    assert [p.name for p in file.parent.iterdir() if p.name.endswith(".tmp")] == []


def test_apply_refuses_a_file_changed_since_it_was_read(gitops: Path) -> None:
    repo = LocalDir(str(gitops))
    snapshot = read_facts(request(), repo)
    result = plan_deploy(request(), Facts(files=snapshot.files))
    file = gitops / "my-api/staging/image.yaml"
    file.write_text(file.read_text() + "# edited meanwhile\n")
    with pytest.raises(ConflictError, match="changed on disk"):
        repo.apply(result, request(), snapshot)
    assert file.read_text().endswith("# edited meanwhile\n")


def test_a_symlink_out_of_the_repo_is_refused(gitops: Path, tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "image.yaml").write_text("spec: {}\n")
    shutil.rmtree(gitops / "my-api/staging")
    os.symlink(outside, gitops / "my-api/staging")
    with pytest.raises(InputError, match="resolves outside --gitops-dir"):
        LocalDir(str(gitops)).read(["my-api/staging/image.yaml"], branch="b")


def test_a_symlink_inside_the_repo_is_followed(gitops: Path) -> None:
    shared = gitops / "my-api/staging/image.yaml"
    link = gitops / "my-api/qa"
    link.mkdir()
    os.symlink(shared, link / "image.yaml")
    assert (
        LocalDir(str(gitops)).read(["my-api/qa/image.yaml"], branch="b").files["my-api/qa/image.yaml"]
        == shared.read_text()
    )


def test_not_a_directory(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="is not a directory"):
        LocalDir(str(tmp_path / "missing"))


def test_non_utf8_is_refused(gitops: Path) -> None:
    (gitops / "my-api/staging/image.yaml").write_bytes(b"spec: \xff\n")
    with pytest.raises(InputError, match="is not UTF-8"):
        LocalDir(str(gitops)).read(["my-api/staging/image.yaml"], branch="b")


def test_lists_directories_only(gitops: Path) -> None:
    repo = LocalDir(str(gitops))
    snapshot = repo.read([], branch="b")
    assert repo.list_dir("my-api", snapshot) == ("base", "development", "production", "staging")
    assert repo.list_dir("nope", snapshot) is None
