"""The plan of a deploy: what every target's image.yaml becomes, and the branch and pull request.

Pure: it takes the request and the facts adapters read (file texts, source-history relations) and
returns frozen values. Applying a plan is an adapter's job; `pipeline` joins the two.
"""

from __future__ import annotations

import difflib
import enum
import fnmatch
import posixpath
import re
import string
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from autodeploy import imagefile, validate
from autodeploy.errors import InputError
from autodeploy.imagefile import Block
from autodeploy.imageref import ImageRef

RELEASE_BRANCHES = {"production": "prod-release", "staging": "staging-release"}
RELEASE_TITLES = {"production": "Production release", "staging": "Staging release"}
ROLLBACK_BRANCH_TEMPLATE = "rollback-{env}-{app}"
DEFAULT_PATH_TEMPLATE = "{app}/{env}/image.yaml"
DEFAULT_RELEASE_TEMPLATE = "{app}/base/release.yaml"
DEFAULT_MESSAGE_TEMPLATE = "deploy({app}): {env} {old_tag} -> {new_tag}"
PROMOTE_MESSAGE_TEMPLATE = "promote({app}): {env} {old_tag} -> {new_tag}"
DEFAULT_TITLE_TEMPLATE = "chore: Update {app} image tag in {env}"
ROLLBACK_TITLE_TEMPLATE = "Rollback {app} in {env} to {new_tag}"


class Relation(enum.Enum):
    """Where the new source commit stands relative to the one already deployed."""

    NEWER = "newer"  # the new commit descends from the deployed one
    OLDER = "older"  # the new commit is an ancestor of the deployed one: a downgrade
    SAME = "same"
    DIVERGED = "diverged"
    UNKNOWN = "unknown"  # a history was asked and could not tell (no access, a commit it lacks)
    NO_HISTORY = "no history"  # no history of the source repository to ask


@dataclass(frozen=True)
class Target:
    """One image to pin in one app's environment."""

    app: str
    env: str
    image: ImageRef  # with its tag
    digest: str | None = None  # None until resolved
    # A promotion copies each app's own build: its commit and source repo, where the request's are
    # another app's. None: the request's.
    commit: str | None = None
    source_repo: str | None = None
    promoted_from: str | None = None  # for the pull request: "staging, where it has run since ..."

    @property
    def tag(self) -> str:
        assert self.image.tag is not None
        return self.image.tag

    @property
    def label(self) -> str:
        return f"{self.app}/{self.env}"


@dataclass(frozen=True)
class Settings:
    """How a team lays out its GitOps repo and names branches, commits and pull requests."""

    path_template: str = DEFAULT_PATH_TEMPLATE
    release_template: str = DEFAULT_RELEASE_TEMPLATE
    branch_template: str | None = None  # None: prod-release, staging-release, update-{env}-{app}
    title_template: str | None = None  # None: the release titles, or DEFAULT_TITLE_TEMPLATE
    message_template: str = DEFAULT_MESSAGE_TEMPLATE
    labels: tuple[str, ...] = ("auto-deploy",)
    auto_merge_envs: tuple[str, ...] = ("development",)
    server_url: str = "https://github.com"
    protected_branches: tuple[str, ...] = ()  # globs the deploy branch must never be, besides the base

    def __post_init__(self) -> None:
        for kind, value in (
            ("--path-template", self.path_template),
            ("release template", self.release_template),
            ("--branch", self.branch_template),
            ("--title", self.title_template),
            ("--message", self.message_template),
            *(("--label", label) for label in self.labels),
            *(("--protected-branch", glob) for glob in self.protected_branches),
        ):
            if value is not None:
                validate.plain(kind, value)


