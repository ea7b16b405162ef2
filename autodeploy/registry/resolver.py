"""The work behind `autodeploy.registry.resolve`, kept apart so importing the package stays cheap
(no requests) for commands that never reach a registry.

Tokens, challenges, credentials and the time spent (one retry.Budget) are remembered for the
process, per RegistryOptions, and one shared requests.Session keeps connections open across calls
unless a session is passed. The first registry resolved with a set of options is the one its
explicit credentials belong to, unless RegistryOptions.credentials_host names another.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace

import requests

from autodeploy import retry
from autodeploy.errors import InputError, RegistryError
from autodeploy.imageref import ImageRef
from autodeploy.registry import Resolved, credentials
from autodeploy.registry.access import RegistryOptions
from autodeploy.registry.auth import Authenticator
from autodeploy.registry.client import RegistryClient, allows_plain_http, budget_for
from autodeploy.registry.manifest import MAX_CONFIG_BYTES, Manifest, ManifestError, labels_from_config

_MAX_INDEX_DEPTH = 3  # an index of indexes is legal; an endless chain is not

_authenticators: dict[RegistryOptions, Authenticator] = {}
_budgets: dict[RegistryOptions, retry.Budget] = {}
_first_registry: dict[RegistryOptions, str] = {}
_session: requests.Session | None = None


def resolve(
    ref: ImageRef,
    options: RegistryOptions,
    *,
    with_labels: bool = False,
    session: requests.Session | None = None,
) -> Resolved:
    reference = ref.digest or ref.tag
    if not reference:
        raise InputError(f"image {ref} has neither a tag nor a digest: give IMAGE:TAG")
    if options.digest_from not in ("registry", "docker"):
        raise InputError(f"--digest-from {options.digest_from!r} is not one of: registry, docker")
    _first_registry.setdefault(options, ref.registry)
    client = _client(options, session)

    if options.digest_from == "docker":
        from autodeploy.registry import daemon  # imports docker: only on this path

        # The daemon's client has per-read timeouts only: what is left of the budget caps them.
        left = client.budget.remaining()
        if left <= 0:
            raise RegistryError(
                f"no time left to ask the Docker daemon about {ref} ({client.budget.describe()})"
            )
        answer = daemon.inspect_distribution(ref, timeout=min(options.timeout, left))
        digest, media_type, platforms = answer.digest, answer.media_type, answer.platforms
        manifest = client.get_manifest(ref, digest).manifest if with_labels else None
    else:
        found = client.get_manifest(ref, reference) if with_labels else client.head_manifest(ref, reference)
        digest, media_type, manifest = found.digest, found.media_type, found.manifest
        platforms = manifest.platforms if manifest else ()

    labels = _labels(client, ref, manifest) if with_labels and manifest else {}
    return Resolved(
        reference=replace(ref, digest=digest),
        digest=digest,
        media_type=media_type,
        platforms=platforms,
        labels=labels,
    )


def clear_cache() -> None:
    """Forget tokens, challenges, credentials and the time spent, e.g. after `docker login` in a
    long-running process."""
    _authenticators.clear()
    _budgets.clear()
    _first_registry.clear()


def _client(options: RegistryOptions, session: requests.Session | None) -> RegistryClient:
    global _session
    if session is None:
        if _session is None:
            _session = requests.Session()
        session = _session
    authenticator = _authenticators.get(options)
    if authenticator is None:
        authenticator = Authenticator(
            lambda registry: credentials.lookup(registry, options, default_host=_first_registry.get(options)),
            allows_plain_http=lambda host: allows_plain_http(host, options.insecure_registries),
        )
        _authenticators[options] = authenticator
    budget = _budgets.get(options)
    if budget is None:
        budget = _budgets[options] = budget_for(options)
    return RegistryClient(session, authenticator, options, budget=budget)


def _labels(client: RegistryClient, ref: ImageRef, manifest: Manifest) -> Mapping[str, str]:
    """The config labels of the image itself, or of an index's first image that is not an attestation."""
    for _ in range(_MAX_INDEX_DEPTH):
        try:
            if manifest.config_digest is not None:
                return labels_from_config(client.get_blob(ref, manifest.config_digest, MAX_CONFIG_BYTES))
            child = manifest.image_child()
        except ManifestError as exc:
            raise RegistryError(f"{ref}: {exc}") from exc
        manifest = client.get_manifest(ref, child.digest).manifest
    raise RegistryError(
        f"{ref}: indexes nest deeper than {_MAX_INDEX_DEPTH} levels; autodeploy reads no further"
    )
