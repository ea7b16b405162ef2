"""The targets of a deploy, from --app/--env with --image/--tag, and from a --targets file.
Both entrypoints build them here; nothing is resolved yet (a target's digest is the one given)."""

from __future__ import annotations

import os
import stat
from collections.abc import Sequence

from autodeploy import validate
from autodeploy.errors import InputError
from autodeploy.imagefile import check_nesting
from autodeploy.imageref import ImageRef, parse
from autodeploy.plan import Target

_KEYS = {"app", "env", "image", "tag", "digest"}


def build(
    *,
    apps: Sequence[str],
    envs: Sequence[str],
    image: str | None,
    tag: str | None,
    digest: str | None,
    targets_file: str | None,
) -> tuple[Target, ...]:
    default_image = image_ref(image, tag) if (image or tag) else None
    default_digest = validate.digest(digest) if digest else None
    targets: list[Target] = []
    if targets_file:
        targets.extend(_from_file(targets_file, default_image, default_digest))
    if apps or envs:
        if not (apps and envs):
            raise InputError("give both --app and --env (each may be repeated)")
        if default_image is None:
            raise InputError("give --image and --tag (or --tag IMAGE:TAG) to say what to deploy")
        targets.extend(Target(app, env, default_image, default_digest) for app in apps for env in envs)
    if not targets:
        raise InputError("nothing to deploy: give --app and --env, or --targets FILE")
    return tuple(targets)


def image_ref(image: str | None, tag: str | None) -> ImageRef:
    """--image and --tag as one reference; --tag may carry the whole IMAGE:TAG, as today's action takes it."""
    tag_ref = parse(tag) if tag and ("/" in tag or ":" in tag) else None
    if tag_ref is not None:
        if image and parse(image).name != tag_ref.name:
            raise InputError(f"--tag {tag} names another image than --image {image}")
        if tag_ref.tag is None:
            raise InputError(f"--tag {tag} has no tag after the image name")
        return tag_ref
    if not image:
        raise InputError("give --image (the tag alone does not say which image)")
    ref = parse(image)
    if tag:
        if ref.tag and ref.tag != tag:
            raise InputError(f"--image {image} already has the tag {ref.tag}, not {tag}")
        ref = ref.with_tag(tag)
    if ref.tag is None:
        raise InputError(f"--image {image} has no tag: give --tag")
    return ref


def _from_file(path: str, default_image: ImageRef | None, digest: str | None) -> list[Target]:
    items = _load(path)
    targets = []
    for number, item in enumerate(items, 1):
        where = f"--targets {path}: target {number}"
        if not isinstance(item, dict) or not all(isinstance(v, str) for v in item.values()):
            raise InputError(f"{where} must be a mapping of strings")
        if set(item) - _KEYS or not {"app", "env"} <= set(item):
            raise InputError(f"{where} needs app and env, and knows only {', '.join(sorted(_KEYS))}")
        image = default_image
        if "image" in item or "tag" in item:
            name = item.get("image") or (default_image.name if default_image else None)
            image = image_ref(name, item.get("tag") or (default_image.tag if default_image else None))
        if image is None:
            raise InputError(f"{where} has no image, and there is no --image/--tag to fall back on")
        given = validate.digest(item["digest"]) if "digest" in item else digest
        targets.append(Target(item["app"], item["env"], image, given))
    return targets


def _load(path: str) -> list[object]:
    from ruamel.yaml import YAML
    from ruamel.yaml.error import YAMLError

    try:
        if not stat.S_ISREG(os.stat(path).st_mode):
            raise InputError(f"--targets {path} is not a regular file")
        with open(path, "rb") as handle:
            text = handle.read().decode("utf-8")
    except OSError as exc:
        raise InputError(f"cannot read --targets {path}: {exc.strerror}") from exc
    except UnicodeDecodeError:
        raise InputError(f"--targets {path} is not UTF-8 text") from None
    check_nesting(text, path=f"--targets {path}")
    try:
        data = YAML(typ="safe").load(text)
    except YAMLError as exc:
        raise InputError(f"--targets {path} is not valid YAML: {str(exc).splitlines()[0]}") from exc
    items = data.get("targets") if isinstance(data, dict) else data
    if not isinstance(items, list) or not items:
        raise InputError(f"--targets {path} must hold a list of targets (app, env, image, tag, digest)")
    return items
