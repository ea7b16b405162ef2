"""`--digest-from docker`: the local Docker daemon asks the registry, with the credentials the
docker client has (config.json and its helpers). The only module that imports `docker`."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from autodeploy import validate
from autodeploy.errors import InputError, RegistryError
from autodeploy.imageref import ImageRef
from autodeploy.registry.manifest import INDEX_TYPES, media_type_of, platform_name


@dataclass(frozen=True)
class DaemonAnswer:
    digest: str
    media_type: str
    platforms: tuple[str, ...]  # for an index; () for a single manifest

    @classmethod
    def from_json(cls, data: Any, ref: ImageRef) -> DaemonAnswer:
        descriptor = data.get("Descriptor") if isinstance(data, dict) else None
        if not isinstance(descriptor, dict):
            raise RegistryError(f"the Docker daemon answered no descriptor for {ref}")
        try:
            digest = validate.digest(str(descriptor.get("digest")))
        except InputError as exc:
            raise RegistryError(f"the Docker daemon answered no sha256 digest for {ref}") from exc
        media_type = media_type_of(str(descriptor.get("mediaType", "")))
        platforms: tuple[str, ...] = ()
        if media_type in INDEX_TYPES:
            found: dict[str, None] = {}
            for entry in data.get("Platforms") or []:
                platform = platform_name(entry)
                if platform and platform != "unknown/unknown":
                    found.setdefault(platform)
            platforms = tuple(found)
        return cls(digest, media_type, platforms)


def inspect_distribution(ref: ImageRef, *, timeout: float) -> DaemonAnswer:
    """What the daemon's `GET /distribution/{name}/json` says the reference points at."""
    try:
        import docker
        import docker.errors
    except ImportError as exc:
        raise RegistryError(
            "--digest-from docker needs the docker extra: pip install 'autodeploy[docker]'"
        ) from exc
    name = f"{ref.name}@{ref.digest}" if ref.digest else str(ref)
    try:
        client = docker.from_env(timeout=max(1, round(timeout)))
    except docker.errors.DockerException as exc:
        raise RegistryError(
            f"cannot reach the Docker daemon ({_first_line(exc)}): start Docker, or set DOCKER_HOST"
        ) from exc
    try:
        data = client.api.inspect_distribution(name)
    except docker.errors.APIError as exc:
        raise RegistryError(
            f"the Docker daemon could not look up {name} in its registry "
            f"(HTTP {exc.status_code}: {_first_line(exc.explanation or exc)}): check the image name and "
            "that docker login was run for its registry"
        ) from exc
    except docker.errors.DockerException as exc:
        raise RegistryError(
            f"cannot reach the Docker daemon ({_first_line(exc)}): start Docker, or set DOCKER_HOST"
        ) from exc
    finally:
        client.close()
    return DaemonAnswer.from_json(data, ref)


def _first_line(value: object) -> str:
    lines = str(value).strip().splitlines()
    return lines[0][:200] if lines else type(value).__name__
