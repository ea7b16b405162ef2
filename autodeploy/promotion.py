"""A promotion: copy what one environment runs (tag, digest, source repository and commit, as the
base branch holds it) into another, app by app, gated on the source version's health. Pure.

    candidates(matrix, ...)    which apps to promote, and which already run the source's build
    health_of(...)             the gate's verdict from a Deployment's state and Flux's statuses
    targets(...)               the deploy targets that copy each source block

Health: the version is healthy when its GitHub Deployment in the source environment has the latest
status `success`, or else when Flux's statuses say so: the newest of the GitOps commits that held
it on the base (the one that brought it, and the first-parent commits after it) on which the
environment's `--flux-context` globs reach a verdict decides. A failure of either, where nothing
says success, fails it; where neither says anything it is unknown.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol

from autodeploy import flux
from autodeploy.errors import InputError
from autodeploy.imageref import ImageRef, parse
from autodeploy.matrix import Cell, Matrix
from autodeploy.plan import Target


class Health(enum.Enum):
    HEALTHY = "healthy"
    FAILED = "failed"
    UNKNOWN = "unknown"


@dataclass(frozen=True)
class Verdict:
    health: Health
    reason: str  # for people: "its Deployment in staging is success", "Flux: kustomization/... failed"


@dataclass(frozen=True)
class Candidate:
    app: str
    source: Cell  # has a block
    target: Cell | None  # None: the target environment has no image file yet

    @property
    def since(self) -> str | None:
        return self.source.arrival.date if self.source.arrival else None


class HealthFacts(Protocol):
    """What the gate reads: a Deployment's state in the application repository, and Flux's statuses
    on the GitOps commits that held the version."""

    def deployment_states(
        self, asked: Sequence[Candidate], *, env: str, environment: str
    ) -> Mapping[str, str | None]:
        """Each app's Deployment's latest state for its source commit in `env` (None: none), in its
        source repository, in the Deployment environment `environment` names ({app}, {env})."""
        ...

    def flux_statuses(
        self, asked: Sequence[Candidate]
    ) -> Mapping[str, tuple[tuple[str, tuple[flux.CommitStatus, ...]], ...]]:
        """For each app: the base's first-parent commits from its head back to the one that brought
        the source version, newest first, each with its commit statuses."""
        ...


def candidates(
    matrix: Matrix, *, apps: Sequence[str], every: bool, source_env: str, target_env: str
) -> tuple[tuple[Candidate, ...], tuple[Candidate, ...], tuple[str, ...]]:
    """(the apps to promote, those whose target already runs the source's build, why others cannot
    be promoted). A named app that cannot be is an error; with `every`, the apps that have both
    environments' files are looked at, and one that cannot be promoted is left out with a note."""
    chosen, same, notes = [], [], []
    for app in apps if not every else matrix.apps:
        source, target = matrix.cell(app, source_env), matrix.cell(app, target_env)
        if every and target is None:
            continue  # an app that has never had the target environment is not created by --all
        problem = _unpromotable(app, source, source_env)
        if problem is not None:
            if not every:
                raise InputError(problem)
            notes.append(problem)
            continue
        assert source is not None
        candidate = Candidate(app, source, target)
        if target is not None and target.block is not None and _key(target) == _key(source):
            same.append(candidate)
        else:
            chosen.append(candidate)
    return tuple(chosen), tuple(same), tuple(notes)


def _unpromotable(app: str, source: Cell | None, source_env: str) -> str | None:
    label = f"{app}/{source_env}"
    if source is None:
        return f"{label} has no image file to promote from"
    block = source.block
    if block is None:
        return f"{label} has nothing to promote: {source.problem or 'its image file has no generated block'}"
    if not (block.digest and block.commit and block.source_repo):
        return (
            f"{label} runs {block.tag} without a recorded digest, commit or source repository (a file "
            "the old action wrote): deploy it there with autodeploy once, then promote it"
        )
    return None


def _key(cell: Cell) -> tuple[str | None, str | None, str | None]:
    block = cell.block
    assert block is not None
    return block.tag, block.digest, block.commit


def health_of(
    deployment_state: str | None,
    history: Sequence[tuple[str, Sequence[flux.CommitStatus]]],
    globs: Sequence[str],
    *,
    env: str,
) -> Verdict:
    """The gate's verdict for one app. `history` is newest first."""
    if deployment_state == "success":
        return Verdict(Health.HEALTHY, f"its GitHub Deployment in {env} is success")
    for commit, statuses in history:
        judged = flux.judge(statuses, globs)
        if judged.rollout is flux.Rollout.SUCCESS:
            return Verdict(Health.HEALTHY, f"Flux reported {judged.context} success on {commit[:12]}")
        if judged.rollout is flux.Rollout.FAILURE:
            said = f": {judged.description}" if judged.description else ""
            return Verdict(Health.FAILED, f"Flux reported {judged.context} failed on {commit[:12]}{said}")
    if deployment_state in ("failure", "error"):
        return Verdict(Health.FAILED, f"its GitHub Deployment in {env} is {deployment_state}")
    return Verdict(
        Health.UNKNOWN,
        f"no GitHub Deployment in {env} with a success, and no Flux status matching "
        f"{', '.join(globs)} on the GitOps commits that hold it",
    )


def refusal(candidate: Candidate, verdict: Verdict, source_env: str) -> str:
    """Why a version is not promoted, with what to do."""
    block = candidate.source.block
    assert block is not None
    what = f"{candidate.app}/{source_env} runs {block.tag} ({(block.digest or '')[:19]})"
    if verdict.health is Health.FAILED:
        return f"{what}, which failed: {verdict.reason}; promote a version that succeeded"
    return (
        f"{what}, whose health is unknown: {verdict.reason}; pass --no-require-healthy to promote it anyway"
    )


def targets(
    chosen: Sequence[Candidate], *, source_env: str, target_env: str, image: str | None
) -> tuple[Target, ...]:
    """Deploy targets that copy each source block into the target environment; `image` (with
    `{app}`) names the images for a registry check, else a placeholder stands in (no registry is
    asked for a promotion)."""
    out = []
    for candidate in chosen:
        block = candidate.source.block
        assert block is not None and block.tag is not None
        ref = image_for(image, candidate.app) if image else ImageRef("", candidate.app)
        since = f", where it has run since {candidate.since}" if candidate.since else ""
        arrival = candidate.source.arrival
        through = f" (GitOps commit {arrival.commit[:12]})" if arrival else ""
        out.append(
            Target(
                app=candidate.app,
                env=target_env,
                image=ref.with_tag(block.tag),
                digest=block.digest,
                commit=block.commit,
                source_repo=block.source_repo,
                promoted_from=f"{source_env}{since}{through}",
            )
        )
    return tuple(out)


def image_for(template: str, app: str) -> ImageRef:
    ref = parse(template.replace("{app}", app))
    if ref.tag or ref.digest:
        raise InputError(f"--image {template} carries a tag or digest: give the image alone")
    return ref
