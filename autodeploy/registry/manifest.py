"""Manifests as bytes: media types, digests, platforms, the child that carries the labels. Pure."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from autodeploy import validate

OCI_INDEX = "application/vnd.oci.image.index.v1+json"
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
DOCKER_LIST = "application/vnd.docker.distribution.manifest.list.v2+json"
DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"

INDEX_TYPES = frozenset({OCI_INDEX, DOCKER_LIST})
IMAGE_TYPES = frozenset({OCI_MANIFEST, DOCKER_MANIFEST})
KNOWN_TYPES = INDEX_TYPES | IMAGE_TYPES

# All four, always: distribution answers a request without them with a schema1 rewrite (another
# digest), 404s OCI manifests when OCI types are missing, and answers a Docker-v2-only Accept on a
# manifest list with its amd64 child.
ACCEPT = ", ".join((OCI_INDEX, DOCKER_LIST, OCI_MANIFEST, DOCKER_MANIFEST))

# The spec lets registries refuse manifests over 4 MiB; config blobs are small JSON too.
MAX_MANIFEST_BYTES = 4 * 1024 * 1024
MAX_CONFIG_BYTES = 8 * 1024 * 1024

# buildx stores provenance and SBOM attestations as index children with this annotation and the
# platform unknown/unknown.
_ATTESTATION_ANNOTATION = "vnd.docker.reference.type"


class ManifestError(ValueError):
    """The bytes are not a manifest autodeploy can read; the message says what is wrong."""


def sha256_digest(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def media_type_of(content_type: str | None) -> str:
    """The media type of a Content-Type header, without parameters such as charset."""
    return (content_type or "").split(";", 1)[0].strip().lower()


@dataclass(frozen=True)
class Descriptor:
    media_type: str
    digest: str
    platform: str | None  # "linux/arm64/v8"; None when the descriptor names none
    attestation: bool

    @classmethod
    def from_json(cls, data: Any) -> Descriptor:
        if not isinstance(data, dict):
            raise ManifestError("an index entry is not a JSON object")
        digest = data.get("digest")
        if not isinstance(digest, str) or not validate.DIGEST_RE.fullmatch(digest):
            raise ManifestError(f"an index entry has the digest {digest!r}, not a sha256 digest")
        annotations = data.get("annotations") or {}
        platform = platform_name(data.get("platform"))
        attestation = (
            isinstance(annotations, dict) and _ATTESTATION_ANNOTATION in annotations
        ) or platform == "unknown/unknown"
        return cls(
            media_type=str(data.get("mediaType", "")),
            digest=digest,
            platform=platform,
            attestation=attestation,
        )


@dataclass(frozen=True)
class Manifest:
    """One manifest or index, parsed just enough to walk from an index to an image's config."""

    media_type: str
    children: tuple[Descriptor, ...]  # an index's manifests; () for an image manifest
    config_digest: str | None  # an image manifest's config blob; None for an index

    @property
    def is_index(self) -> bool:
        return self.media_type in INDEX_TYPES

    @property
    def platforms(self) -> tuple[str, ...]:
        """The platforms an index offers, attestations left out; () for an image manifest."""
        seen: dict[str, None] = {}
        for child in self.children:
            if child.platform and not child.attestation:
                seen.setdefault(child.platform)
        return tuple(seen)

    def image_child(self) -> Descriptor:
        """The first child that is an image for a platform, not an attestation."""
        for child in self.children:
            if not child.attestation:
                return child
        raise ManifestError("the index lists no image, only attestations")

    @classmethod
    def parse(cls, body: bytes, content_type: str | None = None) -> Manifest:
        try:
            data = json.loads(body)
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise ManifestError(f"the manifest is not JSON ({exc})") from exc
        if not isinstance(data, dict):
            raise ManifestError("the manifest is not a JSON object")
        # OCI lets the body omit mediaType; the Content-Type header then names it.
        media_type = str(data.get("mediaType") or media_type_of(content_type))
        if not media_type and isinstance(data.get("manifests"), list):
            media_type = OCI_INDEX
        if media_type not in KNOWN_TYPES:
            raise ManifestError(f"the manifest has the unsupported media type {media_type or 'none'!r}")
        if media_type in INDEX_TYPES:
            entries = data.get("manifests")
            if not isinstance(entries, list):
                raise ManifestError("the index has no 'manifests' list")
            return cls(media_type, tuple(Descriptor.from_json(e) for e in entries), None)
        config = data.get("config")
        digest = config.get("digest") if isinstance(config, dict) else None
        if not isinstance(digest, str) or not validate.DIGEST_RE.fullmatch(digest):
            raise ManifestError("the image manifest has no sha256 config digest")
        return cls(media_type, (), digest)


def labels_from_config(body: bytes) -> Mapping[str, str]:
    """The `config.Labels` of an image config blob ({} when it has none)."""
    try:
        data = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ManifestError(f"the image config is not JSON ({exc})") from exc
    config = data.get("config") if isinstance(data, dict) else None
    labels = config.get("Labels") if isinstance(config, dict) else None
    if not isinstance(labels, dict):
        return {}
    return {str(k): str(v) for k, v in labels.items()}


def platform_name(data: Any) -> str | None:
    """ "os/architecture[/variant]" of an OCI platform object; None when it names none."""
    if not isinstance(data, dict) or not data.get("os") or not data.get("architecture"):
        return None
    parts = [str(data["os"]), str(data["architecture"])]
    if data.get("variant"):
        parts.append(str(data["variant"]))
    return "/".join(parts)
