"""The DeployRequest a command's options make, once its digests are known. Pure.

A deploy records the commit and source repository the user named, else what the image's labels
say (--commit-from-image), else the workflow's (GITHUB_SHA, GITHUB_REPOSITORY). A rollback is a
deploy request too: the version it goes back to, pinned by the digest that ran.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from autodeploy import validate
from autodeploy.errors import InputError
from autodeploy.options import DeployOptions, PromoteOptions, RollbackOptions
from autodeploy.plan import DeployRequest, Target

if TYPE_CHECKING:
    from autodeploy.deploys import Deploy

_REPO_URL_RE = re.compile(r"(?:https?://[^/]+/|git@[^:]+:)([^/]+/[^/]+?)(?:\.git)?/?")


@dataclass(frozen=True)
class Provenance:
    """What an image's labels say about where it was built from."""

    revision: str | None = None  # org.opencontainers.image.revision
    source: str | None = None  # org.opencontainers.image.source


def for_deploy(
    options: DeployOptions, targets: Sequence[Target], provenance: Mapping[str, Provenance]
) -> DeployRequest:
    commit = options.commit or (None if options.commit_from_image else options.workflow_commit)
    source_repo = options.source_repo or options.workflow_repo
    if options.commit_from_image:
        commit, source_repo = from_labels(provenance, options.commit, options.source_repo, source_repo)
    if not commit:
        raise InputError("give --commit (or set GITHUB_SHA): the source commit the image was built from")
    if not source_repo:
        raise InputError("give --source-repo OWNER/NAME (or set GITHUB_REPOSITORY)")
    return DeployRequest(
        targets=tuple(targets),
        commit=validate.commit(commit),
        source_repo=validate.source_repo(source_repo),
        settings=options.write.settings,
        allow_downgrade=options.allow_downgrade,
    )


def for_rollback(
    options: RollbackOptions,
    chosen: Deploy,
    digest: str,
    provenance: Provenance,
    *,
    notes: tuple[str, ...] = (),
) -> DeployRequest:
    recorded = chosen.block
    assert recorded.tag is not None
    commit, source_repo = recorded.commit, recorded.source_repo
    label = f"{options.app}/{options.env}"
    if options.commit_from_image or not commit:
        if not options.commit_from_image and provenance == Provenance():
            raise InputError(
                f"the deploy of {recorded.tag} recorded no source commit; pass --commit-from-image to take "
                "it from the image's labels"
            )
        commit, source_repo = from_labels({label: provenance}, None, source_repo, source_repo)
    source_repo = source_repo or options.workflow_repo
    if not commit or not source_repo:
        raise InputError(
            f"the deploy of {recorded.tag} recorded no source commit or repository; pass --commit-from-image"
        )
    return DeployRequest(
        targets=(Target(options.app, options.env, options.image.with_tag(recorded.tag), digest),),
        commit=validate.commit(commit),
        source_repo=validate.source_repo(source_repo),
        settings=options.write.settings,
        allow_downgrade=True,
        rollback=True,
        reason=options.reason,
        notes=(_reached(chosen), *notes, *([f"run: {options.run_url}"] if options.run_url else [])),
    )


def _reached(chosen: Deploy) -> str:
    by = f" through #{chosen.pull_request}" if chosen.pull_request else ""
    merged = f", merged by {chosen.merged_by}" if chosen.merged_by else ""
    when = chosen.date or "?"
    return f"{chosen.block.tag} reached the base on {when}{by}{merged} ({chosen.gitops_commit[:12]})"


def from_labels(
    provenance: Mapping[str, Provenance],
    commit: str | None,
    source_repo: str | None,
    fallback_repo: str | None,
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


def for_promotion(options: PromoteOptions, targets: Sequence[Target]) -> DeployRequest:
    """Each target carries its own app's commit and source repository; the request's are the first's
    (they name nothing else)."""
    first = targets[0]
    assert first.commit is not None and first.source_repo is not None
    notes = (f"run: {options.run_url}",) if options.run_url else ()
    return DeployRequest(
        targets=tuple(targets),
        commit=validate.commit(first.commit),
        source_repo=validate.source_repo(first.source_repo),
        settings=options.write.settings,
        allow_downgrade=options.allow_downgrade,
        notes=notes,
    )
