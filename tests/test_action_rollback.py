"""`mode: rollback` end to end: deploys through the Action resolve digests from a real local registry,
each is committed to the GitOps checkout, and the rollback finds the earlier one in that history."""

from __future__ import annotations

from pathlib import Path

import pytest
from checkouts import git, init_checkout
from registry_server import LocalRegistry, Seeded
from test_action import Workspace, make_workspace

from autodeploy.imagefile import read_block

pytestmark = pytest.mark.usefixtures("registry_env")
STAGING = "my-api/staging/image.yaml"


@pytest.fixture
def workspace(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> Workspace:
    return make_workspace(tmp_path, monkeypatch, capsys)


def test_rollback_goes_back_to_the_previous_image(
    workspace: Workspace,
    registry: LocalRegistry,
    seeded: Seeded,
) -> None:
    gitops = workspace.gitops
    init_checkout(gitops, author="deployer")
    image = f"{registry.host}/team/app"
    for seeded_image in (seeded.docker_v2, seeded.oci):
        run = workspace.run(
            gitops_dir="gitops", app="my-api", env="staging", image=image, tag=seeded_image.tag
        )
        assert run.code == 0, run.err
        assert run.outputs["digest"] == seeded_image.digest  # resolved from the registry
        git(gitops, "commit", "-q", "-am", f"deploy {seeded_image.tag}", author="deployer")

    run = workspace.run(
        mode="rollback",
        gitops_dir="gitops",
        app="my-api",
        env="staging",
        image=image,
        reason="oci broke the login page",
    )
    assert run.code == 0, run.err
    block = read_block((gitops / STAGING).read_text(), path=STAGING)
    assert block is not None and (block.tag, block.digest) == ("docker-v2", seeded.docker_v2.digest)
    assert (run.outputs["changed"], run.outputs["tag"], run.outputs["old-tag"]) == (
        "true",
        "docker-v2",
        "oci",
    )
    assert run.summary.startswith("### autodeploy: rolled back\n")
    running = next(line for line in run.err.splitlines() if line.startswith("running: "))
    assert running == (
        f"running: autodeploy rollback --gitops-dir gitops --app my-api --env staging --image {image} "
        "--reason 'oci broke the login page'"
    )


def test_rollback_to_a_tag_given_as_a_full_reference(
    workspace: Workspace,
    registry: LocalRegistry,
    seeded: Seeded,
) -> None:
    gitops = workspace.gitops
    init_checkout(gitops, author="deployer")
    image = f"{registry.host}/team/app"
    for tag in ("docker-v2", "oci", "oci-index"):
        assert workspace.run(gitops_dir="gitops", app="my-api", env="staging", image=image, tag=tag).code == 0
        git(gitops, "commit", "-q", "-am", f"deploy {tag}", author="deployer")
    # no image input: the reference in tag names it
    run = workspace.run(
        mode="rollback", gitops_dir="gitops", app="my-api", env="staging", tag=f"{image}:docker-v2"
    )
    assert run.code == 0, run.err
    assert run.outputs["tag"] == "docker-v2" and run.outputs["digest"] == seeded.docker_v2.digest
