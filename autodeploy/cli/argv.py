"""Options back to the command line that makes them: the Action logs it, so a user can rerun a step
locally with --dry-run. Secrets never appear; they travel in variables (README, Credentials)."""

from __future__ import annotations

from autodeploy import plan
from autodeploy.options import (
    DEFAULT_DEADLINE,
    DEFAULT_GITHUB_MAX_WAIT,
    DEFAULT_WAIT_TIMEOUT,
    DeployOptions,
    Location,
    PromoteOptions,
    PullOptions,
    RollbackOptions,
    StatusOptions,
    WaitCommandOptions,
    WaitOptions,
    WriteOptions,
)
from autodeploy.plan import Settings
from autodeploy.registry.access import DEFAULT_MAX_WAIT as DEFAULT_REGISTRY_MAX_WAIT


def argv(
    options: DeployOptions | RollbackOptions | WaitCommandOptions | StatusOptions | PromoteOptions,
) -> list[str]:
    if isinstance(options, StatusOptions):
        args = _status(options)
    elif isinstance(options, PromoteOptions):
        args = _promote(options)
    elif isinstance(options, WaitCommandOptions):
        args = _wait_command(options)
    else:
        args = _rollback(options) if isinstance(options, RollbackOptions) else _deploy(options)
        args += _wait(options.wait, switch=True)
    if options.deadline != DEFAULT_DEADLINE:
        args += ["--deadline", f"{options.deadline:g}"]
    return args


def _deploy(options: DeployOptions) -> list[str]:
    args = ["deploy", *_location(options.location)]
    if options.targets_file:  # the Action takes a targets file or apps and envs, not both
        args += ["--targets", options.targets_file]
        args += ["--tag", str(options.default_image)] if options.default_image else []
        given = {t.digest for t in options.targets}
        args += _flag("--digest", given.pop() if len(given) == 1 else None)
    else:
        apps = list(dict.fromkeys(t.app for t in options.targets))
        envs = list(dict.fromkeys(t.env for t in options.targets))
        first = options.targets[0]
        args += [arg for app in apps for arg in ("--app", app)]
        args += [arg for env in envs for arg in ("--env", env)]
        args += ["--tag", str(first.image)]
        args += _flag("--digest", first.digest)
    args += _flag("--commit", options.commit)
    args += _flag("--source-repo", options.source_repo)
    args += _flag("--source-dir", options.source_dir)
    args += _switch("--commit-from-image", options.commit_from_image)
    args += _switch("--allow-downgrade", options.allow_downgrade)
    return args + _write(options.write, options.location)


def _rollback(options: RollbackOptions) -> list[str]:
    args = ["rollback", *_location(options.location), "--app", options.app, "--env", options.env]
    args += ["--image", options.image.name]
    args += (
        ["--to", options.to]
        if options.to
        else (["--steps", str(options.steps)] if options.steps != 1 else [])
    )
    args += _flag("--reason", options.reason)
    args += _switch("--allow-retag", options.allow_retag)
    args += _switch("--no-registry-check", not options.registry_check)
    args += _switch("--commit-from-image", options.commit_from_image)
    if options.limit != 50:
        args += ["--limit", str(options.limit)]
    return args + _write(options.write, options.location)


def _wait_command(options: WaitCommandOptions) -> list[str]:
    args = ["wait", *_location(options.location)]
    args += ["--pr", str(options.pull_request)] if options.pull_request is not None else []
    args += _flag("--gitops-commit", options.gitops_commit) + _flag("--since", options.since)
    args += _flag("--app", options.app) + _flag("--env", options.env)
    if options.path_template != Settings().path_template:
        args += ["--path-template", options.path_template]
    return args + _wait(options.wait, switch=False)


def _wait(wait: WaitOptions | None, *, switch: bool, gate: bool = False) -> list[str]:
    """The wait's flags; with `gate` (promote) --flux-context and --deployment-environment are the
    command's own, given once."""
    if wait is None:
        return []
    args = ["--wait"] if switch else []
    if not gate:
        args += [arg for glob in wait.flux_contexts for arg in ("--flux-context", glob)]
    if wait.timeout != DEFAULT_WAIT_TIMEOUT:
        args += ["--wait-timeout", f"{wait.timeout:g}"]
    if wait.on_timeout != "fail":
        args += ["--on-timeout", wait.on_timeout]
    deployment = wait.deployment
    if deployment is None:
        return args
    from autodeploy.deployment import DEFAULT_ENVIRONMENT_TEMPLATE, DEFAULT_PRODUCTION

    args.append("--deployment")
    if deployment.environment_template != DEFAULT_ENVIRONMENT_TEMPLATE and not gate:
        args += ["--deployment-environment", deployment.environment_template]
    if deployment.production != DEFAULT_PRODUCTION:
        args += [arg for glob in deployment.production for arg in ("--production-environment", glob)]
    return args + _flag("--environment-url", deployment.environment_url)


