"""How to reach registries: credentials, plain-HTTP hosts, the digest source, timeouts."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class RegistryOptions:
    username: str | None = None
    # Registered with autodeploy.report.secret() by whoever read it; kept out of repr for --debug tracebacks.
    password: str | None = field(default=None, repr=False)
    insecure_registries: tuple[str, ...] = ()
    docker_config_dir: str | None = None  # default: $DOCKER_CONFIG or ~/.docker
    digest_from: str = "registry"  # or "docker"
    timeout: float = 10.0
    max_attempts: int = 4
