"""The Action's inputs (INPUT_* variables) as the same typed options the CLI builds. Secrets are
masked before anything else is printed, and every input is checked before any token is minted."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping

from autodeploy import report, targets, validate
from autodeploy.action import envmap, tags
from autodeploy.environment import Environment
from autodeploy.errors import InputError
from autodeploy.github import credentials
from autodeploy.imageref import parse, registry_host
from autodeploy.options import (
    DEFAULT_DEADLINE,
    DEFAULT_GITHUB_MAX_WAIT,
    DEFAULT_WAIT_TIMEOUT,
    DeploymentOptions,
    DeployOptions,
    GitHubOptions,
    Location,
    PullOptions,
    RollbackOptions,
    WaitCommandOptions,
    WaitOptions,
    WriteOptions,
)
from autodeploy.plan import DEFAULT_MESSAGE_TEMPLATE, DEFAULT_PATH_TEMPLATE, Settings
from autodeploy.registry.access import RegistryOptions

# Every input action.yml declares, with the default it declares there (tests hold the two equal).
INPUTS: Mapping[str, str] = {
    "mode": "deploy",
    "gitops-repo": "",
    "gitops-dir": "",
    "app": "",
    "env": "auto",
    "env-map": "",
    "image": "",
    "tag": "",
    "targets": "",
    "digest": "",
    "token": "",
    "github-token": "",  # action.yml's default is ${{ github.token }}
    "client-id": "",
    "app-id": "",
    "private-key": "",
    "registry-username": "",
    "registry-password": "",
    "registry-host": "",
    "deadline": "",
    "base-branch": "",
    "branch": "",
    "protected-branches": "",
    "path-template": "",
    "labels": "",
    "reviewers": "",
    "assignees": "",
    "team-reviewers": "",
    "auto-merge": "",
    "merge-method": "",
    "body": "",
    "title": "",
    "commit-message": "",
    "draft": "false",
    "commit-from-image": "false",
    "source-dir": "",
    "allow-downgrade": "false",
    "dry-run": "false",
    "summary": "true",
    "reason": "",
    "steps": "",
    "images-back": "",
    "allow-retag": "false",
    "registry-check": "true",
    "wait": "false",
    "flux-context": "",
    "wait-timeout": "",
    "on-timeout": "fail",
}
# The wait sub-action's own inputs (wait/action.yml), besides those of INPUTS it shares.
WAIT_ONLY: Mapping[str, str] = {"gitops-commit": "", "since": "", "pull-request": ""}
BOOLEANS = (
    "summary",
    "dry-run",
    "allow-downgrade",
    "allow-retag",
    "registry-check",
    "draft",
    "commit-from-image",
    "wait",
)
SECRETS = ("token", "github-token", "private-key", "registry-password")
# GitHub Deployments in the application repository: for the actions that wait to declare (with these
# defaults in their action.yml) and read with `deployment_options`.
DEPLOYMENT_INPUTS: Mapping[str, str] = {
    "deployment": "false",
    "deployment-environment": "",
    "production-environment": "",
    "environment-url": "",
    "deployment-token": "",
}
DEPLOYMENT_SECRETS = ("deployment-token",)
ONLY_FOR = {
    "digest": "deploy",
    "targets": "deploy",
    "source-dir": "deploy",
    "allow-downgrade": "deploy",
    "reason": "rollback",
    "steps": "rollback",
    "images-back": "rollback",
    "allow-retag": "rollback",
    "registry-check": "rollback",
}
MERGE_METHODS = ("merge", "squash", "rebase")
_TRUE, _FALSE = {"true", "yes", "on", "1"}, {"false", "no", "off", "0", ""}


def shared_inputs(*names: str) -> dict[str, str]:
    """The root action's inputs of these names, with its defaults, for a sub-action that declares
    them too."""
    return {name: INPUTS[name] for name in names}


def read_inputs(environ: Mapping[str, str], declared: Mapping[str, str] = INPUTS) -> dict[str, str]:
    """Every declared input, as the runner passes it (`INPUT_GITOPS-REPO`) or with underscores
    (`INPUT_GITOPS_REPO`, handier with `docker run -e`); missing ones take action.yml's default.
    Secrets are masked here, first of all. An action that waits declares {**INPUTS, **DEPLOYMENT_INPUTS}."""
    values = {}
    for name, default in declared.items():
        key = f"INPUT_{name.upper()}"
        value = environ.get(key, environ.get(key.replace("-", "_")))
        values[name] = default if value is None else value.strip()
    for name in (*SECRETS, *DEPLOYMENT_SECRETS):
        if values.get(name):
            report.secret(values[name])
    return values


def options(
    inputs: Mapping[str, str], env: Environment, *, action: str | None = None
) -> DeployOptions | RollbackOptions | WaitCommandOptions:
    """The options these inputs ask for; raises InputError for any input that does not fit. `action`
    is the sub-action that runs (`rollback` for ditkrg/autodeploy/rollback); None for the root one,
    where the deprecated `mode` input still chooses."""
    _check_plain(inputs)
    mode = inputs["mode"]
    if action == "wait":
        return wait_command(inputs, env)
    for name in WAIT_ONLY:
        if inputs.get(name):
            raise InputError(f"input {name} applies to the ditkrg/autodeploy/wait action only")
    if action is not None:
        if action not in ("deploy", "rollback"):
            raise InputError(f"there is no autodeploy/{action} action: use the root one, rollback or wait")
        if mode != INPUTS["mode"] and mode != action:
            raise InputError(f"input mode is not for the {action} action")
        mode = action
    if mode not in ("deploy", "rollback"):
        raise InputError(f"input mode must be deploy or rollback, not {mode!r}")
    for name, only in ONLY_FOR.items():
        value = inputs[name]
        given = _bool(name, value) != _bool(name, INPUTS[name]) if name in BOOLEANS else bool(value)
        if only != mode and given:
            raise InputError(f"input {name} applies to mode: {only} only")
    apps = _list(inputs["app"])
    if apps and inputs["targets"]:
        raise InputError("give the input app (with env) or targets, not both")
    if not apps and not (mode == "deploy" and inputs["targets"]):
        raise InputError("input app is required: the app's folder in the GitOps repo")
    envs = _envs(inputs, env) if apps else []
    location = _location(inputs, env)
    write = _write(inputs, env)
    image, tag = inputs["image"], inputs["tag"]
    choice = tags.choose(tag, image or None) if tag else None
    if choice is not None and choice.candidates > 1:
        report.info(f"tag: chose {choice.reference} out of {len(tags.entries(tag))} entries")
    if mode == "deploy":
        if choice is None and not inputs["targets"]:
            raise InputError("input tag is required: the tag, IMAGE:TAG, or metadata-action's tags output")
        default_image = targets.image_ref(image or None, choice.reference) if choice else None
        return DeployOptions(
            location=location,
            targets=targets.build(
                apps=apps,
                envs=envs,
                image=image or None,
                tag=choice.reference if choice else None,
                digest=inputs["digest"] or None,
                targets_file=inputs["targets"] or None,
            ),
            targets_file=inputs["targets"] or None,
            default_image=default_image,
            commit_from_image=_bool("commit-from-image", inputs["commit-from-image"]),
            source_dir=inputs["source-dir"] or None,
            workflow_commit=env.sha,
            workflow_repo=env.repository,
            allow_downgrade=_bool("allow-downgrade", inputs["allow-downgrade"]),
            write=write,
            deadline=_deadline(inputs["deadline"]),
            wait=wait_options(inputs, env, location),
        )
    if len(apps) > 1 or len(envs) > 1:
        raise InputError("mode: rollback takes one app and one env")
    if not image:
        if choice is None or choice.image is None:
            raise InputError("mode: rollback needs the image input (the image without its tag)")
        image = choice.image.name
    back = inputs["images-back"] or inputs["steps"]
    if inputs["images-back"] and inputs["steps"]:
        raise InputError("give images-back (steps is its deprecated name), not both")
    if choice is not None and back:
        raise InputError("give the input tag (the tag to roll back to) or steps, not both")
    return RollbackOptions(
        location=location,
        app=validate.path_part("app", apps[0]),
        env=validate.path_part("env", envs[0]),
        image=parse(image),
        to=choice.tag if choice is not None else None,
        steps=_steps(back),
        reason=inputs["reason"] or None,
        allow_retag=_bool("allow-retag", inputs["allow-retag"]),
        registry_check=_bool("registry-check", inputs["registry-check"]),
        workflow_repo=env.repository,
        run_url=env.run_url,
        commit_from_image=_bool("commit-from-image", inputs["commit-from-image"]),
        write=write,
        deadline=_deadline(inputs["deadline"]),
        wait=wait_options(inputs, env, location),
    )


def wait_options(
    inputs: Mapping[str, str],
    env: Environment,
    location: Location,
    *,
    always: bool = False,
    shared: tuple[str, ...] = (),
) -> WaitOptions | None:
    """`wait: true` and the inputs that shape it (deployment's too); None without it (then none of
    them may be set, but for the `shared` ones the action also uses itself, as promote's gate does)."""
    names = ("flux-context", "wait-timeout", "on-timeout")
    if not always and not _bool("wait", inputs["wait"]):
        given = [n for n in names if n not in shared and inputs[n] != INPUTS[n]]
        if _bool("deployment", inputs.get("deployment", "false")):
            given.append("deployment")
        if given:
            raise InputError(f"input {given[0]} applies to the wait: set `wait: true`")
        deployment_options(inputs, env, location.github, shared=shared)  # refuses its other inputs
        return None
    if location.github is None:
        raise InputError("input wait needs gitops-repo: Flux's statuses are read from GitHub")
    timeout = inputs["wait-timeout"]
    try:
        seconds = float(timeout) if timeout else DEFAULT_WAIT_TIMEOUT
    except ValueError:
        raise InputError(f"input wait-timeout must be a number of seconds, not {timeout!r}") from None
    made = validate.wait_options(
        contexts=_list(inputs["flux-context"]),
        timeout=seconds,
        on_timeout=inputs["on-timeout"] or "fail",
        names=("input flux-context", "input wait-timeout"),
    )
    return dataclasses.replace(
        made, deployment=deployment_options(inputs, env, location.github, shared=shared)
    )


def wait_command(inputs: Mapping[str, str], env: Environment) -> WaitCommandOptions:
    """The ditkrg/autodeploy/wait action: `autodeploy wait --gitops-commit` or `--pr`."""
    commit, number = inputs["gitops-commit"].lower(), inputs["pull-request"]
    if bool(commit) == bool(number):
        raise InputError("give one of the inputs gitops-commit (a merged commit) and pull-request")
    if commit and (len(commit) != 40 or any(c not in "0123456789abcdef" for c in commit)):
        raise InputError(f"input gitops-commit {commit!r} is not a full commit sha (40 hex digits)")
    if number and (not number.isdigit() or int(number) < 1):
        raise InputError(f"input pull-request must be a pull request number, not {number!r}")
    if inputs["since"] and not commit:
        raise InputError(
            "input since applies to gitops-commit only: a pull request is compared with its base"
        )
    since = validate.since(inputs["since"], "input since") if inputs["since"] else None
    location = _location(inputs, env)
    wait = wait_options(inputs, env, location, always=True)
    assert wait is not None
    apps, envs = _list(inputs["app"]), [e for e in _list(inputs["env"]) if e != "auto"]
    if len(apps) > 1 or len(envs) > 1:
        raise InputError("the wait action takes at most one app and one env (to wait for only those)")
    template = inputs["path-template"] or DEFAULT_PATH_TEMPLATE
    if "{app}" not in template or "{env}" not in template:
        raise InputError(
            f"input path-template {template!r} must hold {{app}} and {{env}}: the wait reads them"
        )
    return WaitCommandOptions(
        location=location,
        wait=wait,
        pull_request=int(number) if number else None,
        gitops_commit=commit or None,
        since=since,
        app=validate.path_part("app", apps[0]) if apps else None,
        env=validate.path_part("env", envs[0]) if envs else None,
        path_template=template,
        deadline=_deadline(inputs["deadline"]),
    )


def _check_plain(inputs: Mapping[str, str]) -> None:
    """No input but a secret may hold control or bidi characters, newlines between list items aside."""
    for name, value in inputs.items():
        if name not in SECRETS and name not in DEPLOYMENT_SECRETS:
            for line in value.splitlines():
                validate.plain(f"input {name}", line)


def _location(inputs: Mapping[str, str], env: Environment) -> Location:
    repo, directory = inputs["gitops-repo"], inputs["gitops-dir"]
    if bool(repo) == bool(directory):
        raise InputError("give exactly one of the inputs gitops-repo (OWNER/NAME) and gitops-dir")
    if directory:
        return Location(gitops_dir=directory)
    if "/" not in repo and env.repository_owner:
        repo = f"{env.repository_owner}/{repo}"  # as today's action's `owner` default
    try:
        repo = validate.source_repo(repo)
    except InputError:
        raise InputError(f"input gitops-repo {repo!r} is not of the form OWNER/NAME") from None
    github = credentials.github_options(
        repo, _secrets(inputs, env), env, base=inputs["base-branch"] or None, max_wait=DEFAULT_GITHUB_MAX_WAIT
    )
    return Location(github=github)


def _secrets(inputs: Mapping[str, str], env: Environment) -> credentials.Secrets:
    return credentials.Secrets(
        token=inputs["token"] or env.github_token,
        actions_token=inputs["github-token"] or env.actions_token,
        app_id=inputs["client-id"] or inputs["app-id"] or env.app_id,
        private_key=inputs["private-key"] or env.app_private_key,
        deployment_token=inputs.get("deployment-token") or env.deployment_token,
    )


def deployment_options(
    inputs: Mapping[str, str], env: Environment, github: GitHubOptions | None, *, shared: tuple[str, ...] = ()
) -> DeploymentOptions | None:
    """The GitHub Deployments the DEPLOYMENT_INPUTS ask for; None unless `deployment: true`."""
    values = {name: inputs.get(name, default) for name, default in DEPLOYMENT_INPUTS.items()}
    for name, value in values.items():
        if name not in DEPLOYMENT_SECRETS:
            validate.plain(f"input {name}", value.replace("\n", " "))
    if not _bool("deployment", values["deployment"]):
        given = [n for n in DEPLOYMENT_INPUTS if n != "deployment" and n not in shared and values[n]]
        if given:
            raise InputError(f"input {given[0]} applies to deployment: true only")
        return None
    if github is None:
        raise InputError(
            "input deployment needs gitops-repo: a deployment follows the pull request on GitHub"
        )
    return credentials.deployment_options(
        _secrets(inputs, env),
        github.credentials,
        template=values["deployment-environment"] or None,
        production=_list(values["production-environment"]),
        environment_url=values["environment-url"] or None,
        names=lambda name: f"input {name}",
    )


def _envs(inputs: Mapping[str, str], env: Environment) -> list[str]:
    envs = _list(inputs["env"])
    if envs != ["auto"]:
        if not envs or "auto" in envs:
            raise InputError("input env is a list of environments, or auto on its own")
        if inputs["env-map"]:
            raise InputError("input env-map applies to env: auto only")
        return envs
    mapping = envmap.parse_map(inputs["env-map"])
    chosen = envmap.environment(env.ref or "", env.default_branch or "main", mapping)
    report.info(f"env: auto -> {chosen} for {env.ref}")
    return [chosen]


def _write(inputs: Mapping[str, str], env: Environment) -> WriteOptions:
    defaults = Settings()
    labels = _list(inputs["labels"])
    settings = Settings(
        path_template=inputs["path-template"] or DEFAULT_PATH_TEMPLATE,
        branch_template=inputs["branch"] or None,
        title_template=inputs["title"] or None,
        message_template=inputs["commit-message"] or DEFAULT_MESSAGE_TEMPLATE,
        labels=tuple(labels) if labels else defaults.labels,
        auto_merge_envs=_auto_merge(inputs["auto-merge"], defaults.auto_merge_envs),
        server_url=env.server_url or defaults.server_url,
        protected_branches=tuple(_list(inputs["protected-branches"])),
    )
    method = inputs["merge-method"] or "merge"
    if method not in MERGE_METHODS:
        raise InputError(f"input merge-method must be one of {', '.join(MERGE_METHODS)}, not {method!r}")
    reviewers = tuple(validate.reviewer("input reviewers:", r) for r in _list(inputs["reviewers"]))
    repo = inputs["gitops-repo"]
    org = repo.split("/", 1)[0] if "/" in repo else env.repository_owner or ""
    teams = tuple(
        validate.reviewer("input team-reviewers:", f"{org}/{t}") for t in _list(inputs["team-reviewers"])
    )
    pull = PullOptions(
        reviewers=reviewers + teams,
        merge_method=method,
        draft=_bool("draft", inputs["draft"]),
        body=inputs["body"],
        assignees=tuple(_user("input assignees:", a) for a in _list(inputs["assignees"])),
        origin=env.origin,
    )
    username, password = inputs["registry-username"] or None, inputs["registry-password"] or None
    if bool(username) != bool(password):
        raise InputError("give both inputs registry-username and registry-password, or neither")
    host = inputs["registry-host"]
    if host and (not username or "/" in host):
        raise InputError(
            "input registry-host is the HOST[:PORT] that registry-username belongs to; give both"
        )
    registry = RegistryOptions(
        username=username,
        password=password,
        credentials_source="the input registry-username",
        credentials_host=registry_host(host, "input registry-host") if host else None,
        docker_config_dir=env.docker_config,
    )
    return WriteOptions(
        settings=settings, pull=pull, registry=registry, dry_run=_bool("dry-run", inputs["dry-run"])
    )


def _auto_merge(value: str, default: tuple[str, ...]) -> tuple[str, ...]:
    envs = _list(value)
    if [env.lower() for env in envs] in (["false"], ["none"]):
        return ()
    return tuple(envs) if envs else default


def _deadline(value: str) -> float:
    if not value:
        return DEFAULT_DEADLINE
    try:
        seconds = float(value)
    except ValueError:
        seconds = float("nan")
    if not 0 < seconds < float("inf"):
        raise InputError(f"input deadline must be a number of seconds above 0, not {value!r}")
    return seconds


def _user(kind: str, value: str) -> str:
    if "/" in value:
        raise InputError(f"{kind} {value!r} is not a GitHub user")
    return validate.reviewer(kind, value)


def _steps(value: str) -> int:
    if not value:
        return 1
    if not value.isdigit() or int(value) < 1:
        raise InputError(f"input images-back must be a whole number, 1 or more, not {value!r}")
    return int(value)


def _list(value: str) -> list[str]:
    return envmap.items(value)


def _bool(name: str, value: str) -> bool:
    lowered = value.lower()
    if lowered not in _TRUE | _FALSE:
        raise InputError(f"input {name} must be true or false, not {value!r}")
    return lowered in _TRUE


def flag(inputs: Mapping[str, str], name: str) -> bool:
    """A true-or-false input."""
    return _bool(name, inputs[name])


# The builders the other sub-actions' inputs share (action/promote_inputs.py).
check_plain = _check_plain
items = _list
location = _location
deadline = _deadline
write_options = _write
