"""Pick the one tag to deploy out of what a build step hands the Action.

Pure. The `tag` input may be a bare tag (`1.2.3`), a full reference (`ghcr.io/team/app:1.2.3`), or
the `tags` output of docker/metadata-action: references separated by newlines (its default) or
commas (`sep-tags: ","`). Among the entries that name `image` (all of them when `image` is not
given and they name one image), the first whose tag is not `latest` wins; `latest` only when it
is all there is. A floating tag is harmless here because the digest is pinned next to it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from autodeploy import validate
from autodeploy.errors import InputError
from autodeploy.imageref import ImageRef, parse

_SEPARATORS = re.compile(r"[\s,]+")


@dataclass(frozen=True)
class Choice:
    tag: str
    image: ImageRef | None  # None: the input held bare tags only
    candidates: int  # how many entries were left to choose from

    @property
    def reference(self) -> str:
        """What to hand `--tag`: IMAGE:TAG when the input named the image, else the bare tag."""
        return f"{self.image.name}:{self.tag}" if self.image else self.tag


def entries(text: str) -> list[str]:
    return [item for item in _SEPARATORS.split(text) if item]


def choose(text: str, image: str | None = None) -> Choice:
    items = entries(text)
    if not items:
        raise InputError("the tag input is empty: pass the tag, IMAGE:TAG, or metadata-action's tags output")
    wanted = parse(image) if image else None
    if wanted is not None and wanted.tag is not None:
        raise InputError(f"the image input {image!r} has a tag: pass the tag as the tag input")
    refs = [_entry(item) for item in items]
    names = {ref.name for ref in refs if ref is not None}
    matching: list[tuple[ImageRef | None, str]] = []
    for ref, item in zip(refs, items, strict=True):
        if ref is None:
            matching.append((None, item))
        elif wanted is None or ref.name == wanted.name:
            assert ref.tag is not None
            matching.append((ref, ref.tag))
    if wanted is None and len(names) > 1:
        raise InputError(
            f"the tags name several images ({', '.join(sorted(names))}): set the image input to say which one"
        )
    if not matching:
        raise InputError(
            f"none of the tags names the image {wanted.name if wanted else image}; "
            f"they name {', '.join(sorted(names))}"
        )
    ref, tag = next(((r, t) for r, t in matching if t != "latest"), matching[0])
    return Choice(tag=tag, image=ref, candidates=len(matching))


def _entry(item: str) -> ImageRef | None:
    """A reference as ImageRef, or None for a bare tag."""
    if "/" not in item and ":" not in item and "@" not in item:
        validate.tag(item)
        return None
    ref = parse(item)
    if ref.tag is None:
        raise InputError(f"the tag input entry {item!r} names an image but no tag")
    if ref.digest is not None:
        raise InputError(f"the tag input entry {item!r} carries a digest: pass that as the digest input")
    return ref
