"""resolve -> read -> plan -> apply: the one pipeline every way of running autodeploy goes through.

    deploy_images(options, adapters)   resolve the digests, then `deploy`
    roll_back(options, adapters)       choose from history, check the digest, then `deploy`
    promote(options, adapters)         what the source runs, gated on its health, then `deploy`
    deploy(request, repo)              read -> plan -> apply, re-planned when a race is lost
    wait_after(outcome, wait, adapters) then wait for the pull request to merge and Flux's verdict
    read_history(files, path)          the deploys a file's history holds

The pipeline is the only caller of adapters. A GitOps repo adapter reads a consistent snapshot
and applies a plan with compare-and-swap; when another run wins the race (ConflictError), the
pipeline reads again and plans again, a bounded number of times.
"""

from __future__ import annotations

import posixpath
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from functools import partial
from itertools import islice
from typing import TYPE_CHECKING, Protocol

from autodeploy import imagefile, report, request
from autodeploy.errors import (
    AutodeployError,
    ConflictError,
    InputError,
    RegistryError,
    StaleSnapshot,
    UnhealthyError,
)
from autodeploy.imageref import ImageRef
from autodeploy.options import DeployOptions, RollbackOptions
from autodeploy.overlap import overlapped
from autodeploy.plan import DeployPlan, DeployRequest, Facts, Relation, Target, plan_deploy
from autodeploy.request import Provenance
from autodeploy.retry import Deadline, backoff, seconds_text

if TYPE_CHECKING:
    from autodeploy.deploys import Deploy, FileHistory
    from autodeploy.github.credentials import Credentials
    from autodeploy.matrix import Fleet
    from autodeploy.options import PromoteOptions, WaitOptions
    from autodeploy.promotion import Candidate, HealthFacts, Verdict
    from autodeploy.waiting import DeploymentLog, WaitOutcome, WatchSource

MAX_ATTEMPTS = 6


@dataclass(frozen=True)
class Snapshot:
    """Files of the GitOps repo as read at one revision; None marks a missing file."""

    files: Mapping[str, str | None]
    revision: str | None = None  # the commit read, for compare-and-swap; None for a plain directory
    on_branch: bool = False  # read from the deploy branch (True) or from the base branch
    listings: Mapping[str, tuple[str, ...] | None] = field(default_factory=dict)
    where: str = ""  # for people, in a dry run: "branch staging-release @ 1a2b3c4", "directory ./gitops"


@dataclass(frozen=True)
class Applied:
    """What applying a plan did."""

    commit: str | None = None
    branch: str | None = None
    pr_number: int | None = None
    pr_url: str | None = None
    pr_created: bool = False
    auto_merge: bool = False


@dataclass(frozen=True)
class Preview:
    """What a dry run would do: a line per write, and the pull request it would open or update."""

    lines: tuple[str, ...] = ()
    would: Applied | None = None  # pr_created: it would open one; pr_number: the one it would update


class GitopsRepo(Protocol):
    """Where image.yaml files live: a local directory, or a repository on GitHub."""

    @property
    def base(self) -> str | None:
        """The branch pull requests go into (None for a directory): never the deploy's branch."""
        ...

    def read(
        self, paths: Sequence[str], *, branch: str, at: Snapshot | None = None, exact: bool = False
    ) -> Snapshot:
        """Read `paths` from `branch` (or, when it does not exist, the base branch). With `at`, read
        more paths at the same revision and return `at` merged with them. An adapter may infer what
        it does not read, when the compare-and-swap of `apply` proves the inference; `exact` (a dry
        run, whose diff nothing checks) forbids that."""
        ...

    def list_dirs(self, paths: Sequence[str], snapshot: Snapshot) -> dict[str, tuple[str, ...] | None]:
        """For each of `paths`, the names of the directories inside it at the snapshot, or None when
        it does not exist."""
        ...

    def apply(self, plan: DeployPlan, request: DeployRequest, snapshot: Snapshot) -> Applied:
        """Write the plan's changes; raise ConflictError when the snapshot is no longer current."""
        ...

    def preview(self, plan: DeployPlan, request: DeployRequest, snapshot: Snapshot) -> Preview:
        """For a dry run: one line per write that `apply` would make (branch, commit, pull request)."""
        ...

    def settle(self, plan: DeployPlan, request: DeployRequest, snapshot: Snapshot) -> Applied | None:
        """Nothing to change: finish what an earlier run left undone (on GitHub, open the pull request
        of a run that committed and then failed), or return None."""
        ...


class SourceHistory(Protocol):
    """Answers whether one commit of the source repository is newer than another."""

    def relation(self, repo: str, old: str, new: str) -> Relation: ...


