"""The registry flags `resolve` and `deploy` share, and the RegistryOptions they make.

Credentials, first match wins: --registry-username with --registry-password-stdin; the variables
AUTODEPLOY_REGISTRY_USERNAME and AUTODEPLOY_REGISTRY_PASSWORD; Docker's config.json (credHelpers,
credsStore, auths). See autodeploy.registry.credentials.
"""

from __future__ import annotations

import argparse
import os
import sys

from autodeploy import report
from autodeploy.errors import InputError
from autodeploy.imageref import parse
from autodeploy.registry.credentials import ENV_PASSWORD, ENV_USERNAME
from autodeploy.registry.options import RegistryOptions


def add_arguments(parser: argparse.ArgumentParser, *, commit_from_image: bool = True) -> None:
    group = parser.add_argument_group("registry")
    group.add_argument(
        "--registry-username",
        metavar="USER",
        help=f"log in to the registry as USER (with --registry-password-stdin); default: ${ENV_USERNAME}, "
        "then Docker's config.json",
    )
    group.add_argument(
        "--registry-password-stdin",
        action="store_true",
        help=f"read the registry password or token from standard input; default: ${ENV_PASSWORD}",
    )
    group.add_argument(
        "--insecure-registry",
        action="append",
        default=[],
        metavar="HOST",
        help="speak plain HTTP to HOST[:PORT] (loopback registries always do); repeatable",
    )
    group.add_argument(
        "--digest-from",
        choices=("registry", "docker"),
        default="registry",
        help="ask the registry (default), or the local Docker daemon with its own credentials",
    )
    if commit_from_image:
        group.add_argument(
            "--commit-from-image",
            action="store_true",
            help="record the commit and source repository from the image's "
            "org.opencontainers.image.revision and .source labels",
        )


def options_from_args(args: argparse.Namespace) -> RegistryOptions:
    username: str | None = args.registry_username
    password: str | None = None
    if args.registry_password_stdin:
        if not username:
            raise InputError("--registry-password-stdin needs --registry-username")
        password = sys.stdin.read().rstrip("\r\n")
        if not password:
            raise InputError("--registry-password-stdin read an empty password from standard input")
        report.secret(password)
    elif username:
        raise InputError(
            "--registry-username needs --registry-password-stdin (the password on standard input)"
        )
    if os.environ.get(ENV_PASSWORD):
        # Masked now, before anything is printed; read when a registry asks for credentials.
        report.secret(os.environ[ENV_PASSWORD])
    return RegistryOptions(
        username=username,
        password=password,
        insecure_registries=tuple(_host(value) for value in args.insecure_registry),
        digest_from=args.digest_from,
    )


def _host(value: str) -> str:
    """HOST[:PORT], checked the way an image reference's registry part is."""
    text = value.strip().lower().removeprefix("http://").removesuffix("/")
    if not text or "/" in text:
        raise InputError(f"--insecure-registry {value!r} is not HOST or HOST:PORT")
    parse(f"{text}/x")  # raises InputError for an invalid host
    return text
