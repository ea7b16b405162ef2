"""The commands: typed options in, typed results out. Each opens its adapters once and runs the
pipeline; printing is the entrypoints' (through `render`)."""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING

from autodeploy import pipeline, report
from autodeploy.adapters import RegistryImages, open_adapters
from autodeploy.options import (
    DeployOptions,
    HistoryOptions,
    PromoteOptions,
    ResolveOptions,
    RollbackOptions,
    StatusOptions,
    WaitCommandOptions,
    WaitOptions,
)
from autodeploy.registry.access import RegistryOptions
from autodeploy.retry import Deadline

if TYPE_CHECKING:
    from collections.abc import Sequence

    from autodeploy.deploys import History
    from autodeploy.matrix import Matrix
    from autodeploy.options import DeploymentOptions
    from autodeploy.pipeline import Adapters, Outcome, Promoted
    from autodeploy.registry import Resolved
    from autodeploy.rollout import WaitTarget
    from autodeploy.waiting import Tracker, WaitOutcome


def deploy(options: DeployOptions) -> Outcome:
    adapters = _writing(options, options.wait)
    try:
        outcome = pipeline.deploy_images(options, adapters)
        return outcome if options.wait is None else pipeline.wait_after(outcome, options.wait, adapters)
    finally:
        adapters.close()


def rollback(options: RollbackOptions) -> Outcome:
    write = options.write
    adapters = open_adapters(
        options.location,
        write.registry,
        pull=write.pull,
        deadline=_deadline(options.deadline, options.wait),
        waits=options.wait is not None,
    )
    try:
        outcome = pipeline.roll_back(options, adapters)
        return outcome if options.wait is None else pipeline.wait_after(outcome, options.wait, adapters)
    finally:
        adapters.close()


def wait(options: WaitCommandOptions) -> WaitOutcome:
    """`autodeploy wait`: for a pull request to merge and roll out, or for Flux's verdict on a merged
    GitOps commit and every deploy it brought (the image files it changed)."""
    from autodeploy import imagefile, waiting
    from autodeploy.errors import InputError
    from autodeploy.flux import context_globs
    from autodeploy.rollout import WaitTarget, path_matcher

    adapters = open_adapters(
        options.location, RegistryOptions(), deadline=_deadline(options.deadline, options.wait), waits=True
    )
    try:
        if adapters.watch is None:
            raise InputError("autodeploy wait needs --gitops-repo: Flux's statuses are read from GitHub")
        watch = adapters.watch()
        matcher = path_matcher(options.path_template)
        pull_url = None
        if options.gitops_commit is not None:
            head = options.gitops_commit
            base = options.since or watch.merged_parent(head)
        else:
            assert options.pull_request is not None
            pull, _ = watch.pull(options.pull_request)
            pull_url = pull.url
            if pull.merged and pull.merge_commit:
                base, head = watch.merged_parent(pull.merge_commit), pull.merge_commit
            else:
                base, head = pull.base_ref, pull.head_sha

        def wanted(path: str) -> bool:
            found = matcher(path)
            return (
                found is not None and (options.app in (None, found[0])) and (options.env in (None, found[1]))
            )

        targets = []
        for path, text in watch.changed_files(base, head, wanted):
            block = imagefile.read_block(text, path=path)
            app, env = matcher(path) or ("", "")
            if block is None or not block.digest:
                continue
            targets.append(
                WaitTarget(
                    app=app,
                    env=env,
                    path=path,
                    digest=block.digest,
                    globs=context_globs(options.wait.flux_contexts, app=app, env=env),
                    tag=block.tag or "",
                    source_commit=block.commit,
                    source_repo=block.source_repo,
                )
            )
        if not targets:
            what = f"commit {head[:12]}" if options.gitops_commit else f"pull request #{options.pull_request}"
            report.info(f"{what} changed no image file ({options.path_template}): nothing to wait for")
            return waiting.WaitOutcome.not_waited(f"{what} deploys nothing")
        for target in targets:
            report.info(f"waiting for {target.label}: {target.tag} ({target.digest}) in {target.path}")
        tracker = _found_deployments(options.wait.deployment, targets, adapters)
        return waiting.wait(
            watch,
            targets,
            options.wait,
            pull=options.pull_request,
            pull_url=pull_url,
            merged_commit=options.gitops_commit,
            tracker=tracker,
        )
    finally:
        adapters.close()


def promote(options: PromoteOptions) -> Promoted:
    adapters = _writing(options, options.wait)
    try:
        promoted = pipeline.promote(options, adapters)
        if options.wait is None or promoted.outcome is None:
            return promoted
        return replace(promoted, outcome=pipeline.wait_after(promoted.outcome, options.wait, adapters))
    finally:
        adapters.close()


def _found_deployments(
    options: DeploymentOptions | None, targets: Sequence[WaitTarget], adapters: Adapters
) -> Tracker | None:
    """The deployments earlier runs made of these targets (by source commit and environment)."""
    from autodeploy import deployment
    from autodeploy.waiting import Tracker

    opener = adapters.deployments
    if options is None or opener is None:
        return None
    records = []
    for t in targets:
        if not (t.source_repo and t.source_commit):
            continue
        name = deployment.environment_name(options.environment_template, app=t.app, env=t.env)
        records.append(
            deployment.Record(
                repo=t.source_repo,
                sha=t.source_commit,
                app=t.app,
                env=t.env,
                environment=name,
                production=deployment.is_production(options.production, environment=name, env=t.env),
                payload={},
                description="",
                environment_url=deployment.environment_url(options.environment_url, app=t.app, env=t.env),
            )
        )
    tracker = Tracker(lambda repo: opener(repo, options.credentials), records)
    tracker.found()
    return tracker


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


def _writing(options: DeployOptions | PromoteOptions, wait: WaitOptions | None = None) -> Adapters:
    """The adapters of a command that writes deploys with the downgrade guard."""
    write = options.write
    return open_adapters(
        options.location,
        write.registry,
        pull=write.pull,
        guard=not options.allow_downgrade,
        source_dir=options.source_dir,
        deadline=_deadline(options.deadline, wait),
        waits=wait is not None or isinstance(options, PromoteOptions),  # the gate reads statuses too
    )


def _deadline(seconds: float, wait: WaitOptions | None = None) -> Deadline:
    """The command's deadline starts when the command does, and every adapter keeps to it; a wait
    has --wait-timeout on top."""
    if wait is not None:
        return Deadline.after(seconds + wait.timeout, "--deadline and --wait-timeout")
    return Deadline.after(seconds, "--deadline")
