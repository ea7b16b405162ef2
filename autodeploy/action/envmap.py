"""`env: auto`: the environment a git ref deploys to, as today's action decides it. Pure.

The map is lines (or comma-separated items) of `KEY: ENV`. KEY is `tag` (any tag), `default-branch`
(the repository's default branch), `branch` (every other ref), or a glob over the full ref such as
`refs/heads/release/*`. Globs are tried first, in the order written; then the three kinds.
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Mapping

from autodeploy import validate
from autodeploy.errors import InputError

KINDS = ("tag", "default-branch", "branch")
DEFAULT_MAP: Mapping[str, str] = {"tag": "production", "default-branch": "staging", "branch": "development"}
_ITEM_SEPARATORS = re.compile(r"[\n,]+")


def items(text: str) -> list[str]:
    """An Action input's list: items one per line or comma-separated, blanks dropped."""
    return [item.strip() for item in _ITEM_SEPARATORS.split(text) if item.strip()]


def parse_map(text: str) -> dict[str, str]:
    """The default map, updated with the entries of `text`."""
    mapping = dict(DEFAULT_MAP)
    for item in items(text):
        key, sep, env = item.rpartition(":")  # neither a ref nor an env may hold ':'
        key, env = key.strip(), env.strip()
        if not sep or not key or not env:
            raise InputError(f"env-map entry {item.strip()!r} is not 'KEY: ENV'")
        if key not in KINDS and not key.startswith("refs/"):
            raise InputError(
                f"env-map key {key!r} is not one of {', '.join(KINDS)} or a ref glob starting with refs/"
            )
        mapping[key] = validate.path_part("env", env)
    return mapping


def environment(ref: str, default_branch: str, mapping: Mapping[str, str]) -> str:
    if not ref:
        raise InputError("env: auto needs GITHUB_REF to pick the environment; set the env input instead")
    for key, env in mapping.items():
        if key.startswith("refs/") and fnmatch.fnmatchcase(ref, key):
            return env
    if ref.startswith("refs/pull/"):
        raise InputError(
            f"env: auto does not deploy pull request refs ({ref}): a fork's code must not reach an "
            "environment unasked; set the env input, or name refs/pull/* in env-map"
        )
    if ref.startswith("refs/tags/"):
        return mapping["tag"]
    if ref == f"refs/heads/{default_branch}":
        return mapping["default-branch"]
    return mapping["branch"]
