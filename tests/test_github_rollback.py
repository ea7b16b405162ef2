"""`autodeploy rollback --gitops-repo`: history from the commits API of the fake GitHub, digests
from a real local registry, and the pull request the rollback opens (or, dry, would open)."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from github_fake import FakeGitHub
from github_world import SOURCE, World
from registry_server import Image, LocalRegistry, push_image

from autodeploy import cli
from autodeploy.imagefile import Block, read_block, write_block

PATH = "api/production/image.yaml"
IMAGE_REPO = "github-rollback/api"


@pytest.fixture
def served(registry: LocalRegistry, registry_env: object) -> Iterator[FakeGitHub]:
    """The fake GitHub, letting requests to the local registry through."""
    fake = FakeGitHub()
    with fake.serve() as mock:
        mock.add_passthru(f"http://{registry.host}")
        yield fake
    assert not fake.problems, "\n".join(fake.problems[:20])


def deploy_on_main(world: World, image: Image, tag: str, commit: str) -> None:
    text = world.text("main", PATH) or ""
    block = Block(SOURCE, tag, image.digest, f"https://github.com/{SOURCE}", commit)
    world.gitops.write(
        "main", {PATH: write_block(text, block)}, f"deploy(api): production -> {tag} (#{tag[-1]})"
    )


def test_rollback_through_the_api(
    served: FakeGitHub, registry: LocalRegistry, env: None, capsys: pytest.CaptureFixture[str]
) -> None:
    world = World(served)
    old = push_image(registry, IMAGE_REPO, "2.0.0", oci=True, revision="a" * 40)
    new = push_image(registry, IMAGE_REPO, "2.1.0", oci=True, revision="b" * 40)
    deploy_on_main(world, old, "2.0.0", world.commits[2])
    deploy_on_main(world, new, "2.1.0", world.commits[3])
    args = [
        "rollback",
        "--gitops-repo",
        "team/gitops",
        "--base-branch",
        "main",
        "--app",
        "api",
        "--env",
        "production",
        "--image",
        f"{registry.host}/{IMAGE_REPO}",
        "--reason",
        "2.1.0 fails its checks",
    ]

    assert cli.main(["history", *args[1:9], "--json"]) == 0
    history = json.loads(capsys.readouterr().out)["ran"]
    assert [d["tag"] for d in history][:2] == ["2.1.0", "2.0.0"] and history[1]["digest"] == old.digest

    refs_before = dict(world.gitops.refs)
    assert cli.main([*args, "--dry-run"]) == 0
    out, err = capsys.readouterr()
    assert world.gitops.refs == refs_before and not world.gitops.pulls
    assert "\n-        tag: 2.1.0\n" in out and "\n+        tag: 2.0.0\n" in out and old.digest in out
    assert "would create branch rollback-production-api from main" in err
    assert "would open pull request 'Rollback api in production to 2.0.0'" in err

    assert cli.main([*args, "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["branch"] == "rollback-production-api" and result["pr_number"]
    pull = world.gitops.pulls[result["pr_number"]]
    assert pull.title == "Rollback api in production to 2.0.0" and "2.1.0 fails its checks" in pull.body
    block = read_block(world.text("rollback-production-api", PATH) or "")
    assert block is not None and (block.tag, block.digest, block.commit) == (
        "2.0.0",
        old.digest,
        world.commits[2],
    )
