"""The commands: typed options in, typed results out. Each opens its adapters once and runs the
pipeline; printing is the entrypoints' (through `render`)."""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING

from autodeploy import pipeline
from autodeploy.adapters import RegistryImages, open_adapters
from autodeploy.options import DeployOptions, HistoryOptions, ResolveOptions, RollbackOptions
from autodeploy.registry.access import RegistryOptions
from autodeploy.retry import Deadline

if TYPE_CHECKING:
    from autodeploy.deploys import History
    from autodeploy.pipeline import Outcome
    from autodeploy.registry import Resolved


def deploy(options: DeployOptions) -> Outcome:
    write = options.write
    adapters = open_adapters(
        options.location,
        write.registry,
        pull=write.pull,
        guard=not options.allow_downgrade,
        source_dir=options.source_dir,
        deadline=_deadline(options.deadline),
    )
    try:
        return pipeline.deploy_images(options, adapters)
    finally:
        adapters.close()


def rollback(options: RollbackOptions) -> Outcome:
    write = options.write
    adapters = open_adapters(
        options.location, write.registry, pull=write.pull, deadline=_deadline(options.deadline)
    )
    try:
        return pipeline.roll_back(options, adapters)
    finally:
        adapters.close()


def history(options: HistoryOptions) -> History:
    from autodeploy.deploys import History

    adapters = open_adapters(options.location, RegistryOptions(), deadline=_deadline(options.deadline))
    try:
        ran = tuple(pipeline.read_history(adapters.files, options.path, limit=options.limit))
        return History(ran, adapters.files.pending(options.path))
    finally:
        adapters.close()


def resolve(options: ResolveOptions) -> tuple[Resolved, ...]:
    """One registry lookup per reference: nothing to plan, so no pipeline."""
    images = RegistryImages(replace(options.registry, deadline=_deadline(options.deadline)))
    return tuple(images.lookup(ref, with_labels=options.with_labels) for ref in options.images)


def _deadline(seconds: float) -> Deadline:
    """The command's deadline starts when the command does, and every adapter keeps to it."""
    return Deadline.after(seconds, "--deadline")