@dataclass(frozen=True)
class DeployRequest:
    targets: tuple[Target, ...]
    commit: str
    source_repo: str
    settings: Settings = field(default_factory=Settings)
    allow_downgrade: bool = False
    rollback: bool = False
    reason: str | None = None
    notes: tuple[str, ...] = ()  # for the pull request: what a reviewer should know (a retag, ...)

    def __post_init__(self) -> None:
        if not self.targets:
            raise InputError("nothing to deploy: give at least one --app and --env")
        seen = set()
        for target in self.targets:
            validate.path_part("app", target.app)
            validate.path_part("env", target.env)
            if target.image.tag is None:
                raise InputError(f"{target.label}: the image {target.image} has no tag")
            if target.label in seen:
                raise InputError(f"{target.label} is listed twice")
            seen.add(target.label)
            if target.commit is not None:
                validate.commit(target.commit)
            if target.source_repo is not None:
                validate.source_repo(target.source_repo)
        validate.commit(self.commit)
        validate.source_repo(self.source_repo)
        if self.reason is not None:
            validate.plain("--reason", self.reason)

    @property
    def rollback_summary(self) -> str | None:
        """For the pull request of a rollback: why, and what a reviewer should know."""
        if not self.rollback:
            return None
        return "; ".join([self.reason or "no reason given", *self.notes])

    def commit_of(self, target: Target) -> str:
        return target.commit or self.commit

    def source_repo_of(self, target: Target) -> str:
        return target.source_repo or self.source_repo

    def path(self, target: Target) -> str:
        return self.path_for(self.settings, target.app, target.env)

    @staticmethod
    def path_for(settings: Settings, app: str, env: str) -> str:
        return validate.repo_relative_path(
            _render("--path-template", settings.path_template, app=app, env=env)
        )

    def release_path(self, target: Target) -> str:
        return validate.repo_relative_path(
            _render("release template", self.settings.release_template, app=target.app, env=target.env)
        )

    def kustomization_path(self, target: Target) -> str:
        return posixpath.join(posixpath.dirname(self.path(target)), "kustomization.yaml")

    def block(self, target: Target) -> Block:
        if target.digest is None:
            raise AssertionError(f"{target.label}: digest not resolved before planning")
        source_repo = self.source_repo_of(target)
        return Block(
            source_repo=source_repo,
            tag=target.tag,
            digest=target.digest,
            repo_url=f"{self.settings.server_url.rstrip('/')}/{source_repo}",
            commit=self.commit_of(target),
        )

    @property
    def branch(self) -> str:
        envs = sorted({t.env for t in self.targets})
        apps = "-".join(sorted({t.app.replace("/", "-") for t in self.targets}))
        template = self.settings.branch_template
        if template is None:
            if len(envs) > 1:
                raise InputError(
                    f"the targets span several environments ({', '.join(envs)}); "
                    "pass --branch to name the one branch they share"
                )
            # A rollback gets a branch of its own: it must not wait on a pending release.
            default = ROLLBACK_BRANCH_TEMPLATE if self.rollback else "update-{env}-{app}"
            template = default if self.rollback else RELEASE_BRANCHES.get(envs[0], default)
        env = envs[0] if len(envs) == 1 else "-".join(envs)
        return validate.branch(_render("--branch", template, app=apps, env=env))


@dataclass(frozen=True)
class Facts:
    """What the adapters read for a plan: file texts (None when missing) and source-history relations."""

    files: Mapping[str, str | None]
    listings: Mapping[str, tuple[str, ...] | None] = field(default_factory=dict)
    relations: Mapping[str, Relation] = field(default_factory=dict)  # by Target.label
    base_branch: str | None = None  # the branch pull requests go into, where there is one


@dataclass(frozen=True)
class Change:
    target: Target
    path: str
    old_text: str | None  # None: the file is new
    new_text: str
    old: Block | None
    new: Block

    @property
    def changed(self) -> bool:
        return self.old_text != self.new_text

    @property
    def old_tag(self) -> str:
        return self.old.tag if self.old and self.old.tag else "(none)"

    def diff(self) -> str:
        return unified_diff(self.path, self.old_text, self.new_text)


@dataclass(frozen=True)
class Skip:
    target: Target
    path: str
    reason: str
    old: Block | None = None  # what the environment runs, and keeps running
    kind: str = "downgrade"


@dataclass(frozen=True)
class DeployPlan:
    changes: tuple[Change, ...]
    skipped: tuple[Skip, ...]
    branch: str
    title: str
    commit_message: str
    labels: tuple[str, ...]
    auto_merge: bool
    warnings: tuple[str, ...] = ()

    @property
    def changed(self) -> tuple[Change, ...]:
        return tuple(c for c in self.changes if c.changed)

    @property
    def unchanged(self) -> tuple[Change, ...]:
        return tuple(c for c in self.changes if not c.changed)

    def diff(self) -> str:
        return "".join(c.diff() for c in self.changed)


