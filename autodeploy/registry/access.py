"""How to reach registries: credentials and the host they belong to, plain-HTTP hosts, the digest
source, and the time a run may spend on registries."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

from autodeploy.retry import Deadline

DEFAULT_MAX_WAIT = 120.0


@dataclass(frozen=True)
class RegistryOptions:
    username: str | None = None
    # Registered with autodeploy.report.secret() by whoever read it; kept out of repr for --debug tracebacks.
    password: str | None = field(default=None, repr=False)
    credentials_source: str = field(default="--registry-username", compare=False)  # for messages
    # The one registry explicit credentials (username/password above, or AUTODEPLOY_REGISTRY_*) are
    # sent to: --registry-host, else the registry of the image being deployed. None: the registry
    # of the first image resolved with these options. Docker's config.json is per host already.
    credentials_host: str | None = None
    insecure_registries: tuple[str, ...] = ()
    docker_config_dir: str | None = None  # default: $DOCKER_CONFIG or ~/.docker
    digest_from: str = "registry"  # or "docker"
    timeout: float = 10.0  # seconds per connect and per read
    max_attempts: int = 4
    # All the time spent on registries with these options (connect, read, retries' sleeps), in all.
    max_wait: float = DEFAULT_MAX_WAIT
    deadline: Deadline | None = None  # the command's: no registry call goes past it
    sleep: Callable[[float], None] = field(default=time.sleep, repr=False, compare=False)
    clock: Callable[[], float] = field(default=time.monotonic, repr=False, compare=False)
