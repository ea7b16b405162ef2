"""The parsed flags, with the environment's defaults, as the typed options of each command. The
argparse Namespace ends here."""

from __future__ import annotations

import argparse
import dataclasses
import re
import sys

from autodeploy import report, targets, validate
from autodeploy.environment import Environment
from autodeploy.errors import InputError
from autodeploy.imageref import parse, registry_host
from autodeploy.options import (
    DEFAULT_DEADLINE,
    DEFAULT_WAIT_TIMEOUT,
    DeploymentOptions,
    DeployOptions,
    GitHubOptions,
    HistoryOptions,
    Location,
    PromoteOptions,
    PullOptions,
    ResolveOptions,
    RollbackOptions,
    StatusOptions,
    WaitCommandOptions,
    WaitOptions,
    WriteOptions,
)
from autodeploy.plan import DeployRequest, Settings
from autodeploy.registry.access import RegistryOptions

Options = (
    DeployOptions
    | RollbackOptions
    | HistoryOptions
    | ResolveOptions
    | StatusOptions
    | PromoteOptions
    | WaitCommandOptions
)


def options(args: argparse.Namespace, env: Environment) -> Options:
    command: str = args.command
    built: Options
    if command in ("deploy", "plan"):
        built = deploy(args, env, dry_run=command == "plan" or args.dry_run)
    elif command == "rollback":
        built = rollback(args, env)
    elif command == "history":
        built = history(args, env)
    elif command == "status":
        built = status(args, env)
    elif command == "promote":
        built = promote(args, env)
    elif command == "wait":
        built = wait_command(args, env)
    else:
        built = resolve(args, env)
    if isinstance(built, DeployOptions | RollbackOptions) and built.wait and built.location.github is None:
        raise InputError("--wait needs --gitops-repo: Flux's statuses are read from GitHub")
    return dataclasses.replace(built, deadline=deadline(args.deadline, env))


def deadline(given: float | None, env: Environment) -> float:
    if given is None and env.deadline:
        try:
            given = float(env.deadline)
        except ValueError:
            raise InputError(f"AUTODEPLOY_DEADLINE {env.deadline!r} is not a number of seconds") from None
    value = DEFAULT_DEADLINE if given is None else given
    if not 0 < value < float("inf"):
        raise InputError(f"--deadline must be a number of seconds above 0, not {value:g}")
    return value


def deploy(args: argparse.Namespace, env: Environment, *, dry_run: bool) -> DeployOptions:
    where = location(args, env)
    return DeployOptions(
        location=where,
        targets=targets.build(
            apps=args.app,
            envs=args.env,
            image=args.image,
            tag=args.tag,
            digest=args.digest,
            targets_file=args.targets,
        ),
        commit=args.commit,
        source_repo=args.source_repo,
        workflow_commit=env.sha,
        workflow_repo=env.repository,
        commit_from_image=args.commit_from_image,
        allow_downgrade=args.allow_downgrade,
        source_dir=args.source_dir,
        targets_file=args.targets,
        default_image=targets.image_ref(args.image, args.tag) if (args.image or args.tag) else None,
        write=write(args, env, dry_run=dry_run),
        wait=wait_options(args, env, where) if hasattr(args, "wait_timeout") else None,
    )


def rollback(args: argparse.Namespace, env: Environment) -> RollbackOptions:
    app, env_name = _one_target(args)
    if args.allow_retag and not args.registry_check:
        raise InputError("--allow-retag asks the registry where the tag points now: drop --no-registry-check")
    image = parse(args.image)
    if image.tag or image.digest:
        raise InputError(f"--image {args.image} carries a tag or digest: give the image alone, and --to TAG")
    where = location(args, env)
    return RollbackOptions(
        location=where,
        app=app,
        env=env_name,
        image=image,
        to=validate.tag(args.to) if args.to else None,
        steps=_at_least_one("--steps", args.steps),
        reason=args.reason,
        allow_retag=args.allow_retag,
        registry_check=args.registry_check,
        limit=_at_least_one("--limit", args.limit),
        commit_from_image=args.commit_from_image,
        workflow_repo=env.repository,
        run_url=env.run_url,
        write=write(args, env, dry_run=args.dry_run),
        wait=wait_options(args, env, where),
    )


