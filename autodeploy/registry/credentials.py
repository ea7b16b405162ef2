"""Where a registry's credentials come from, first match wins:

1. RegistryOptions.username and .password: `--registry-username` / `--registry-password-stdin`, or
   the variables AUTODEPLOY_REGISTRY_USERNAME and AUTODEPLOY_REGISTRY_PASSWORD (the entrypoints
   read them), which belong to one registry: RegistryOptions.credentials_host (`--registry-host`),
   else the one the caller names (the registry of the image being deployed); other registries
   never see them,
2. Docker's config.json in RegistryOptions.docker_config_dir ($DOCKER_CONFIG) or ~/.docker: a
   `credHelpers` entry for the host or a
   `credsStore` runs `docker-credential-<name> get`; else an `auths` entry (`auth`, or
   `username` and `password`).

Every password is registered with `report.secret()` as soon as it is read. A `Credential` knows
where it came from, so an error can name the credential that was refused without showing it.
"""

from __future__ import annotations

import base64
import binascii
import json
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from autodeploy import report
from autodeploy.errors import InputError, RegistryError
from autodeploy.imageref import DOCKER_HUB, DOCKER_HUB_ALIASES
from autodeploy.registry.access import RegistryOptions

HELPER_TIMEOUT = 30.0

# The server address Docker stores Docker Hub credentials under.
_DOCKER_HUB_SERVER = "https://index.docker.io/v1/"


@dataclass(frozen=True)
class Credential:
    username: str
    password: str = field(repr=False)
    source: str  # "--registry-username", "docker-credential-pass", "/home/me/.docker/config.json"

    def describe(self) -> str:
        """Which credential this is, for error messages; never the password."""
        return f"the credentials of {self.username!r} from {self.source}"


def lookup(registry: str, options: RegistryOptions, *, default_host: str | None = None) -> Credential | None:
    """The credential for `registry` (ImageRef.registry, e.g. "docker.io", "ghcr.io"), or None.

    Explicit credentials go to options.credentials_host, else to `default_host`; with neither set
    they are for whichever registry is asked (a caller that resolves one image)."""
    explicit = _explicit(options)
    owner = options.credentials_host or default_host
    if explicit is not None and (owner is None or same_registry(owner, registry)):
        return explicit
    return _from_docker_config(registry, docker_config_dir(options))


def same_registry(a: str, b: str) -> bool:
    """Whether two registry names (or config.json keys) name one registry: "docker.io" is
    "index.docker.io"; "https://harbor.example.com/" is "harbor.example.com"."""
    return _host_of(a) == _host_of(b)


def _explicit(options: RegistryOptions) -> Credential | None:
    if options.username is not None or options.password is not None:
        if not options.username or not options.password:
            raise InputError("--registry-username needs --registry-password-stdin, and the other way round")
        return Credential(options.username, report.secret(options.password), options.credentials_source)
    return None


def docker_config_dir(options: RegistryOptions) -> Path:
    return Path(options.docker_config_dir) if options.docker_config_dir else Path.home() / ".docker"


def _host_of(key: str) -> str:
    """config.json keys are hosts or URLs ("https://index.docker.io/v1/"); compare their hosts."""
    host = key.strip().lower().removeprefix("https://").removeprefix("http://").split("/", 1)[0]
    return DOCKER_HUB if host in DOCKER_HUB_ALIASES else host


def _entry(table: Any, registry: str) -> tuple[str, Any] | None:
    if not isinstance(table, dict):
        return None
    wanted = _host_of(registry)
    for key, value in table.items():
        if isinstance(key, str) and _host_of(key) == wanted:
            return key, value
    return None


def _from_docker_config(registry: str, directory: Path) -> Credential | None:
    path = directory / "config.json"
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    except UnicodeDecodeError as exc:
        raise InputError(f"{path} is not UTF-8 text (byte {exc.start}); fix it or set DOCKER_CONFIG") from exc
    except OSError as exc:
        raise InputError(
            f"cannot read {path}: {exc.strerror}; fix its permissions or set DOCKER_CONFIG"
        ) from exc
    try:
        config = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InputError(f"{path} is not valid JSON ({exc.msg}); fix it or set DOCKER_CONFIG") from exc
    except RecursionError as exc:
        raise InputError(
            f"{path} nests too deeply to be Docker's config; fix it or set DOCKER_CONFIG"
        ) from exc
    if not isinstance(config, dict):
        raise InputError(f"{path} is not a JSON object; fix it or set DOCKER_CONFIG")

    helper_entry = _entry(config.get("credHelpers"), registry)
    helper = helper_entry[1] if helper_entry else config.get("credsStore")
    if isinstance(helper, str) and helper:
        server = _DOCKER_HUB_SERVER if _host_of(registry) == DOCKER_HUB else registry
        found = _run_helper(helper, server)
        if found is not None:
            return found
    auth_entry = _entry(config.get("auths"), registry)
    if auth_entry is None or not isinstance(auth_entry[1], dict):
        return None
    return _from_auths_entry(auth_entry[0], auth_entry[1], path)


def _from_auths_entry(key: str, entry: dict[str, Any], path: Path) -> Credential | None:
    source = f"{path} (auths.{key})"
    encoded = entry.get("auth")
    if isinstance(encoded, str) and encoded:
        try:
            decoded = base64.b64decode(encoded, validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError) as exc:
            raise InputError(
                f"{source}: 'auth' is not base64 of USER:PASSWORD; run docker login again"
            ) from exc
        username, sep, password = decoded.partition(":")
        if not sep or not username or not password:
            raise InputError(f"{source}: 'auth' is not base64 of USER:PASSWORD; run docker login again")
        return Credential(username, report.secret(password), source)
    user, secret = entry.get("username"), entry.get("password")
    if isinstance(user, str) and isinstance(secret, str) and user and secret:
        return Credential(user, report.secret(secret), source)
    return None


def _run_helper(name: str, server: str) -> Credential | None:
    program = f"docker-credential-{name}"
    try:
        result = subprocess.run(
            [program, "get"],
            input=server,
            capture_output=True,
            text=True,
            timeout=HELPER_TIMEOUT,
            check=False,
        )
    except FileNotFoundError as exc:
        raise RegistryError(
            f"Docker's config.json names the credential helper {program}, which is not on PATH: "
            "install it, or remove credsStore/credHelpers from config.json"
        ) from exc
    except subprocess.TimeoutExpired as exc:
        raise RegistryError(f"{program} get did not answer within {HELPER_TIMEOUT:.0f} s") from exc
    except UnicodeDecodeError as exc:
        raise RegistryError(f"{program} get printed something that is not UTF-8 text") from exc
    if result.returncode != 0:
        # Helpers answer an unknown server this way; Docker then has no credentials either.
        if "credentials not found" in (result.stdout + result.stderr).lower():
            return None
        detail = (result.stderr.strip() or result.stdout.strip()).splitlines()
        raise RegistryError(
            f"{program} get failed with exit code {result.returncode}"
            + (f": {report.redact(detail[0])}" if detail else "")
        )
    try:
        reply = json.loads(result.stdout)
        username, secret = str(reply["Username"]), str(reply["Secret"])
    except (json.JSONDecodeError, KeyError, TypeError) as exc:
        raise RegistryError(
            f"{program} get did not print the JSON a Docker credential helper prints"
        ) from exc
    if not secret:
        return None
    return Credential(username, report.secret(secret), program)