@dataclass(frozen=True)
class Outcome:
    plan: DeployPlan
    snapshot: Snapshot
    applied: Applied | None  # None: dry run, or nothing to change and nothing to finish
    dry_run: bool = False
    preview: tuple[str, ...] = ()  # dry run: what apply would have done
    would: Applied | None = None  # dry run: the pull request it would open or update
    waited: WaitOutcome | None = None  # with --wait: how the rollout ended

    @property
    def changed(self) -> bool:
        return bool(self.plan.changed) and not self.dry_run


class ImageSource(Protocol):
    """Where digests come from: a registry, or the local Docker daemon."""

    def resolve(self, image: ImageRef, *, with_labels: bool) -> tuple[str, Provenance]: ...


@dataclass(frozen=True)
class Adapters:
    """What one command talks to, opened once (one GitHub connection) and passed down."""

    repo: GitopsRepo
    images: ImageSource
    files: FileHistory
    source_history: SourceHistory | None = None  # the downgrade guard's; None: no guard
    deadline: Deadline | None = None  # the command's, which every adapter keeps to as well
    close: Callable[[], None] = field(default=lambda: None, compare=False)  # when the command ends
    fleet: Fleet | None = None  # every image file of the base at once (status, promote)
    health: HealthFacts | None = None  # the promotion gate's reads; None: no GitHub to ask
    # the wait's reads (GitHub only), and the application repository's deployments (repo -> them)
    watch: Callable[[], WatchSource] | None = field(default=None, compare=False)
    # the application repository's deployments: (repo, credentials) -> them
    deployments: Callable[[str, Credentials | None], DeploymentLog] | None = field(
        default=None, compare=False
    )
    gitops_repo: str | None = None  # OWNER/NAME on GitHub


def deploy_images(options: DeployOptions, adapters: Adapters) -> Outcome:
    """`deploy`: resolve what the user did not pin, then plan and apply."""
    needs_registry = options.commit_from_image or any(not t.digest for t in options.targets)
    with report.group("resolve the digests"):
        targets, provenance = resolve_targets(
            options.targets,
            adapters.images if needs_registry else None,
            with_labels=options.commit_from_image,
        )
    deploy_request = request.for_deploy(options, targets, provenance)
    history = None if options.allow_downgrade else adapters.source_history
    return deploy(
        deploy_request,
        adapters.repo,
        history=history,
        dry_run=options.write.dry_run,
        deadline=adapters.deadline,
    )


def roll_back(options: RollbackOptions, adapters: Adapters) -> Outcome:
    """`rollback`: the version to go back to, pinned by the digest that ran then, then plan and apply.

    A digest is immutable, so the digest recorded is what runs again; the registry is asked only
    whether it still holds that digest (one HEAD by digest) and where the tag points now (one HEAD),
    so that a tag pushed again since is reported rather than deployed. `allow_retag` deploys what
    the tag points at now instead; `registry_check=False` asks the registry nothing."""
    from autodeploy.deploys import choose

    label = f"{options.app}/{options.env}"
    path = DeployRequest.path_for(options.write.settings, options.app, options.env)
    chosen = choose(
        read_history(adapters.files, path, limit=options.limit),
        to=options.to,
        steps=options.steps,
        label=label,
    )
    recorded = chosen.block
    assert recorded.tag is not None
    image = options.image.with_tag(recorded.tag)
    notes: list[str] = []
    provenance = Provenance()
    if recorded.digest is None or options.allow_retag:
        digest, provenance = adapters.images.resolve(image, with_labels=options.commit_from_image)
        if recorded.digest is None:
            note = f"no digest was recorded when {label} ran {recorded.tag}; pinning what it points at now: "
            note += digest
        elif digest != recorded.digest:
            note = f"{image} was pushed again since it ran ({recorded.digest}); deploying what it points at "
            note += f"now: {digest}"
        else:
            note = ""
        if note:
            report.warn(note)
            notes.append(note)
    else:
        digest = recorded.digest
        if options.registry_check:
            try:
                _, provenance = adapters.images.resolve(
                    replace(image, digest=digest), with_labels=options.commit_from_image
                )
                now, _ = adapters.images.resolve(image, with_labels=False)
            except RegistryError as exc:
                raise RegistryError(
                    f"{exc}; to roll back to the digest that ran without asking the registry, pass "
                    "--no-registry-check"
                ) from exc
            if now != digest:
                note = (
                    f"{image} was pushed again since it ran: it points at {now} now; deploying the digest "
                    f"that ran, {digest}"
                )
                report.warn(note)
                notes.append(note)
        else:
            notes.append(
                "the registry was not asked whether it still holds this digest (--no-registry-check)"
            )
    rollback_request = request.for_rollback(options, chosen, digest, provenance, notes=tuple(notes))
    return deploy(
        rollback_request,
        adapters.repo,
        history=None,
        dry_run=options.write.dry_run,
        deadline=adapters.deadline,
    )