def history(args: argparse.Namespace, env: Environment) -> HistoryOptions:
    app, env_name = _one_target(args)
    return HistoryOptions(
        location=location(args, env),
        app=app,
        env=env_name,
        path=DeployRequest.path_for(Settings(path_template=args.path_template), app, env_name),
        limit=_at_least_one("--limit", args.limit),
    )


def status(args: argparse.Namespace, env: Environment) -> StatusOptions:
    apps = tuple(validate.path_part("app", app) for app in args.app)
    envs = tuple(validate.path_part("env", name) for name in args.env)
    if args.env_order is not None:
        order = tuple(
            validate.path_part("env", name.strip()) for name in args.env_order.split(",") if name.strip()
        )
        if not order:
            raise InputError("--env-order lists no environment")
    else:
        order = envs or StatusOptions.order
    settings = Settings(path_template=args.path_template)
    DeployRequest.path_for(settings, "app", "env")  # refuses an unknown placeholder
    if "{app}" not in settings.path_template or "{env}" not in settings.path_template:
        raise InputError(f"--path-template {settings.path_template!r} must name both {{app}} and {{env}}")
    return StatusOptions(
        location=location(args, env), apps=apps, envs=envs, order=order, path_template=settings.path_template
    )


def promote(args: argparse.Namespace, env: Environment) -> PromoteOptions:
    from autodeploy import deployment, flux

    if not args.app and not args.all:
        raise InputError("give --app APP (repeatable) or --all")
    source, target = validate.path_part("env", args.source_env), validate.path_part("env", args.target_env)
    if source == target:
        raise InputError(f"--from and --to are both {source}: promote from one environment to another")
    apps = tuple(dict.fromkeys(validate.path_part("app", app) for app in args.app))
    flux.context_globs(args.flux_context, app="app", env="env")  # refuses an unknown placeholder now
    if args.registry_check and not args.image:
        raise InputError(
            "--registry-check needs --image (with {app} for several apps): the images to ask about"
        )
    if args.image:
        from autodeploy.promotion import image_for

        image_for(args.image, "app")
    template = args.deployment_environment or deployment.DEFAULT_ENVIRONMENT_TEMPLATE
    deployment.check_template(template, "--deployment-environment")
    where = location(args, env)
    return PromoteOptions(
        location=where,
        source_env=source,
        target_env=target,
        apps=apps,
        every=args.all,
        allow_downgrade=args.allow_downgrade,
        source_dir=args.source_dir,
        require_healthy=args.require_healthy,
        flux_contexts=tuple(args.flux_context),
        deployment_environment=template,
        registry_check=args.registry_check,
        image=args.image,
        run_url=env.run_url,
        write=write(args, env, dry_run=args.dry_run),
        wait=wait_options(args, env, where, shared=("--flux-context", "--deployment-environment")),
    )


def wait_options(
    args: argparse.Namespace, env: Environment, where: Location, *, shared: tuple[str, ...] = ()
) -> WaitOptions | None:
    """--wait and its flags (--deployment's too); None without --wait (and then none of them may be
    given, but for the `shared` ones the command also uses itself, as promote's gate does)."""
    switched = getattr(args, "wait", True)  # `autodeploy wait` has no --wait: it always waits
    if not switched:
        given = [
            flag
            for flag, value, default in (
                ("--flux-context", args.flux_context, []),
                ("--wait-timeout", args.wait_timeout, DEFAULT_WAIT_TIMEOUT),
                ("--on-timeout", args.on_timeout, "fail"),
                ("--deployment", args.deployment, False),
            )
            if value != default and flag not in shared
        ]
        if given:
            raise InputError(f"{given[0]} applies to the wait: add --wait")
        deployment(args, env, where.github, shared=shared)  # refuses its other flags, on their own
        return None
    made = validate.wait_options(
        contexts=args.flux_context,
        timeout=args.wait_timeout,
        on_timeout=args.on_timeout,
        names=("--flux-context", "--wait-timeout"),
    )
    return dataclasses.replace(made, deployment=deployment(args, env, where.github, shared=shared))


