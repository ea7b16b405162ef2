"""Manifest parsing: media types, platforms, attestations, labels. Pure."""

from __future__ import annotations

import json

import pytest

from autodeploy.registry.manifest import (
    ACCEPT,
    DOCKER_LIST,
    DOCKER_MANIFEST,
    OCI_INDEX,
    OCI_MANIFEST,
    Manifest,
    ManifestError,
    labels_from_config,
    media_type_of,
)

D = "sha256:" + "a" * 64
E = "sha256:" + "b" * 64
F = "sha256:" + "c" * 64


def _index(entries: list[dict[str, object]], media_type: str | None = OCI_INDEX) -> bytes:
    data: dict[str, object] = {"schemaVersion": 2, "manifests": entries}
    if media_type:
        data["mediaType"] = media_type
    return json.dumps(data).encode()


def test_accept_lists_all_four_manifest_types() -> None:
    assert sorted(t.strip() for t in ACCEPT.split(",")) == sorted(
        [OCI_INDEX, OCI_MANIFEST, DOCKER_LIST, DOCKER_MANIFEST]
    )


def test_media_type_of_drops_parameters() -> None:
    assert media_type_of("application/vnd.oci.image.index.v1+json; charset=utf-8") == OCI_INDEX
    assert media_type_of(None) == ""


def test_index_platforms_skip_attestations_and_keep_order() -> None:
    body = _index(
        [
            {
                "mediaType": OCI_MANIFEST,
                "digest": F,
                "platform": {"os": "unknown", "architecture": "unknown"},
                "annotations": {"vnd.docker.reference.type": "attestation-manifest"},
            },
            {
                "mediaType": OCI_MANIFEST,
                "digest": D,
                "platform": {"os": "linux", "architecture": "arm64", "variant": "v8"},
            },
            {"mediaType": OCI_MANIFEST, "digest": E, "platform": {"os": "linux", "architecture": "amd64"}},
        ]
    )
    manifest = Manifest.parse(body)
    assert manifest.is_index
    assert manifest.platforms == ("linux/arm64/v8", "linux/amd64")
    assert manifest.image_child().digest == D


def test_an_attestation_is_recognised_by_its_annotation_alone() -> None:
    body = _index(
        [
            {
                "mediaType": OCI_MANIFEST,
                "digest": F,
                "annotations": {"vnd.docker.reference.type": "attestation-manifest"},
            },
            {"mediaType": OCI_MANIFEST, "digest": D},
        ]
    )
    assert Manifest.parse(body).image_child().digest == D


def test_an_index_of_attestations_only_has_no_image() -> None:
    body = _index(
        [{"mediaType": OCI_MANIFEST, "digest": F, "platform": {"os": "unknown", "architecture": "unknown"}}]
    )
    with pytest.raises(ManifestError, match="lists no image"):
        Manifest.parse(body).image_child()


def test_an_oci_index_without_media_type_takes_it_from_content_type() -> None:
    manifest = Manifest.parse(_index([{"digest": D}], media_type=None), f"{OCI_INDEX}; charset=utf-8")
    assert manifest.media_type == OCI_INDEX


def test_an_image_manifest_names_its_config() -> None:
    body = json.dumps(
        {"schemaVersion": 2, "mediaType": DOCKER_MANIFEST, "config": {"digest": D}, "layers": []}
    )
    manifest = Manifest.parse(body.encode())
    assert (manifest.is_index, manifest.config_digest, manifest.platforms) == (False, D, ())


@pytest.mark.parametrize(
    ("body", "content_type", "message"),
    [
        (b"not json", None, "not JSON"),
        (b"[]", None, "not a JSON object"),
        (
            b'{"schemaVersion": 1, "fsLayers": []}',
            "application/vnd.docker.distribution.manifest.v1+prettyjws",
            "unsupported media type",
        ),
        (json.dumps({"mediaType": OCI_INDEX}).encode(), None, "no 'manifests' list"),
        (
            json.dumps({"mediaType": OCI_INDEX, "manifests": [{"digest": "md5:x"}]}).encode(),
            None,
            "not a sha256",
        ),
        (json.dumps({"mediaType": OCI_MANIFEST, "config": {}}).encode(), None, "no sha256 config digest"),
    ],
)
def test_bad_manifests_are_refused(body: bytes, content_type: str | None, message: str) -> None:
    with pytest.raises(ManifestError, match=message):
        Manifest.parse(body, content_type)


def test_labels_from_config() -> None:
    config = {"config": {"Labels": {"org.opencontainers.image.revision": "abc", "n": 1}}}
    assert labels_from_config(json.dumps(config).encode()) == {
        "org.opencontainers.image.revision": "abc",
        "n": "1",
    }
    assert labels_from_config(b'{"config": {"Labels": null}}') == {}
    assert labels_from_config(b"{}") == {}
    with pytest.raises(ManifestError, match="not JSON"):
        labels_from_config(b"\xff")
