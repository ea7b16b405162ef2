"""deploy, history and rollback end to end: a real registry, a real GitOps git checkout, a real
source repository for the downgrade guard."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from checkouts import example_checkout, git
from registry_server import Image, LocalRegistry, push_image

from autodeploy.cli import main
from autodeploy.imagefile import read_block

PROD = "my-api/production/image.yaml"
REPO = "rollback/my-api"


@pytest.fixture(scope="module")
def images(registry: LocalRegistry) -> dict[str, Image]:
    return {
        tag: push_image(registry, REPO, tag, oci=True, revision=revision)
        for tag, revision in [("1.0.0", "a" * 40), ("1.1.0", "b" * 40), ("1.2.0", "c" * 40)]
    }


@pytest.fixture
def source(tmp_path: Path) -> tuple[Path, list[str]]:
    """The app's own repository: three commits, oldest first."""
    repo = tmp_path / "source"
    repo.mkdir()
    git(repo, "init", "-q", "-b", "main")
    commits = []
    for number in range(3):
        (repo / "app.txt").write_text(f"{number}\n")
        git(repo, "add", "app.txt")
        git(repo, "commit", "-q", "-m", f"change {number}")
        commits.append(git(repo, "rev-parse", "HEAD"))
    return repo, commits


@pytest.fixture
def gitops(tmp_path: Path, registry_env: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    root = example_checkout(tmp_path)
    for name in ("GITHUB_SHA", "GITHUB_REPOSITORY", "GITHUB_TOKEN", "AUTODEPLOY_GITHUB_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)
    yield root


def deploy_args(gitops: Path, image: str, tag: str, *extra: str) -> list[str]:
    return [
        "deploy",
        "--gitops-dir",
        str(gitops),
        "--app",
        "my-api",
        "--env",
        "production",
        "--image",
        image,
        "--tag",
        tag,
        *extra,
    ]


def rollback_args(gitops: Path, image: str, *extra: str) -> list[str]:
    return [
        "rollback",
        "--gitops-dir",
        str(gitops),
        "--app",
        "my-api",
        "--env",
        "production",
        "--image",
        image,
        *extra,
    ]


def deploy(registry: LocalRegistry, gitops: Path, tag: str, commit: str, *extra: str) -> int:
    code = main(
        deploy_args(
            gitops,
            f"{registry.host}/{REPO}",
            tag,
            "--commit",
            commit,
            "--source-repo",
            "my-team/my-api",
            *extra,
        )
    )
    if code == 0 and git(gitops, "status", "--porcelain"):
        git(
            gitops, "commit", "-q", "-am", f"deploy {tag} (#{len(git(gitops, 'log', '--format=%H').split())})"
        )
    return code


def block(gitops: Path):  # type: ignore[no-untyped-def]
    return read_block((gitops / PROD).read_text())


def test_deploy_resolves_the_digest_from_the_registry(
    registry: LocalRegistry, images: dict[str, Image], gitops: Path
) -> None:
    assert deploy(registry, gitops, "1.0.0", "a" * 40) == 0
    assert block(gitops).digest == images["1.0.0"].digest


def test_commit_from_image_labels(registry: LocalRegistry, images: dict[str, Image], gitops: Path) -> None:
    code = main(deploy_args(gitops, f"{registry.host}/{REPO}", "1.1.0", "--commit-from-image"))
    assert code == 0
    assert (block(gitops).commit, block(gitops).source_repo) == ("b" * 40, "ditkrg/my-api")


def test_history_and_rollback(
    registry: LocalRegistry, images: dict[str, Image], gitops: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    for tag, commit in [("1.0.0", "a" * 40), ("1.1.0", "b" * 40), ("1.2.0", "c" * 40)]:
        assert deploy(registry, gitops, tag, commit) == 0
    capsys.readouterr()

    assert (
        main(["history", "--gitops-dir", str(gitops), "--app", "my-api", "--env", "production", "--json"])
        == 0
    )
    found = json.loads(capsys.readouterr().out)["ran"]
    assert [d["tag"] for d in found] == ["1.2.0", "1.1.0", "1.0.0", "1.3.0"]
    assert found[1]["digest"] == images["1.1.0"].digest and found[1]["source_commit"] == "b" * 40
    assert found[0]["gitops_commit"] == git(gitops, "rev-parse", "HEAD") and found[0]["pull_request"] == 3

    assert (
        main(
            ["history", "--gitops-dir", str(gitops), "--app", "my-api", "--env", "production", "--limit", "2"]
        )
        == 0
    )
    table = capsys.readouterr().out.splitlines()
    assert table[0].split() == ["TAG", "DIGEST", "SOURCE", "GITOPS", "REACHED", "BASE", "BY"]
    assert table[1].startswith("1.2.0 (now)") and len(table) == 3

    rollback = rollback_args(gitops, f"{registry.host}/{REPO}", "--reason", "checkout broken")
    before = (gitops / PROD).read_bytes()
    assert main([*rollback, "--dry-run"]) == 0
    out, err = capsys.readouterr()
    assert (gitops / PROD).read_bytes() == before
    assert "\n-        tag: 1.2.0\n" in out and "\n+        tag: 1.1.0\n" in out
    assert f"\n+        digest: {images['1.1.0'].digest}\n" in out
    assert "would deploy my-api/production: 1.2.0 -> 1.1.0" in err

    assert main([*rollback, "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["branch"] == "rollback-production-my-api" and result["new_tag"] == "1.1.0"
    now = block(gitops)
    assert (now.tag, now.digest, now.commit) == ("1.1.0", images["1.1.0"].digest, "b" * 40)

    assert main([*rollback, "--to", "9.9.9"]) == 2
    assert (
        "never ran 9.9.9; the tags in its history are: 1.2.0, 1.1.0, 1.0.0, 1.3.0" in capsys.readouterr().err
    )


def test_a_retagged_image_rolls_back_to_the_digest_that_ran(
    registry: LocalRegistry, images: dict[str, Image], gitops: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The registry holds both manifests of 2.0.0: the one that ran, and the one pushed since."""
    repo = "rollback/retagged"
    ran = push_image(registry, repo, "2.0.0", oci=True, revision="d" * 40)
    for tag, commit in [("2.0.0", "d" * 40), ("1.2.0", "c" * 40)]:
        image = f"{registry.host}/{repo if tag == '2.0.0' else REPO}"
        main(deploy_args(gitops, image, tag, "--commit", commit, "--source-repo", "my-team/my-api"))
        git(gitops, "commit", "-q", "-am", f"deploy {tag}")
    pushed_again = push_image(registry, repo, "2.0.0", oci=True, revision="e" * 40)
    assert pushed_again.digest != ran.digest
    capsys.readouterr()
    rollback = rollback_args(gitops, f"{registry.host}/{repo}", "--to", "2.0.0")
    before = (gitops / PROD).read_bytes()
    assert main([*rollback, "--dry-run"]) == 0
    assert (gitops / PROD).read_bytes() == before
    assert main(rollback) == 0
    err = capsys.readouterr().err
    assert (
        f"was pushed again since it ran: it points at {pushed_again.digest} now; deploying the digest that ran"
        in err
    )
    assert (block(gitops).digest, block(gitops).commit) == (ran.digest, "d" * 40)
    git(gitops, "checkout", "-q", "--", ".")
    assert main([*rollback, "--allow-retag"]) == 0
    assert block(gitops).digest == pushed_again.digest


def test_a_rollback_without_the_registry(
    registry: LocalRegistry, images: dict[str, Image], gitops: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    for tag, commit in [("1.0.0", "a" * 40), ("1.1.0", "b" * 40)]:
        assert deploy(registry, gitops, tag, commit) == 0
    capsys.readouterr()
    gone = rollback_args(gitops, "127.0.0.1:1/rollback/my-api")  # no registry listens there
    assert main(gone) == 1
    assert "pass --no-registry-check" in capsys.readouterr().err
    assert main([*gone, "--no-registry-check"]) == 0
    now = block(gitops)
    assert (now.tag, now.digest, now.commit) == ("1.0.0", images["1.0.0"].digest, "a" * 40)
    assert main([*gone, "--no-registry-check", "--allow-retag"]) == 2


def test_a_digest_gone_from_the_registry_stops_the_rollback(
    registry: LocalRegistry, images: dict[str, Image], gitops: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert deploy(registry, gitops, "1.0.0", "a" * 40) == 0
    text = (gitops / PROD).read_text().replace(images["1.0.0"].digest, "sha256:" + "0" * 64)
    (gitops / PROD).write_text(text)
    git(gitops, "commit", "-q", "-am", "deploy 1.0.0 with a digest the registry never had")
    assert deploy(registry, gitops, "1.1.0", "b" * 40) == 0
    before = (gitops / PROD).read_bytes()
    capsys.readouterr()
    rollback = rollback_args(gitops, f"{registry.host}/{REPO}")
    assert main(rollback) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "sha256:" + "0" * 64 in err
    assert (gitops / PROD).read_bytes() == before


def test_the_downgrade_guard_uses_the_source_checkout(
    registry: LocalRegistry,
    images: dict[str, Image],
    gitops: Path,
    source: tuple[Path, list[str]],
    capsys: pytest.CaptureFixture[str],
) -> None:
    repo, (old, _, new) = source
    # The example runs 1.3.0, built from a commit this source repo lacks: the versions say 1.2.0 is older.
    assert deploy(registry, gitops, "1.2.0", new, "--source-dir", str(repo)) == 0
    assert block(gitops).tag == "1.3.0"
    assert deploy(registry, gitops, "1.2.0", new, "--source-dir", str(repo), "--allow-downgrade") == 0
    before = (gitops / PROD).read_bytes()
    capsys.readouterr()
    assert deploy(registry, gitops, "1.0.0", old, "--source-dir", str(repo)) == 0
    assert (gitops / PROD).read_bytes() == before
    assert (
        f"skipped my-api/production: my-api/production already runs 1.2.0 built from {new[:12]}"
        in capsys.readouterr().err
    )
    assert deploy(registry, gitops, "1.0.0", old, "--source-dir", str(repo), "--allow-downgrade") == 0
    assert block(gitops).tag == "1.0.0"
