"""The inputs of the `ditkrg/autodeploy/promote` and `ditkrg/autodeploy/status` actions (each
folder's action.yml declares exactly these) as the options the CLI builds for `autodeploy promote`
and `autodeploy status`; their step outputs and summaries."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, fields

from autodeploy import deployment, flux, render, validate
from autodeploy.action import inputs as common
from autodeploy.action.outputs import Outputs
from autodeploy.environment import Environment
from autodeploy.errors import InputError
from autodeploy.matrix import DEFAULT_ORDER, Matrix
from autodeploy.options import PromoteOptions, StatusOptions
from autodeploy.pipeline import Promoted
from autodeploy.plan import DEFAULT_PATH_TEMPLATE, PROMOTE_MESSAGE_TEMPLATE, DeployRequest, Settings

_LOCATION = {
    "gitops-repo": "",
    "gitops-dir": "",
    "token": "",
    "github-token": "",  # action.yml's default is ${{ github.token }}
    "client-id": "",
    "app-id": "",
    "private-key": "",
    "base-branch": "",
    "path-template": "",
    "deadline": "",
    "summary": "true",
}
# The root action's inputs promote takes as they are.
_SHARED = (
    "registry-username", "registry-password", "registry-host", "branch", "protected-branches",
    "labels", "reviewers", "assignees", "team-reviewers", "auto-merge", "merge-method", "body",
    "title", "commit-message", "draft", "dry-run", "wait", "wait-timeout", "on-timeout",
)  # fmt: skip
STATUS_INPUTS: Mapping[str, str] = {"app": "", "env": "", "env-order": "", **_LOCATION}
PROMOTE_INPUTS: Mapping[str, str] = {
    "from": "",
    "to": "",
    "app": "",
    "all": "false",
    **_LOCATION,
    "require-healthy": "true",
    "flux-context": "",
    "deployment-environment": "",
    "allow-downgrade": "false",
    "registry-check": "false",
    "image": "",
    **common.shared_inputs(*_SHARED),
    **{k: v for k, v in common.DEPLOYMENT_INPUTS.items() if k != "deployment-environment"},
}
BOOLEANS = (
    "all", "require-healthy", "allow-downgrade", "registry-check", "draft", "dry-run", "summary", "wait",
)  # fmt: skip


def read(environ: Mapping[str, str], action: str) -> dict[str, str]:
    declared = PROMOTE_INPUTS if action == "promote" else STATUS_INPUTS
    values = common.read_inputs(environ, declared)
    # The shared builders look these up; these actions do not declare them.
    return {**dict.fromkeys(common.INPUTS, ""), **values, "mode": common.INPUTS["mode"]}


def status_options(values: Mapping[str, str], env: Environment) -> StatusOptions:
    common.check_plain({k: values[k] for k in STATUS_INPUTS})
    template = _template(values)
    envs = tuple(validate.path_part("env", e) for e in common.items(values["env"]))
    order = tuple(validate.path_part("env", e) for e in common.items(values["env-order"]))
    return StatusOptions(
        location=common.location(values, env),
        apps=tuple(validate.path_part("app", a) for a in common.items(values["app"])),
        envs=envs,
        order=order or envs or DEFAULT_ORDER,
        path_template=template,
        deadline=common.deadline(values["deadline"]),
    )


def promote_options(values: Mapping[str, str], env: Environment) -> PromoteOptions:
    common.check_plain({k: values[k] for k in PROMOTE_INPUTS})
    for name in BOOLEANS:
        common.flag(values, name)
    apps = tuple(dict.fromkeys(validate.path_part("app", a) for a in common.items(values["app"])))
    every = common.flag(values, "all")
    if bool(apps) == every:
        raise InputError("give the input app (one or more) or `all: true`, not both or neither")
    if not values["from"] or not values["to"]:
        raise InputError("the inputs from and to are required: the source and target environments")
    source, target = validate.path_part("env", values["from"]), validate.path_part("env", values["to"])
    if source == target:
        raise InputError(f"the inputs from and to are both {source}: promote from one environment to another")
    contexts = tuple(common.items(values["flux-context"]))
    flux.context_globs(contexts, app="app", env="env")
    template = values["deployment-environment"] or deployment.DEFAULT_ENVIRONMENT_TEMPLATE
    deployment.check_template(template, "input deployment-environment")
    image = values["image"] or None
    registry_check = common.flag(values, "registry-check")
    if registry_check and not image:
        raise InputError("`registry-check: true` needs the input image (with {app} for several apps)")
    if image:
        from autodeploy.promotion import image_for

        image_for(image, "app")
    write = common.write_options(
        {**values, "commit-message": values["commit-message"] or PROMOTE_MESSAGE_TEMPLATE}, env
    )
    where = common.location(values, env)
    return PromoteOptions(
        location=where,
        source_env=source,
        target_env=target,
        apps=apps,
        every=every,
        allow_downgrade=common.flag(values, "allow-downgrade"),
        require_healthy=common.flag(values, "require-healthy"),
        flux_contexts=contexts,
        deployment_environment=template,
        registry_check=registry_check,
        image=image,
        run_url=env.run_url,
        write=write,
        deadline=common.deadline(values["deadline"]),
        wait=common.wait_options(values, env, where, shared=("flux-context", "deployment-environment")),
    )


def _template(values: Mapping[str, str]) -> str:
    template = values["path-template"] or DEFAULT_PATH_TEMPLATE
    settings = Settings(path_template=template)
    DeployRequest.path_for(settings, "app", "env")
    if "{app}" not in template or "{env}" not in template:
        raise InputError(f"input path-template {template!r} must name both {{app}} and {{env}}")
    return template


@dataclass(frozen=True)
class StatusOutputs:
    matrix: str  # status --json

    @classmethod
    def of(cls, grid: Matrix) -> StatusOutputs:
        return cls(json.dumps(render.status_json(grid), separators=(",", ":")))

    def items(self) -> list[tuple[str, str]]:
        return [("matrix", self.matrix)]


@dataclass(frozen=True)
class PromotedOutputs:
    promoted: str  # the apps whose target changes (or, in a dry run, would), comma-separated
    already: str  # the apps whose target already ran the source's build

    @classmethod
    def of(cls, promoted: Promoted) -> PromotedOutputs:
        outcome = promoted.outcome
        changed = [c.target.app for c in outcome.plan.changed] if outcome is not None else []
        return cls(",".join(changed), ",".join(c.app for c in promoted.same))

    def items(self) -> list[tuple[str, str]]:
        return [("promoted", self.promoted), ("already", self.already)]


def promote_summary(promoted: Promoted, options: PromoteOptions) -> str:
    from autodeploy.action import outputs

    lines = [f"### autodeploy: promote {options.source_env} → {options.target_env}", ""]
    if promoted.outcome is not None:
        text = outputs.summary(promoted.outcome, rollback=False)
        lines += text.splitlines()[2:]  # its table, without its own title
    else:
        lines.append("Nothing to promote.")
    for app, verdict in sorted(promoted.verdicts.items()):
        lines.append(f"- `{app}` in {options.source_env}: {verdict.health.value} ({verdict.reason})")
    if promoted.same:
        lines.append("- already the same build: " + ", ".join(f"`{c.app}`" for c in promoted.same))
    return "\n".join(lines) + "\n"


def nothing_written() -> Outputs:
    """The deploy outputs of a promotion that had nothing to copy."""
    empty = {f.name: "" for f in fields(Outputs)}
    return Outputs(**{**empty, "changed": "false", "pull_request_operation": "none"})
