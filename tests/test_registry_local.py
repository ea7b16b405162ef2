"""Digest resolution against a real registry (Debian's docker-registry) on 127.0.0.1.

Every digest is checked against the sha256 of the bytes distribution stored.
"""

from __future__ import annotations

import pytest
import requests
from registry_server import (
    DOCKER_MANIFEST,
    LocalRegistry,
    Seeded,
    push_image,
    push_index,
    sha256,
)

from autodeploy import imageref
from autodeploy.errors import RegistryError
from autodeploy.registry import REVISION_LABEL, SOURCE_LABEL, RegistryOptions, resolve

pytestmark = pytest.mark.usefixtures("registry_env")


def _resolve(reg: LocalRegistry, repository: str, reference: str, **kwargs: object):  # type: ignore[no-untyped-def]
    return resolve(imageref.parse(reg.ref(repository, reference)), RegistryOptions(), **kwargs)  # type: ignore[arg-type]


def test_every_kind_of_image_resolves_to_the_digest_of_its_stored_bytes(
    registry: LocalRegistry, seeded: Seeded
) -> None:
    for image in seeded.all():
        found = _resolve(registry, image.repository, image.tag)
        assert found.digest == sha256(registry.stored_bytes(found.digest)) == image.digest, image.tag
        assert found.media_type == image.media_type
        assert found.reference.tag == image.tag
        assert found.reference.digest == found.digest
        assert found.labels == {}


def test_with_labels_reads_platforms_and_the_labels_of_the_first_image(
    registry: LocalRegistry, seeded: Seeded
) -> None:
    for image in seeded.all():
        found = _resolve(registry, image.repository, image.tag, with_labels=True)
        assert found.digest == image.digest == sha256(registry.stored_bytes(found.digest))
        assert found.platforms == image.platforms
        assert found.labels[REVISION_LABEL] == image.labels[REVISION_LABEL]
        assert found.labels[SOURCE_LABEL] == "https://github.com/ditkrg/my-api"


def test_an_attestation_listed_first_is_neither_a_platform_nor_the_label_source(
    registry: LocalRegistry, seeded: Seeded
) -> None:
    image = seeded.attested
    assert len(image.children) == 3  # attestation, amd64, arm64
    found = _resolve(registry, image.repository, image.tag, with_labels=True)
    assert found.platforms == ("linux/amd64", "linux/arm64/v8")
    assert found.labels[REVISION_LABEL] == "5" * 40  # the attestation's config says 000...


def test_the_digest_is_the_index_never_a_platform_child(registry: LocalRegistry, seeded: Seeded) -> None:
    for image in (seeded.oci_index, seeded.docker_list, seeded.attested):
        found = _resolve(registry, image.repository, image.tag)
        assert found.digest == image.digest
        assert found.digest not in image.children


def test_trap_without_accept_distribution_rewrites_docker_v2_to_schema1(
    registry: LocalRegistry, seeded: Seeded
) -> None:
    image = seeded.docker_v2
    bare = requests.head(registry.url(f"/v2/{image.repository}/manifests/{image.tag}"), timeout=5)
    assert "v1+prettyjws" in bare.headers["Content-Type"]
    assert bare.headers["Docker-Content-Digest"] != image.digest
    assert _resolve(registry, image.repository, image.tag).digest == image.digest


def test_trap_an_accept_without_oci_types_gets_404_for_an_oci_manifest(
    registry: LocalRegistry, seeded: Seeded
) -> None:
    image = seeded.oci
    bare = requests.head(
        registry.url(f"/v2/{image.repository}/manifests/{image.tag}"),
        headers={"Accept": DOCKER_MANIFEST},
        timeout=5,
    )
    assert bare.status_code == 404
    assert _resolve(registry, image.repository, image.tag).digest == image.digest


def test_trap_a_docker_v2_only_accept_on_a_manifest_list_gets_the_amd64_child(
    registry: LocalRegistry, seeded: Seeded
) -> None:
    image = seeded.docker_list
    bare = requests.head(
        registry.url(f"/v2/{image.repository}/manifests/{image.tag}"),
        headers={"Accept": DOCKER_MANIFEST},
        timeout=5,
    )
    assert bare.headers["Docker-Content-Digest"] == image.children[0]
    assert _resolve(registry, image.repository, image.tag).digest == image.digest


def test_a_re_pointed_tag_resolves_to_its_new_target(registry: LocalRegistry) -> None:
    first = push_image(registry, "team/moving", "dev", oci=False, revision="a" * 40)
    assert _resolve(registry, "team/moving", "dev").digest == first.digest
    second = push_index(registry, "team/moving", "dev", oci=True, revision="b" * 40)
    found = _resolve(registry, "team/moving", "dev", with_labels=True)
    assert found.digest == second.digest == sha256(registry.stored_bytes(found.digest))
    assert found.digest != first.digest
    assert found.labels[REVISION_LABEL] == "b" * 40


def test_a_digest_reference_is_checked_and_kept(registry: LocalRegistry, seeded: Seeded) -> None:
    image = seeded.oci_index
    found = _resolve(registry, image.repository, image.digest)
    assert found.digest == image.digest
    assert found.media_type == image.media_type


def test_one_head_request_per_anonymous_resolution(registry: LocalRegistry, seeded: Seeded) -> None:
    session = requests.Session()
    mark = registry.mark()
    for image in seeded.all():
        resolve(imageref.parse(registry.ref(image.repository, image.tag)), RegistryOptions(), session=session)
    seen = registry.since(mark)
    assert [(method, status) for method, _, status in seen] == [("HEAD", 200)] * len(seeded.all())


def test_labels_cost_a_get_of_each_manifest_and_the_config(registry: LocalRegistry, seeded: Seeded) -> None:
    image = seeded.attested
    mark = registry.mark()
    _resolve(registry, image.repository, image.tag, with_labels=True)
    uris = [uri for _, uri, _ in registry.since(mark)]
    assert uris == [
        f"/v2/{image.repository}/manifests/{image.tag}",
        f"/v2/{image.repository}/manifests/{image.children[1]}",  # amd64, after the attestation
        uris[2],
    ]
    assert uris[2].startswith(f"/v2/{image.repository}/blobs/sha256:")


def test_a_missing_tag_says_so(registry: LocalRegistry, seeded: Seeded) -> None:
    with pytest.raises(RegistryError, match=r"tag 'no-such-tag' not found in .*team/app: check the tag"):
        _resolve(registry, "team/app", "no-such-tag")


def test_a_missing_repository_says_so(registry: LocalRegistry) -> None:
    with pytest.raises(
        RegistryError, match=r"repository team/no-such-app not found on registry 127\.0\.0\.1"
    ):
        _resolve(registry, "team/no-such-app", "v1")


def test_a_missing_digest_says_so(registry: LocalRegistry, seeded: Seeded) -> None:
    with pytest.raises(RegistryError, match=r"manifest sha256:0{64} not found"):
        _resolve(registry, "team/app", "sha256:" + "0" * 64)


def test_an_unreachable_registry_is_one_line_after_bounded_retries(registry: LocalRegistry) -> None:
    from registry_server import free_port

    ref = imageref.parse(f"127.0.0.1:{free_port()}/team/app:v1")
    with pytest.raises(RegistryError) as caught:
        resolve(ref, RegistryOptions(max_attempts=2, timeout=1.0))
    assert "unreachable after 2 attempts (connection refused)" in caught.value.message
    assert "\n" not in caught.value.message