def plan_deploy(request: DeployRequest, facts: Facts) -> DeployPlan:
    """Compute every target's new image.yaml and the branch, title and commit of the deploy."""
    changes: list[Change] = []
    skipped: list[Skip] = []
    warnings: list[str] = []
    for target in request.targets:
        path = request.path(target)
        old_text = facts.files.get(path)
        new = request.block(target)
        if old_text is None:
            new_text = _scaffold(request, target, path, facts, warnings)
            old = None
        else:
            old = imagefile.read_block(old_text, path=path)
            reason = _downgrade(request, target, old, facts)
            if reason:
                skipped.append(Skip(target, path, reason, old))
                continue
            new_text = imagefile.write_block(old_text, new, path=path)
        changes.append(Change(target, path, old_text, new_text, old, new))
    return DeployPlan(
        changes=tuple(changes),
        skipped=tuple(skipped),
        branch=_head_branch(request, facts),
        title=_title(request),
        commit_message=_message(request, changes),
        labels=request.settings.labels,
        auto_merge=all(t.env in request.settings.auto_merge_envs for t in request.targets),
        warnings=tuple(warnings),
    )


def _head_branch(request: DeployRequest, facts: Facts) -> str:
    """The deploy's branch, which must never be one that Flux or people read as reviewed."""
    branch = request.branch
    if branch == facts.base_branch:
        raise InputError(
            f"the deploy branch {branch} is the base branch: autodeploy writes only through a pull "
            "request; pass another --branch"
        )
    for glob in request.settings.protected_branches:
        if fnmatch.fnmatchcase(branch, glob):
            raise InputError(f"the deploy branch {branch} matches the protected branch pattern {glob!r}")
    return branch


def _downgrade(request: DeployRequest, target: Target, old: Block | None, facts: Facts) -> str | None:
    commit, source_repo = request.commit_of(target), request.source_repo_of(target)
    if request.allow_downgrade or old is None or not old.commit or old.commit == commit:
        return None
    relation = facts.relations.get(target.label)
    advice = "pass --allow-downgrade or use `autodeploy rollback` to go back on purpose"
    if relation is Relation.OLDER:
        return (
            f"{target.label} already runs {old.tag} built from {old.commit[:12]}, which is newer than "
            f"{commit[:12]} in {source_repo}; not downgrading ({advice})"
        )
    if relation is Relation.UNKNOWN and old.tag and version_older(target.tag, old.tag):
        return (
            f"{target.label} already runs {old.tag} (built from {old.commit[:12]}), a later version than "
            f"{target.tag} (built from {commit[:12]}); the commits could not be compared, so the "
            f"versions were; not downgrading ({advice})"
        )
    return None


_SEMVER_RE = re.compile(
    r"v?(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(?:-([0-9A-Za-z.-]+))?(?:\+[0-9A-Za-z.-]+)?"
)


def version_older(new: str, old: str) -> bool:
    """True when both tags are semantic versions (a `v` prefix allowed) and `new` precedes `old`."""
    a, b = _SEMVER_RE.fullmatch(new), _SEMVER_RE.fullmatch(old)
    if a is None or b is None:
        return False
    return _precedence(a) < _precedence(b)


def _precedence(match: re.Match[str]) -> tuple[tuple[int, int, int], int, tuple[tuple[int, int | str], ...]]:
    core = (int(match[1]), int(match[2]), int(match[3]))
    pre = match[4]
    if pre is None:
        return core, 1, ()  # a release ranks above its pre-releases
    parts = tuple((0, int(p)) if p.isdigit() else (1, p) for p in pre.split("."))
    return core, 0, parts


