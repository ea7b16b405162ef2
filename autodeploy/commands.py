"""The commands: typed options in, typed results out. Each opens its adapters once and runs the
pipeline; printing is the entrypoints' (through `render`)."""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING

from autodeploy import pipeline
from autodeploy.adapters import RegistryImages, open_adapters
from autodeploy.options import (
    DeployOptions,
    HistoryOptions,
    PromoteOptions,
    ResolveOptions,
    RollbackOptions,
    StatusOptions,
)
from autodeploy.registry.access import RegistryOptions
from autodeploy.retry import Deadline

if TYPE_CHECKING:
    from autodeploy.deploys import History
    from autodeploy.matrix import Matrix
    from autodeploy.pipeline import Adapters, Outcome, Promoted
    from autodeploy.registry import Resolved


def deploy(options: DeployOptions) -> Outcome:
    adapters = _writing(options)
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


def promote(options: PromoteOptions) -> Promoted:
    adapters = _writing(options)
    try:
        return pipeline.promote(options, adapters)
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


def status(options: StatusOptions) -> Matrix:
    from autodeploy import matrix

    adapters = open_adapters(options.location, RegistryOptions(), deadline=_deadline(options.deadline))
    try:
        assert adapters.fleet is not None
        paths = None
        if options.apps and options.envs:  # every file named: nothing to list
            paths = matrix.paths_for(options.path_template, options.apps, options.envs)
        read = adapters.fleet.read_fleet(options.path_template, paths=paths)
        return matrix.build(
            read, options.path_template, apps=options.apps, envs=options.envs, order=options.order
        )
    finally:
        adapters.close()


def resolve(options: ResolveOptions) -> tuple[Resolved, ...]:
    """One registry lookup per reference: nothing to plan, so no pipeline."""
    images = RegistryImages(replace(options.registry, deadline=_deadline(options.deadline)))
    return tuple(images.lookup(ref, with_labels=options.with_labels) for ref in options.images)


def _writing(options: DeployOptions | PromoteOptions) -> Adapters:
    """The adapters of a command that writes deploys with the downgrade guard."""
    write = options.write
    return open_adapters(
        options.location,
        write.registry,
        pull=write.pull,
        guard=not options.allow_downgrade,
        source_dir=options.source_dir,
        deadline=_deadline(options.deadline),
    )


def _deadline(seconds: float) -> Deadline:
    """The command's deadline starts when the command does, and every adapter keeps to it."""
    return Deadline.after(seconds, "--deadline")
