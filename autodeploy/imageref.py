"""Image references as Docker spells them: [REGISTRY/]REPOSITORY[:TAG][@DIGEST]."""

from __future__ import annotations

import re
from dataclasses import dataclass, replace

from autodeploy import validate
from autodeploy.errors import InputError

DOCKER_HUB = "docker.io"
DOCKER_HUB_API = "registry-1.docker.io"
DOCKER_HUB_ALIASES = frozenset(
    {"docker.io", "index.docker.io", "registry-1.docker.io", "registry.hub.docker.com"}
)
NAME_MAX = 255  # Docker refuses longer names, registry included
_COMPONENT_RE = re.compile(r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*")
_HOST_RE = re.compile(r"(?:\[[0-9a-fA-F:]+\]|[A-Za-z0-9.-]+)(?::[0-9]{1,5})?")


@dataclass(frozen=True)
class ImageRef:
    registry: str  # "docker.io", "ghcr.io", "127.0.0.1:5000"
    repository: str  # "library/nginx", "my-team/my-api"
    tag: str | None = None
    digest: str | None = None

    @property
    def api_host(self) -> str:
        """Host[:port] that serves the /v2/ API for this registry."""
        return DOCKER_HUB_API if self.registry == DOCKER_HUB else self.registry

    @property
    def name(self) -> str:
        return f"{self.registry}/{self.repository}"

    def with_tag(self, tag: str) -> ImageRef:
        return replace(self, tag=validate.tag(tag))

    def __str__(self) -> str:
        text = self.name
        if self.tag:
            text += f":{self.tag}"
        if self.digest:
            text += f"@{self.digest}"
        return text


def parse(reference: str) -> ImageRef:
    """Parse and normalize a reference; Docker Hub names gain docker.io and library/."""
    text = reference.strip()
    if not text or any(ch.isspace() for ch in text):
        raise InputError(f"image reference {reference!r} is empty or contains spaces")
    name, _, digest = text.partition("@")
    tag: str | None = None
    last_slash = name.rfind("/")
    colon = name.rfind(":")
    if colon > last_slash:
        name, tag = name[:colon], name[colon + 1 :]
    first, sep, rest = name.partition("/")
    if sep and ("." in first or ":" in first or first == "localhost" or first.startswith("[")):
        registry, path = first, rest
    else:
        registry, path = DOCKER_HUB, name
    if not _HOST_RE.fullmatch(registry):
        raise InputError(f"image reference {reference!r} has an invalid registry host {registry!r}")
    port = registry.rpartition("]")[2].partition(":")[2]  # "[::1]:5000" and "host:5000" alike
    if port and not 0 < int(port) <= 65535:
        raise InputError(f"image reference {reference!r} has the port {port}, outside 1-65535")
    if len(name) > NAME_MAX:
        raise InputError(f"image reference {reference!r} has a name longer than {NAME_MAX} characters")
    if registry.lower() in DOCKER_HUB_ALIASES:
        registry = DOCKER_HUB
        if "/" not in path:
            path = f"library/{path}"
    components = path.split("/")
    if not path or not all(_COMPONENT_RE.fullmatch(c) for c in components):
        raise InputError(
            f"image reference {reference!r} has an invalid repository {path!r} "
            "(lowercase letters, digits and separators '.', '_', '-')"
        )
    return ImageRef(
        registry=registry,
        repository=path,
        tag=validate.tag(tag) if tag is not None else None,
        digest=validate.digest(digest) if digest else None,
    )


def registry_host(value: str, kind: str) -> str:
    """HOST[:PORT] of a registry, lowercased and checked the way a reference's registry part is."""
    text = value.strip().lower().removeprefix("https://").removeprefix("http://").removesuffix("/")
    if not text or "/" in text:
        raise InputError(f"{kind} {value!r} is not HOST or HOST:PORT")
    parse(f"{text}/x")  # raises InputError for an invalid host
    return text
