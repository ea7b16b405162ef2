"""`autodeploy deploy`: pin an image's digest in <app>/<env>/image.yaml, locally or through a pull request."""

from __future__ import annotations

import argparse
import os
import re
from collections.abc import Sequence

from autodeploy import pipeline, validate
from autodeploy.commands import common
from autodeploy.errors import InputError
from autodeploy.imageref import ImageRef, parse
from autodeploy.pipeline import Outcome, Provenance
from autodeploy.plan import DeployRequest, Target

_REPO_URL_RE = re.compile(r"(?:https?://[^/]+/|git@[^:]+:)([^/]+/[^/]+?)(?:\.git)?/?")
_TARGET_KEYS = {"app", "env", "image", "tag", "digest"}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    common.add_location_arguments(parser, several=True)
    parser.add_argument(
        "--targets",
        metavar="FILE",
        help="a YAML file listing targets (app, env, and optionally image, tag, digest) to deploy in one PR",
    )
    what = parser.add_argument_group("what")
    what.add_argument("--image", help="the image without its tag, e.g. harbor.example.com/team/my-api")
    what.add_argument("--tag", help="the tag to deploy (a full IMAGE:TAG reference works too)")
    what.add_argument(
        "--digest", help="the manifest digest (sha256:...); resolved from the registry when omitted"
    )
    what.add_argument("--commit", help="the source commit the image was built from (default: $GITHUB_SHA)")
    what.add_argument(
        "--source-repo",
        help="OWNER/NAME of the repository the image is built from (default: $GITHUB_REPOSITORY)",
    )
    guard = parser.add_argument_group("downgrade guard")
    guard.add_argument(
        "--allow-downgrade",
        action="store_true",
        help="deploy even when the environment runs an image built from a newer commit",
    )
    guard.add_argument(
        "--source-dir",
        metavar="DIR",
        help="a clone of the source repository to compare commits in (default: the current directory "
        "when it is one; with --gitops-repo, GitHub's compare API otherwise)",
    )
    common.add_write_arguments(parser)


def run(args: argparse.Namespace) -> int:
    common.print_outcome(execute(args), json_output=args.json)
    return 0


def execute(args: argparse.Namespace) -> Outcome:
    """Everything `deploy` does but printing; the Action's entrypoint calls this too."""
    common.check_location(args)
    targets = build_targets(args)
    needs_registry = args.commit_from_image or any(not t.digest for t in targets)
    images = common.image_source(args) if needs_registry else None
    resolved, provenance = pipeline.resolve_targets(targets, images, with_labels=args.commit_from_image)
    request = build_request(args, resolved, provenance)
    history = None if args.allow_downgrade else common.source_history(args)
    return pipeline.deploy(request, common.open_repo(args), history=history, dry_run=args.dry_run)


def build_targets(args: argparse.Namespace) -> tuple[Target, ...]:
    default_image = image_ref(args.image, args.tag) if (args.image or args.tag) else None
    digest = validate.digest(args.digest) if args.digest else None
    targets: list[Target] = []
    if args.targets:
        targets.extend(_targets_file(args.targets, default_image, digest))
    if args.app or args.env:
        if not (args.app and args.env):
            raise InputError("give both --app and --env (each may be repeated)")
        if default_image is None:
            raise InputError("give --image and --tag (or --tag IMAGE:TAG) to say what to deploy")
        targets.extend(Target(app, env, default_image, digest) for app in args.app for env in args.env)
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


def _targets_file(path: str, default_image: ImageRef | None, digest: str | None) -> list[Target]:
    from ruamel.yaml import YAML
    from ruamel.yaml.error import YAMLError

    try:
        with open(path, encoding="utf-8") as handle:
            data = YAML(typ="safe").load(handle)
    except OSError as exc:
        raise InputError(f"cannot read --targets {path}: {exc.strerror}") from exc
    except YAMLError as exc:
        raise InputError(f"--targets {path} is not valid YAML: {str(exc).splitlines()[0]}") from exc
    items = data.get("targets") if isinstance(data, dict) else data
    if not isinstance(items, list) or not items:
        raise InputError(f"--targets {path} must hold a list of targets (app, env, image, tag, digest)")
    targets = []
    for number, item in enumerate(items, 1):
        where = f"--targets {path}: target {number}"
        if not isinstance(item, dict) or not all(isinstance(v, str) for v in item.values()):
            raise InputError(f"{where} must be a mapping of strings")
        if set(item) - _TARGET_KEYS or not {"app", "env"} <= set(item):
            raise InputError(f"{where} needs app and env, and knows only {', '.join(sorted(_TARGET_KEYS))}")
        image = default_image
        if "image" in item or "tag" in item:
            name = item.get("image") or (default_image.name if default_image else None)
            image = image_ref(name, item.get("tag") or (default_image.tag if default_image else None))
        if image is None:
            raise InputError(f"{where} has no image, and there is no --image/--tag to fall back on")
        targets.append(
            Target(
                item["app"],
                item["env"],
                image,
                validate.digest(item["digest"]) if "digest" in item else digest,
            )
        )
    return targets


def build_request(
    args: argparse.Namespace, targets: Sequence[Target], provenance: dict[str, Provenance]
) -> DeployRequest:
    commit = args.commit or os.environ.get("GITHUB_SHA")
    source_repo = args.source_repo or os.environ.get("GITHUB_REPOSITORY")
    if args.commit_from_image:
        commit, source_repo = from_labels(provenance, args.commit, args.source_repo, source_repo)
    if not commit:
        raise InputError("give --commit (or set GITHUB_SHA): the source commit the image was built from")
    if not source_repo:
        raise InputError("give --source-repo OWNER/NAME (or set GITHUB_REPOSITORY)")
    return DeployRequest(
        targets=tuple(targets),
        commit=validate.commit(commit),
        source_repo=validate.source_repo(source_repo),
        settings=common.settings(args),
        allow_downgrade=args.allow_downgrade,
    )


def from_labels(
    provenance: dict[str, Provenance], commit: str | None, source_repo: str | None, fallback_repo: str | None
) -> tuple[str | None, str | None]:
    """The commit and source repo the images' labels name, where the user did not name them."""
    if commit is None:
        revisions = {p.revision for p in provenance.values()}
        if None in revisions or len(revisions) != 1:
            raise InputError(
                "--commit-from-image: the images do not carry one org.opencontainers.image.revision "
                "label between them; pass --commit"
            )
        commit = revisions.pop()
    if source_repo is None:
        sources = {p.source for p in provenance.values() if p.source}
        match = _REPO_URL_RE.fullmatch(sources.pop()) if len(sources) == 1 else None
        source_repo = match.group(1) if match else fallback_repo
    return commit, source_repo