def _status(options: StatusOptions) -> list[str]:
    args = ["status", *_location(options.location)]
    args += [arg for app in options.apps for arg in ("--app", app)]
    args += [arg for env in options.envs for arg in ("--env", env)]
    if options.order != (options.envs or StatusOptions.order):
        args += ["--env-order", ",".join(options.order)]
    if options.path_template != plan.DEFAULT_PATH_TEMPLATE:
        args += ["--path-template", options.path_template]
    return args


def _promote(options: PromoteOptions) -> list[str]:
    args = ["promote", *_location(options.location)]
    args += ["--all"] if options.every else [arg for app in options.apps for arg in ("--app", app)]
    args += ["--from", options.source_env, "--to", options.target_env]
    args += _switch("--no-require-healthy", not options.require_healthy)
    args += [arg for glob in options.flux_contexts for arg in ("--flux-context", glob)]
    if options.deployment_environment != PromoteOptions.deployment_environment:
        args += ["--deployment-environment", options.deployment_environment]
    args += _switch("--allow-downgrade", options.allow_downgrade)
    args += _flag("--source-dir", options.source_dir)
    args += _switch("--registry-check", options.registry_check)
    args += _flag("--image", options.image)
    written = _write(options.write, options.location)
    if options.write.settings.message_template == plan.PROMOTE_MESSAGE_TEMPLATE:
        at = written.index("--message")
        del written[at : at + 2]
    return args + written + _wait(options.wait, switch=True, gate=True)


def _location(location: Location) -> list[str]:
    if location.gitops_dir is not None:
        return ["--gitops-dir", location.gitops_dir]
    github = location.github
    assert github is not None
    args = ["--gitops-repo", github.repo, *_flag("--base-branch", github.base_branch)]
    if github.max_wait != DEFAULT_GITHUB_MAX_WAIT:
        args += ["--github-max-wait", f"{github.max_wait:g}"]
    app = github.credentials.app
    if app is not None:
        args += ["--app-id", app.app_id]
        if app.installation_id is not None:
            args += ["--app-installation-id", str(app.installation_id)]
    return args


def _write(write: WriteOptions, location: Location) -> list[str]:
    settings, defaults = write.settings, Settings()
    args = []
    if settings.path_template != defaults.path_template:
        args += ["--path-template", settings.path_template]
    args += _flag("--branch", settings.branch_template)
    args += [arg for glob in settings.protected_branches for arg in ("--protected-branch", glob)]
    args += _flag("--title", settings.title_template)
    if settings.message_template != plan.DEFAULT_MESSAGE_TEMPLATE:
        args += ["--message", settings.message_template]
    if settings.labels != defaults.labels:
        args += [arg for label in settings.labels for arg in ("--label", label)]
    if location.github is not None:
        args += _pull(write.pull, settings, defaults)
    registry = write.registry
    args += [arg for host in registry.insecure_registries for arg in ("--insecure-registry", host)]
    args += _flag("--registry-host", registry.credentials_host)
    if registry.max_wait != DEFAULT_REGISTRY_MAX_WAIT:
        args += ["--registry-max-wait", f"{registry.max_wait:g}"]
    if registry.digest_from != "registry":
        args += ["--digest-from", registry.digest_from]
    return args + _switch("--dry-run", write.dry_run)


def _pull(pull: PullOptions, settings: Settings, defaults: Settings) -> list[str]:
    args = [arg for reviewer in pull.reviewers for arg in ("--reviewer", reviewer)]
    args += _switch("--draft", pull.draft)
    args += _flag("--body", pull.body)
    args += [arg for user in pull.assignees for arg in ("--assignee", user)]
    if pull.merge_method != PullOptions().merge_method:
        args += ["--merge-method", pull.merge_method]
    if not settings.auto_merge_envs:
        args.append("--no-auto-merge")
    elif settings.auto_merge_envs != defaults.auto_merge_envs:
        args += [arg for env in settings.auto_merge_envs for arg in ("--auto-merge-env", env)]
    return args


def _flag(flag: str, value: str | None) -> list[str]:
    return [flag, value] if value else []


def _switch(flag: str, on: bool) -> list[str]:
    return [flag] if on else []