@dataclass(frozen=True)
class Promoted:
    """What `promote` did: the deploy's outcome (None when every app already ran the source's build)."""

    outcome: Outcome | None
    same: tuple[Candidate, ...] = ()  # already ran the source's build
    verdicts: Mapping[str, Verdict] = field(default_factory=dict)  # by app, when the gate ran


def promote(options: PromoteOptions, adapters: Adapters) -> Promoted:
    """`promote`: read both environments' files from the base, choose, check the source versions'
    health, then plan and apply the copy as any deploy (the downgrade guard included)."""
    from autodeploy import matrix, promotion

    source, target = options.source_env, options.target_env
    template = options.write.settings.path_template
    assert adapters.fleet is not None
    with report.group(f"read what runs in {source} and {target}"):
        paths = None if options.every else matrix.paths_for(template, options.apps, (source, target))
        grid = matrix.build(
            adapters.fleet.read_fleet(template, paths=paths),
            template,
            apps=options.apps,
            envs=(source, target),
            order=(source, target),
        )
    chosen, same, notes = promotion.candidates(
        grid, apps=options.apps, every=options.every, source_env=source, target_env=target
    )
    for note in notes:
        report.warn(f"not promoted: {note}")
    for candidate in same:
        block = candidate.source.block
        assert block is not None
        report.info(f"{candidate.app}/{target} already runs {block.tag} ({block.digest}): nothing to promote")
    if not chosen:
        return Promoted(None, same)
    verdicts: dict[str, Verdict] = {}
    if options.require_healthy or adapters.health is not None:
        # A failed version is refused even with the gate off; the gate refuses an unknown one too.
        with report.group(f"check the health of what runs in {source}"):
            verdicts = _health(options, adapters.health, chosen)
        refuse = {promotion.Health.FAILED} | (
            {promotion.Health.UNKNOWN} if options.require_healthy else set()
        )
        refused = [
            promotion.refusal(c, verdicts[c.app], source) for c in chosen if verdicts[c.app].health in refuse
        ]
        if refused:
            raise UnhealthyError("; ".join(refused))
    else:
        report.info(f"the health of what runs in {source} was not checked (--no-require-healthy)")
    promoted = promotion.targets(chosen, source_env=source, target_env=target, image=options.image)
    if options.registry_check:
        with report.group("check that the registry still holds each digest"):
            for promoted_target in promoted:
                _still_held(adapters.images, promoted_target)
    history = adapters.source_history
    outcome = deploy(
        request.for_promotion(options, promoted),
        adapters.repo,
        history=None if options.allow_downgrade or history is None else _VersionsWhenNoHistory(history),
        dry_run=options.write.dry_run,
        deadline=adapters.deadline,
    )
    return Promoted(outcome, same, verdicts)


def _health(
    options: PromoteOptions, facts: HealthFacts | None, chosen: Sequence[Candidate]
) -> dict[str, Verdict]:
    from autodeploy import flux, promotion

    source = options.source_env
    if facts is None:
        raise UnhealthyError(
            f"the health gate reads GitHub Deployments and Flux's commit statuses through the GitHub API, "
            f"which --gitops-dir does not use: promote through --gitops-repo to check what runs in {source}, "
            "or pass --no-require-healthy to promote without the check"
        )
    flux_history = facts.flux_statuses(chosen)
    undecided = [
        c
        for c in chosen
        if promotion.health_of(
            None,
            flux_history.get(c.app, ()),
            flux.context_globs(options.flux_contexts, app=c.app, env=source),
            env=source,
        ).health
        is not promotion.Health.HEALTHY
    ]
    # A Deployment's success decides over Flux, so only the apps Flux did not find healthy ask for it.
    states = (
        facts.deployment_states(undecided, env=source, environment=options.deployment_environment)
        if undecided
        else {}
    )
    verdicts = {}
    for candidate in chosen:
        globs = flux.context_globs(options.flux_contexts, app=candidate.app, env=source)
        verdict = promotion.health_of(
            states.get(candidate.app), flux_history.get(candidate.app, ()), globs, env=source
        )
        report.info(f"{candidate.app}/{source}: {verdict.health.value}: {verdict.reason}")
        verdicts[candidate.app] = verdict
    return verdicts


