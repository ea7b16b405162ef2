"""What a GitHub Deployment in the application repository records for one deploy: its environment's
name, whether that is production, its payload and its descriptions. Pure: the adapter
(autodeploy.github.deployments) sends what this builds.
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from autodeploy import validate
from autodeploy.errors import InputError

if TYPE_CHECKING:
    from autodeploy.options import DeploymentOptions
    from autodeploy.plan import Change

DEFAULT_ENVIRONMENT_TEMPLATE = "{env}"
DEFAULT_PRODUCTION = ("production",)
# Ours, so that a deployment GitHub Actions makes for a job with `environment:` is never taken for one.
TASK = "deploy:autodeploy"
DESCRIPTION_LIMIT = 140  # GitHub refuses a longer deployment status description
STATES = ("error", "failure", "inactive", "in_progress", "queued", "pending", "success")
_PLACEHOLDER = re.compile(r"\{([^{}]*)\}")
_URL = re.compile(r"https?://[^\s/]+\S*")
_ENVIRONMENT_NAME = re.compile(r"[^\x00-\x1f\x7f]{1,255}")


def check_template(template: str, flag: str) -> str:
    """The environment template, checked: placeholders {app} and {env} only, and some text."""
    _known_placeholders(template, flag)
    rest = _PLACEHOLDER.sub("", template)
    if not template.strip() or "{" in rest or "}" in rest:
        raise InputError(
            f"{flag} {template!r} is not an environment name template such as {{env}} or {{app}}-{{env}}"
        )
    return template


def check_url(template: str, flag: str) -> str:
    """An environment URL template: http(s), placeholders {app} and {env} only."""
    _known_placeholders(template, flag)
    if not _URL.fullmatch(template):
        raise InputError(f"{flag} {template!r} is not an http(s) URL, such as https://{{env}}.example.com")
    return template


def _known_placeholders(template: str, flag: str) -> None:
    validate.plain(flag, template)
    unknown = sorted({name for name in _PLACEHOLDER.findall(template) if name not in {"app", "env"}})
    if unknown:
        raise InputError(
            f"{flag} {template!r} has an unknown placeholder {{{unknown[0]}}}: use {{app}} and {{env}}"
        )


def environment_url(template: str | None, *, app: str, env: str) -> str | None:
    return template.replace("{app}", app).replace("{env}", env) if template else None


def environment_name(template: str, *, app: str, env: str) -> str:
    name = template.replace("{app}", app).replace("{env}", env).strip()
    if not _ENVIRONMENT_NAME.fullmatch(name):
        raise InputError(
            f"the deployment environment {name!r} is not a name GitHub takes (1 to 255 characters)"
        )
    return name


def is_production(globs: Sequence[str], *, environment: str, env: str) -> bool:
    """True when a glob matches the deployment's environment name or the GitOps env it deploys to."""
    return any(fnmatch.fnmatchcase(name, glob) for glob in globs for name in (environment, env))


def payload(
    *,
    image: str,
    tag: str,
    digest: str,
    gitops_repo: str,
    pull_url: str | None,
    pull_number: int | None,
    app: str,
    env: str,
) -> Mapping[str, object]:
    """The deployment's `payload`: what runs, and the GitOps change that brings it."""
    return {
        "app": app,
        "env": env,
        "image": image,
        "tag": tag,
        "digest": digest,
        "gitops_repo": gitops_repo,
        "pull_request": {"url": pull_url, "number": pull_number},
    }


def description(*, app: str, tag: str, gitops_repo: str) -> str:
    return fit(f"{app} {tag} through {gitops_repo}")


def fit(text: str) -> str:
    """One line of at most DESCRIPTION_LIMIT characters."""
    line = " ".join(text.split())
    return line if len(line) <= DESCRIPTION_LIMIT else line[: DESCRIPTION_LIMIT - 1].rstrip() + "…"


@dataclass(frozen=True)
class Record:
    """One GitHub Deployment a deploy makes: of commit `sha` in the application repository `repo`."""

    repo: str
    sha: str
    app: str
    env: str
    environment: str
    production: bool
    payload: Mapping[str, object] = field(repr=False)
    description: str
    environment_url: str | None


def records(
    changes: Sequence[Change],
    options: DeploymentOptions,
    *,
    gitops_repo: str,
    pull_url: str | None,
    pull_number: int | None,
) -> tuple[Record, ...]:
    """A deployment for each change whose new block names its source repository and commit (the
    others have no commit to deploy: they get none)."""
    made = []
    for change in changes:
        block, target = change.new, change.target
        if not (block.source_repo and block.commit):
            continue
        name = environment_name(options.environment_template, app=target.app, env=target.env)
        tag = block.tag or target.tag
        made.append(
            Record(
                repo=block.source_repo,
                sha=block.commit,
                app=target.app,
                env=target.env,
                environment=name,
                production=is_production(options.production, environment=name, env=target.env),
                payload=payload(
                    image=target.image.name,
                    tag=tag,
                    digest=block.digest or target.digest or "",
                    gitops_repo=gitops_repo,
                    pull_url=pull_url,
                    pull_number=pull_number,
                    app=target.app,
                    env=target.env,
                ),
                description=description(app=target.app, tag=tag, gitops_repo=gitops_repo),
                environment_url=environment_url(options.environment_url, app=target.app, env=target.env),
            )
        )
    return tuple(made)
