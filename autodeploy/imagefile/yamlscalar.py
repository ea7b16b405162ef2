"""Scalars that every YAML reader reads back as the same string, whichever YAML version it speaks."""

from __future__ import annotations

import re
from functools import lru_cache

from ruamel.yaml.nodes import ScalarNode
from ruamel.yaml.resolver import VersionedResolver

_PLAIN_RE = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.:/@+-]*")


@lru_cache(maxsize=1024)
def render_scalar(value: str) -> str:
    """`value` as a YAML scalar that YAML 1.1 and 1.2 readers both read back as this string: plain
    when that is safe, double-quoted otherwise (`1.10`, `on`, `0755`, `8436e32`, `null`)."""
    if _PLAIN_RE.fullmatch(value) and not value.endswith(":") and reads_as_string(value):
        return value
    escaped = value.replace("\\", "\\\\").replace('"', '\\"')
    escaped = "".join(ch if ch.isprintable() else f"\\u{ord(ch):04x}" for ch in escaped)
    return f'"{escaped}"'


@lru_cache(maxsize=1024)
def reads_as_string(plain: str) -> bool:
    """True when a plain scalar resolves to a string in YAML 1.1 and 1.2 (so `1.10`, `on` do not)."""
    return all(
        _resolver(version).resolve(ScalarNode, plain, (True, False)) == "tag:yaml.org,2002:str"
        for version in ((1, 1), (1, 2))
    )


@lru_cache(maxsize=2)
def _resolver(version: tuple[int, int]) -> VersionedResolver:
    return VersionedResolver(version=version)