def wait_command(args: argparse.Namespace, env: Environment) -> WaitCommandOptions:
    where = location(args, env)
    if where.github is None:
        raise InputError("autodeploy wait needs --gitops-repo: Flux's statuses are read from GitHub")
    if args.pr is not None and args.pr < 1:
        raise InputError("--pr must be a pull request number")
    commit = args.gitops_commit
    if commit is not None:
        commit = commit.strip().lower()
        if not re.fullmatch(r"[0-9a-f]{40}", commit):
            raise InputError(
                f"--gitops-commit {args.gitops_commit!r} is not a full commit sha (40 hex digits)"
            )
    if args.since is not None and commit is None:
        raise InputError("--since applies to --gitops-commit only: a pull request is compared with its base")
    since = validate.since(args.since, "--since") if args.since is not None else None
    wait = wait_options(args, env, where)
    assert wait is not None
    if not {"{app}", "{env}"} <= set(re.findall(r"\{\w+\}", args.path_template)):
        raise InputError(
            f"--path-template {args.path_template!r} must hold {{app}} and {{env}}: the wait reads them"
        )
    return WaitCommandOptions(
        location=where,
        wait=wait,
        pull_request=args.pr,
        gitops_commit=commit,
        since=since,
        app=validate.path_part("app", args.app) if args.app else None,
        env=validate.path_part("env", args.env) if args.env else None,
        path_template=args.path_template,
    )


def resolve(args: argparse.Namespace, env: Environment) -> ResolveOptions:
    refs = tuple(parse(text) for text in args.images)
    for text, ref in zip(args.images, refs, strict=True):
        if not ref.tag and not ref.digest:
            raise InputError(f"image reference {text!r} has no tag: give IMAGE:TAG")
    return ResolveOptions(images=refs, registry=registry(args, env), with_labels=args.json)


def location(args: argparse.Namespace, env: Environment) -> Location:
    repo: str | None = args.gitops_repo or env.gitops_repo
    directory = getattr(args, "gitops_dir", None)  # `autodeploy wait` has none
    if directory is None and repo is None and not hasattr(args, "gitops_dir"):
        raise InputError("give --gitops-repo OWNER/REPO")
    if bool(directory) == bool(repo):
        raise InputError("give exactly one of --gitops-dir DIR or --gitops-repo OWNER/REPO")
    if repo is None:
        return Location(gitops_dir=directory)
    return Location(github=github(args, env, repo))


def github(args: argparse.Namespace, env: Environment, repo: str) -> GitHubOptions:
    from autodeploy.github import credentials

    if not 0 <= args.github_max_wait < float("inf"):
        raise InputError("--github-max-wait must be 0 or more seconds")
    secrets = credentials.Secrets(
        token=env.github_token,
        actions_token=env.actions_token,
        app_id=args.app_id or env.app_id,
        private_key=env.app_private_key,
        deployment_token=env.deployment_token,
    )
    return credentials.github_options(
        gitops_repo(repo),
        secrets,
        env,
        base=args.base_branch or env.base_branch,
        max_wait=args.github_max_wait,
        private_key_file=args.private_key_file,
        installation_id=args.app_installation_id,
    )