class _VersionsWhenNoHistory:
    """A promotion copies a build someone chose to promote: where no history of the source repository
    can be asked (a checkout of the GitOps repo alone), the tags' versions decide the downgrade guard,
    as they do when the history cannot tell."""

    def __init__(self, history: SourceHistory) -> None:
        self.history = history

    def relation(self, repo: str, old: str, new: str) -> Relation:
        found = self.history.relation(repo, old, new)
        return Relation.UNKNOWN if found is Relation.NO_HISTORY else found


def _still_held(images: ImageSource, target: Target) -> None:
    try:
        images.resolve(replace(target.image, digest=target.digest), with_labels=False)
    except RegistryError as exc:
        raise RegistryError(
            f"{target.label}: {exc}; the registry no longer holds {target.digest}? Promote without "
            "--registry-check to pin it anyway"
        ) from exc


def wait_after(
    outcome: Outcome,
    wait: WaitOptions,
    adapters: Adapters,
    *,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
    say: Callable[[str], None] | None = None,
) -> Outcome:
    """After `deploy` (or a rollback, or a promotion) opened its pull request: wait for it to merge
    and for Flux's verdict on every target it deploys; `outcome.waited` says how it ended. A dry run,
    or a deploy with no pull request to wait for, is `not-waited`. With `wait.deployment`, each step is
    also a status of the targets' GitHub Deployments (deployment.records: one per source commit and
    environment), created when the pull request opened."""
    from autodeploy import waiting
    from autodeploy.flux import context_globs
    from autodeploy.rollout import Result, WaitTarget

    applied = outcome.applied
    if outcome.dry_run or applied is None or applied.pr_number is None:
        why = "a dry run" if outcome.dry_run else "no pull request was opened or updated"
        report.info(f"not waiting for Flux: {why}")
        return replace(outcome, waited=waiting.WaitOutcome.not_waited(why))
    if adapters.watch is None:
        raise InputError("--wait needs --gitops-repo: Flux's statuses are read from GitHub")
    targets = tuple(
        WaitTarget(
            app=c.target.app,
            env=c.target.env,
            path=c.path,
            digest=c.new.digest or "",
            globs=context_globs(wait.flux_contexts, app=c.target.app, env=c.target.env),
            tag=c.new.tag or "",
            source_commit=c.new.commit,
            source_repo=c.new.source_repo,
        )
        for c in outcome.plan.changes
    )
    tracker = None
    if wait.deployment is not None and adapters.deployments is not None:
        from autodeploy import deployment

        records = deployment.records(
            outcome.plan.changes,
            wait.deployment,
            gitops_repo=adapters.gitops_repo or "",
            pull_url=applied.pr_url,
            pull_number=applied.pr_number,
        )
        opener, credentials = adapters.deployments, wait.deployment.credentials
        tracker = waiting.Tracker(lambda repo: opener(repo, credentials), records)
    with report.group(f"wait for #{applied.pr_number} to merge and for Flux"):
        try:
            waited = waiting.wait(
                adapters.watch(),
                targets,
                wait,
                pull=applied.pr_number,
                pull_url=applied.pr_url,
                tracker=tracker,
                clock=clock,
                sleep=sleep,
                say=say or report.info,
            )
        except AutodeployError as exc:
            # The deploy is done (its pull request is open): its outcome and outputs still count.
            waited = waiting.WaitOutcome(
                Result.FAILURE,
                pull_number=applied.pr_number,
                targets=targets,
                error=exc.message,
                error_code=exc.exit_code,
            )
    return replace(outcome, waited=waited)


def read_history(files: FileHistory, path: str, *, limit: int) -> Iterator[Deploy]:
    """The deploys, newest first, at most `limit`, read as they are consumed: up to three versions
    of the file per deploy asked for (not every commit that touches the file deploys)."""
    from autodeploy.deploys import iter_deploys  # only history and rollback read deploys

    if limit < 1:
        raise InputError("--limit must be 1 or more")
    versions = files.versions(path, limit=max(3 * limit, 30))
    return islice(iter_deploys(versions, path), limit)


def resolve_targets(
    targets: Sequence[Target], images: ImageSource | None, *, with_labels: bool = False
) -> tuple[tuple[Target, ...], dict[str, Provenance]]:
    """Fill in every digest the user did not give; with labels, also each image's provenance."""
    resolved: list[Target] = []
    provenance: dict[str, Provenance] = {}
    for target in targets:
        if target.digest and not with_labels:
            resolved.append(target)
            continue
        if images is None:
            raise InputError(f"{target.label}: no --digest given and no registry to resolve {target.image}")
        digest, facts = images.resolve(target.image, with_labels=with_labels)
        if target.digest and target.digest != digest:
            raise InputError(
                f"{target.image} points at {digest} in its registry, not at the given {target.digest}"
            )
        resolved.append(replace(target, digest=digest))
        provenance[target.label] = facts
    return tuple(resolved), provenance


