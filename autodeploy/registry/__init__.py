"""Tag -> digest: the digest of exactly what a tag points at, the top-level manifest or index.

    resolve(ref, options)                    one HEAD (after a token, where the registry wants one)
    resolve(ref, options, with_labels=True)  GET the manifest, then the first image's config labels

The registry is the source by default; `digest_from="docker"` asks the local Docker daemon (see
`daemon`). Importing this package loads neither requests nor docker; `resolve` does, when called.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from autodeploy.imageref import ImageRef
from autodeploy.registry.access import RegistryOptions

if TYPE_CHECKING:
    import requests

__all__ = ["RegistryOptions", "Resolved", "clear_cache", "resolve"]

REVISION_LABEL = "org.opencontainers.image.revision"
SOURCE_LABEL = "org.opencontainers.image.source"


@dataclass(frozen=True)
class Resolved:
    """What a tag points at. A plain resolution is one HEAD, which says nothing of platforms: they
    are filled when the manifest body was read (`with_labels=True`, or a registry that leaves the
    digest out of its HEAD answer) or the Docker daemon named them. `labels` need `with_labels=True`."""

    reference: ImageRef  # with tag and digest filled in
    digest: str
    media_type: str
    platforms: tuple[str, ...] = ()  # "linux/amd64", ... for an index; () for a single manifest
    labels: Mapping[str, str] = field(default_factory=dict)


def resolve(
    ref: ImageRef,
    options: RegistryOptions,
    *,
    with_labels: bool = False,
    session: requests.Session | None = None,
) -> Resolved:
    """What `ref` (its digest, else its tag) points at, asked of options.digest_from."""
    from autodeploy.registry import resolver  # requests: only once a registry is asked

    return resolver.resolve(ref, options, with_labels=with_labels, session=session)


def clear_cache() -> None:
    """Forget tokens, challenges, credentials and the time spent, e.g. after `docker login` in a
    long-running process."""
    from autodeploy.registry import resolver

    resolver.clear_cache()
