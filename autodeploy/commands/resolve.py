"""`autodeploy resolve IMAGE:TAG ...`: print the digest each tag points at, one a line.

With --json, a list of objects with the image, digest, media type, platforms and labels (which
costs a GET of the manifest, and of an image's config blob, instead of one HEAD).
"""

from __future__ import annotations

import argparse
import json

from autodeploy import imageref, registry, report
from autodeploy.commands import registry_args
from autodeploy.errors import InputError


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "images",
        nargs="+",
        metavar="IMAGE:TAG",
        help="image references such as ghcr.io/org/app:1.2.3 or my-api:dev-843632a (Docker Hub)",
    )
    parser.add_argument(
        "--json",
        action="store_true",
        help="print a JSON list of {image, digest, media_type, platforms, labels}",
    )
    registry_args.add_arguments(parser, commit_from_image=False)


def run(args: argparse.Namespace) -> int:
    refs = [imageref.parse(text) for text in args.images]
    for text, ref in zip(args.images, refs, strict=True):
        if not ref.tag and not ref.digest:
            raise InputError(f"image reference {text!r} has no tag: give IMAGE:TAG")
    options = registry_args.options_from_args(args)

    results = [registry.resolve(ref, options, with_labels=args.json) for ref in refs]
    if args.json:
        report.out(
            json.dumps(
                [
                    {
                        "image": str(ref),
                        "digest": found.digest,
                        "media_type": found.media_type,
                        "platforms": list(found.platforms),
                        "labels": dict(found.labels),
                    }
                    for ref, found in zip(refs, results, strict=True)
                ],
                indent=2,
            )
        )
    else:
        report.out("".join(f"{found.digest}\n" for found in results))
    return 0