def _scaffold(request: DeployRequest, target: Target, path: str, facts: Facts, warnings: list[str]) -> str:
    env_dir = posixpath.dirname(path)
    app_dir = posixpath.dirname(env_dir)
    listing = facts.listings.get(app_dir or ".")
    env_name = posixpath.basename(env_dir)
    if listing is not None and env_name not in listing:
        known = ", ".join(sorted(listing)) or "none"
        raise InputError(f"{env_dir}/ does not exist; the directories in {app_dir or '.'}/ are: {known}")
    release_path = request.release_path(target)
    release_text = facts.files.get(release_path)
    if release_text is None:
        raise InputError(
            f"{path} does not exist and neither does {release_path} to scaffold it from; "
            "check --app, --env and --path-template"
        )
    kustomization = facts.files.get(request.kustomization_path(target))
    if kustomization is not None and posixpath.basename(path) not in kustomization:
        warnings.append(
            f"{request.kustomization_path(target)} does not mention {posixpath.basename(path)}: "
            "add it to its patches or Flux will not apply the new image"
        )
    return imagefile.scaffold(release_text, request.block(target), path=path, release_path=release_path)


def _title(request: DeployRequest) -> str:
    target = request.targets[0]
    apps = ", ".join(sorted({t.app for t in request.targets}))
    envs = ", ".join(sorted({t.env for t in request.targets}))
    template = request.settings.title_template
    if template is None:
        if request.rollback:
            template = ROLLBACK_TITLE_TEMPLATE
        elif len({t.env for t in request.targets}) == 1 and target.env in RELEASE_TITLES:
            return RELEASE_TITLES[target.env]
        else:
            template = DEFAULT_TITLE_TEMPLATE
    return _render("--title", template, app=apps, env=envs, new_tag=target.tag)


def _message(request: DeployRequest, changes: Sequence[Change]) -> str:
    lines = [
        _render(
            "--message",
            request.settings.message_template,
            app=c.target.app,
            env=c.target.env,
            old_tag=c.old_tag,
            new_tag=c.target.tag,
        )
        for c in changes
        if c.changed
    ]
    if not lines:
        return ""
    subject = lines[0] if len(lines) == 1 else f"deploy: {len(lines)} images"
    body = lines if len(lines) > 1 else []
    if request.rollback and request.reason:
        body.append(f"Rollback: {request.reason}")
    return "\n\n".join([subject, "\n".join(body)]) if body else subject


class _Placeholders(dict[str, str]):
    def __init__(self, flag: str, values: Mapping[str, str]) -> None:
        super().__init__(values)
        self.flag = flag

    def __missing__(self, key: str) -> str:
        known = ", ".join("{" + k + "}" for k in self)
        raise InputError(f"{self.flag} uses {{{key}}}, which is not one of {known}")


def _render(flag: str, template: str, **values: str) -> str:
    try:
        for _, name, spec, conversion in string.Formatter().parse(template):
            if name is not None and (spec or conversion or not name.isidentifier()):
                raise InputError(f"{flag} {template!r}: write placeholders as plain {{name}}")
        return template.format_map(_Placeholders(flag, values))
    except (ValueError, IndexError) as exc:
        raise InputError(f"{flag} {template!r} is not a valid template: {exc}") from exc


def path_pattern(path_template: str) -> re.Pattern[str]:
    """A regex matching the paths `path_template` renders, capturing app and env."""
    out, pos = [], 0
    for match in re.finditer(r"\{(app|env)\}", path_template):
        out.append(re.escape(path_template[pos : match.start()]))
        name = match.group(1)
        out.append(f"(?P<{name}>[^/].*?)" if name == "app" else f"(?P<{name}>[^/]+)")
        pos = match.end()
    out.append(re.escape(path_template[pos:]))
    return re.compile("".join(out))


def unified_diff(path: str, old: str | None, new: str) -> str:
    """A unified diff that `git apply` accepts, faithful to CRLF and a missing final newline."""
    old_lines = (old or "").splitlines(keepends=True)
    new_lines = new.splitlines(keepends=True)
    out = []
    fromfile = f"a/{path}" if old is not None else "/dev/null"
    with imagefile.no_cyclic_gc():
        for line in difflib.unified_diff(old_lines, new_lines, fromfile, f"b/{path}", n=3):
            out.append(line)
            if not line.endswith(("\n", "\r")):
                out.append("\n\\ No newline at end of file\n")
        return "".join(out)