def deployment(
    args: argparse.Namespace, env: Environment, github: GitHubOptions | None, *, shared: tuple[str, ...] = ()
) -> DeploymentOptions | None:
    """The GitHub Deployments parser.deployment_flags asks for; None without --deployment."""
    from autodeploy.github import credentials

    if not args.deployment:
        given = [
            flag
            for flag, value in (
                ("--deployment-environment", args.deployment_environment),
                ("--production-environment", args.production_environment),
                ("--environment-url", args.environment_url),
            )
            if value and flag not in shared
        ]
        if given:
            raise InputError(f"{given[0]} applies to --deployment only")
        return None
    if github is None:
        raise InputError("--deployment needs --gitops-repo: a deployment follows the pull request on GitHub")
    secrets = credentials.Secrets(
        token=env.github_token, actions_token=env.actions_token, deployment_token=env.deployment_token
    )
    return credentials.deployment_options(
        secrets,
        github.credentials,
        template=args.deployment_environment,
        production=args.production_environment,
        environment_url=args.environment_url,
        names=lambda name: f"--{name}",
    )


def gitops_repo(value: str) -> str:
    try:
        return validate.source_repo(value.strip())
    except InputError:
        raise InputError(f"--gitops-repo {value!r} is not of the form OWNER/REPO") from None


def write(args: argparse.Namespace, env: Environment, *, dry_run: bool) -> WriteOptions:
    defaults = Settings()
    if args.no_auto_merge:
        auto_merge: tuple[str, ...] = ()
    else:
        auto_merge = tuple(args.auto_merge_env) if args.auto_merge_env else defaults.auto_merge_envs
    settings = Settings(
        path_template=args.path_template,
        branch_template=args.branch,
        title_template=args.title,
        message_template=args.message,
        labels=tuple(args.label) if args.label is not None else defaults.labels,
        auto_merge_envs=auto_merge,
        server_url=env.server_url or defaults.server_url,
        protected_branches=tuple(args.protected_branch),
    )
    pull = PullOptions(
        reviewers=tuple(validate.reviewer("--reviewer", r) for r in args.reviewer),
        merge_method=args.merge_method,
        draft=args.draft,
        body=args.body or "",
        assignees=tuple(_user("--assignee", a) for a in args.assignee),
        origin=env.origin,
    )
    return WriteOptions(settings=settings, pull=pull, registry=registry(args, env), dry_run=dry_run)


def registry(args: argparse.Namespace, env: Environment) -> RegistryOptions:
    username: str | None = args.registry_username
    password: str | None = None
    source = "--registry-username"
    if args.registry_password_stdin:
        if not username:
            raise InputError("--registry-password-stdin needs --registry-username")
        password = sys.stdin.read().rstrip("\r\n")
        if not password:
            raise InputError("--registry-password-stdin read an empty password from standard input")
        report.secret(password)
    elif username:
        raise InputError(
            "--registry-username needs --registry-password-stdin (the password on standard input)"
        )
    elif env.registry_username or env.registry_password:
        if not (env.registry_username and env.registry_password):
            raise InputError(
                "set both AUTODEPLOY_REGISTRY_USERNAME and AUTODEPLOY_REGISTRY_PASSWORD, or neither"
            )
        username, password = env.registry_username, report.secret(env.registry_password)
        source = "AUTODEPLOY_REGISTRY_USERNAME"
    if not 0 <= args.registry_max_wait < float("inf"):
        raise InputError("--registry-max-wait must be 0 or more seconds")
    return RegistryOptions(
        username=username,
        password=password,
        credentials_source=source,
        credentials_host=registry_host(args.registry_host, "--registry-host") if args.registry_host else None,
        max_wait=args.registry_max_wait,
        insecure_registries=tuple(
            registry_host(value, "--insecure-registry") for value in args.insecure_registry
        ),
        docker_config_dir=env.docker_config,
        digest_from=args.digest_from,
    )


def _user(flag: str, value: str) -> str:
    if "/" in value:
        raise InputError(f"{flag} {value!r} is not a GitHub user")
    return validate.reviewer(flag, value)


def _one_target(args: argparse.Namespace) -> tuple[str, str]:
    if not args.app or not args.env:
        raise InputError("give --app and --env")
    return validate.path_part("app", args.app), validate.path_part("env", args.env)


def _at_least_one(flag: str, value: int) -> int:
    if value < 1:
        raise InputError(f"{flag} must be 1 or more")
    return value