def deploy(
    request: DeployRequest,
    repo: GitopsRepo,
    *,
    history: SourceHistory | None = None,
    dry_run: bool = False,
    max_attempts: int = MAX_ATTEMPTS,
    sleep: Callable[[float], None] = time.sleep,
    deadline: Deadline | None = None,
) -> Outcome:
    """Plan the deploy against the repo as it is now and apply it; re-plan when a race is lost, with
    backoff, a bounded number of times, and never past the command's deadline."""
    relations: dict[tuple[str, str, str], Relation] = {}
    for attempt in range(1, max_attempts + 1):
        with report.group("read the GitOps repo and plan"):
            snapshot = read_facts(request, repo, exact=dry_run)
            facts = Facts(
                files=snapshot.files,
                listings=snapshot.listings,
                relations=_relations(request, snapshot, history, relations),
                base_branch=repo.base,
            )
            plan = plan_deploy(request, facts)
        if dry_run:
            preview = repo.preview(plan, request, snapshot) if plan.changed else Preview()
            return Outcome(plan, snapshot, None, True, preview.lines, preview.would)
        if not plan.changed:
            return Outcome(plan, snapshot, repo.settle(plan, request, snapshot))
        try:
            with report.group("write and open or update the pull request"):
                applied = repo.apply(plan, request, snapshot)
        except ConflictError as exc:
            if attempt == max_attempts:
                raise ConflictError(
                    f"{exc}; gave up after {max_attempts} attempts: other runs keep updating "
                    f"{plan.branch}; run again"
                ) from exc
            report.info(f"{exc}; reading again (attempt {attempt + 1} of {max_attempts})")
            if not isinstance(exc, StaleSnapshot):
                wait = backoff(attempt, base=0.25, cap=8.0)
                if deadline is not None and not deadline.allows(wait):
                    raise ConflictError(
                        f"{exc}; no time left to try again "
                        f"({seconds_text(deadline.seconds)}, {deadline.name})"
                    ) from exc
                sleep(wait)
            continue
        return Outcome(plan, snapshot, applied)
    raise AssertionError("unreachable")


def read_facts(request: DeployRequest, repo: GitopsRepo, *, exact: bool = False) -> Snapshot:
    """The targets' files; for a missing one, also what scaffolding it needs, at the same revision."""
    branch = request.branch
    paths = [request.path(t) for t in request.targets]
    snapshot = repo.read(paths, branch=branch, exact=exact)
    missing = [t for t in request.targets if snapshot.files.get(request.path(t)) is None]
    if not missing:
        return snapshot
    extra = sorted({p for t in missing for p in (request.release_path(t), request.kustomization_path(t))})
    snapshot = repo.read(extra, branch=branch, at=snapshot)
    app_dirs = {posixpath.dirname(posixpath.dirname(request.path(t))) or "." for t in missing}
    unlisted = sorted(app_dirs - set(snapshot.listings))
    listings = {**snapshot.listings, **(repo.list_dirs(unlisted, snapshot) if unlisted else {})}
    return replace(snapshot, listings=listings)


def _relations(
    request: DeployRequest,
    snapshot: Snapshot,
    history: SourceHistory | None,
    cache: dict[tuple[str, str, str], Relation],
) -> dict[str, Relation]:
    """Ask the source history only about targets whose deployed commit differs from ours: each
    deployed commit once, the questions overlapped (they are independent reads)."""
    relations: dict[str, Relation] = {}
    if request.allow_downgrade or history is None:
        return relations
    keys: dict[str, tuple[str, str, str]] = {}
    for target in request.targets:
        text = snapshot.files.get(request.path(target))
        old = imagefile.read_block(text, path=request.path(target)) if text is not None else None
        commit, source_repo = request.commit_of(target), request.source_repo_of(target)
        if old is None or not old.commit or old.commit == commit:
            continue
        if old.source_repo not in {None, source_repo}:
            continue  # built from another repository: its history says nothing about ours
        keys[target.label] = (source_repo, old.commit, commit)
    asked = [key for key in dict.fromkeys(keys.values()) if key not in cache]
    reads = [partial(history.relation, repo, old, new) for repo, old, new in asked]
    cache.update(zip(asked, overlapped(reads), strict=True))
    return {label: cache[key] for label, key in keys.items()}
