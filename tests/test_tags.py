"""Picking the tag out of the Action's tag input: a tag, IMAGE:TAG, or docker/metadata-action's list."""

from __future__ import annotations

import pytest

from autodeploy.action.tags import choose
from autodeploy.errors import InputError

# docker/metadata-action's `tags` output as a branch build and a release produce it (newline-separated).
BRANCH_BUILD = "ghcr.io/my-team/my-api:main-1a2b3c4\n"
RELEASE = "ghcr.io/my-team/my-api:1.2.3\nghcr.io/my-team/my-api:1.2\nghcr.io/my-team/my-api:latest\n"
TWO_REGISTRIES = (
    "harbor.example.com/team/my-api:1.2.3\nharbor.example.com/team/my-api:latest\n"
    "ghcr.io/my-team/my-api:1.2.3\nghcr.io/my-team/my-api:latest"
)


@pytest.mark.parametrize(
    ("text", "image", "reference"),
    [
        ("main-1a2b3c4", "ghcr.io/my-team/my-api", "main-1a2b3c4"),
        ("ghcr.io/my-team/my-api:main-1a2b3c4", None, "ghcr.io/my-team/my-api:main-1a2b3c4"),
        (BRANCH_BUILD, "ghcr.io/my-team/my-api", "ghcr.io/my-team/my-api:main-1a2b3c4"),
        (RELEASE, None, "ghcr.io/my-team/my-api:1.2.3"),
        ("ghcr.io/my-team/my-api:latest\nghcr.io/my-team/my-api:1.2.3", None, "ghcr.io/my-team/my-api:1.2.3"),
        (TWO_REGISTRIES, "ghcr.io/my-team/my-api", "ghcr.io/my-team/my-api:1.2.3"),
        (TWO_REGISTRIES, "harbor.example.com/team/my-api", "harbor.example.com/team/my-api:1.2.3"),
        # sep-tags: "," and stray whitespace, as a YAML block or a hand-written list may carry
        ("ghcr.io/my-team/my-api:1.2.3, ghcr.io/my-team/my-api:latest", None, "ghcr.io/my-team/my-api:1.2.3"),
        ("\r\n  ghcr.io/my-team/my-api:1.2.3\r\n\r\n", None, "ghcr.io/my-team/my-api:1.2.3"),
        ("ghcr.io/my-team/my-api:latest", None, "ghcr.io/my-team/my-api:latest"),
        # Docker Hub short names are normalized on both sides
        ("my-team/my-api:1.0", "docker.io/my-team/my-api", "docker.io/my-team/my-api:1.0"),
        ("nginx:1.27\nnginx:latest", "nginx", "docker.io/library/nginx:1.27"),
        ("127.0.0.1:5000/team/app:v1", "127.0.0.1:5000/team/app", "127.0.0.1:5000/team/app:v1"),
    ],
)
def test_choose(text: str, image: str | None, reference: str) -> None:
    assert choose(text, image).reference == reference


def test_choice_keeps_tag_image_and_count() -> None:
    choice = choose(TWO_REGISTRIES, "ghcr.io/my-team/my-api")
    assert (choice.tag, choice.image and choice.image.name, choice.candidates) == (
        "1.2.3",
        "ghcr.io/my-team/my-api",
        2,
    )
    assert choose("1.2.3").image is None


@pytest.mark.parametrize(
    ("text", "image", "message"),
    [
        ("", None, "the tag input is empty"),
        (" \n,\n", None, "the tag input is empty"),
        (
            TWO_REGISTRIES,
            None,
            "the tags name several images (ghcr.io/my-team/my-api, harbor.example.com/team/my-api)",
        ),
        (
            RELEASE,
            "ghcr.io/other/app",
            "none of the tags names the image ghcr.io/other/app; they name ghcr.io/my-team/my-api",
        ),
        ("ghcr.io/my-team/my-api", None, "names an image but no tag"),
        ("ghcr.io/my-team/my-api:1@sha256:" + "a" * 64, None, "carries a digest"),
        ("-bad-", None, "is not a valid OCI tag"),
        ("1.2.3", "ghcr.io/my-team/my-api:1.2.3", "has a tag: pass the tag as the tag input"),
        ("Not/A:Reference", None, "invalid repository"),
    ],
)
def test_bad_tag_input(text: str, image: str | None, message: str) -> None:
    with pytest.raises(InputError, match=None) as raised:
        choose(text, image)
    assert message in raised.value.message
    assert "\n" not in raised.value.message
