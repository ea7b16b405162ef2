"""The scenarios of issue 13's table, each in a GitOps repo of its own on a fake GitHub: the requests
each makes, for tests/test_github_roundtrips.py to pin and bench/github_calls.py to count and time.

    calls = run(SCENARIOS["--targets with 10 apps, update"])   # ["POST /graphql", ...]

A scenario sets its repository up (unmeasured), then measures one command: `World.deploy` or
`pipeline.deploy` for deploys, the CLI itself (`history`, `rollback`) for the others, so that every
request the command makes is counted, the downgrade guard's compare in the source repo included.
`latency` seconds are slept before each request is answered, as a round trip to GitHub would take.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from github_fake import TOKEN, FakeGitHub
from github_world import SOURCE, World, digest, image_yaml

from autodeploy import cli, pipeline
from autodeploy.imageref import parse
from autodeploy.plan import DeployRequest, Target

PATH = "api/production/image.yaml"
VERSIONS = 200  # of the image file on main, for history and rollback


@dataclass(frozen=True)
class Scenario:
    apps: tuple[str, ...]
    setup: Callable[[World], None]
    measure: Callable[[World], object]


@dataclass(frozen=True)
class Measured:
    calls: list[str]
    seconds: float


def apps(count: int) -> tuple[str, ...]:
    return tuple(f"app{n:02d}" for n in range(count))


def deploy_all(
    world: World, tag: str, commit: int, *, only: tuple[str, ...] | None = None
) -> pipeline.Outcome:
    """One `deploy --targets` of every app of the world (or `only` these) to production."""
    request = DeployRequest(
        tuple(
            Target(app, "production", parse(f"registry.example.com/team/{app}:{tag}"), digest(tag))
            for app in only or world.apps
        ),
        world.commits[commit],
        SOURCE,
    )
    return pipeline.deploy(request, world.repo(), history=world.history(), sleep=lambda s: None)


def spread(world: World) -> None:
    """Each app last deployed to production from one of six source commits, so a deploy from the
    seventh asks the downgrade guard six questions (six compares, overlapped)."""
    world.gitops.write(
        "main",
        {
            f"{app}/production/image.yaml": image_yaml(app, "1.0.0", world.commits[1 + n % 6])
            for n, app in enumerate(world.apps)
        },
        "apps deployed from six commits",
    )


def new_envs(world: World) -> None:
    """No app has a production image file yet: a deploy scaffolds each from its release."""
    world.gitops.write("main", {f"{app}/production/image.yaml": None for app in world.apps}, "no images yet")


def long_history(world: World) -> None:
    for number in range(VERSIONS):
        tag = f"1.{number}.0"
        world.gitops.write(
            "main", {PATH: image_yaml("api", tag, world.commits[1 + number % 7])}, f"deploy {tag}"
        )


@contextlib.contextmanager
def cli_environment() -> Iterator[None]:
    """The CLI's view of the world: a token, no other GitHub variable, no checkout around it."""
    names = [n for n in os.environ if n.startswith(("GITHUB_", "AUTODEPLOY_", "INPUT_", "RUNNER_"))]
    saved = {n: os.environ.pop(n) for n in names}
    here = os.getcwd()
    with tempfile.TemporaryDirectory() as tmp:
        os.environ["GITHUB_TOKEN"] = TOKEN
        os.chdir(tmp)
        try:
            yield
        finally:
            os.chdir(here)
            os.environ.pop("GITHUB_TOKEN", None)
            os.environ.update(saved)


def run_cli(*argv: str) -> None:
    with (
        cli_environment(),
        open(os.devnull, "w") as quiet,
        contextlib.redirect_stdout(quiet),
        contextlib.redirect_stderr(quiet),
    ):
        code = cli.main([*argv, "--gitops-repo", "team/gitops", "--base-branch", "main"])
    assert code == 0, argv


ROLLBACK = ("rollback", "--app", "api", "--env", "production", "--image", "registry.example.com/team/api")


def _targets(count: int, *, update: bool) -> Scenario:
    return Scenario(
        apps(count),
        setup=(lambda w: deploy_all(w, "1.1.0", 2)) if update else (lambda w: None),
        measure=lambda w: deploy_all(w, "1.2.0", 3),
    )


SPREAD = "--targets with 10 apps deployed from 6 commits, first deploy"
SCAFFOLD = "--targets with 10 new image files, first deploy (scaffolds)"
SCENARIOS: dict[str, Scenario] = {
    "first deploy (opens a PR)": Scenario(
        ("api",), lambda w: None, lambda w: w.deploy("api", "production", "1.1.0", 2)
    ),
    "update of an open PR": Scenario(
        ("api",),
        lambda w: w.deploy("api", "production", "1.1.0", 2),
        lambda w: w.deploy("api", "production", "1.2.0", 3),
    ),
    "no-op (the same deploy again)": Scenario(
        ("api",),
        lambda w: w.deploy("api", "production", "1.1.0", 2),
        lambda w: w.deploy("api", "production", "1.1.0", 2),
    ),
    "--targets with 1 app, first deploy": _targets(1, update=False),
    "--targets with 10 apps, first deploy": _targets(10, update=False),
    "--targets with 50 apps, first deploy": _targets(50, update=False),
    "--targets with 10 apps, update": _targets(10, update=True),
    "--targets with 50 apps, update": _targets(50, update=True),
    f"history --limit 10 ({VERSIONS} versions)": Scenario(
        ("api",),
        long_history,
        lambda w: run_cli("history", "--app", "api", "--env", "production", "--limit", "10", "--json"),
    ),
    f"rollback to the previous image ({VERSIONS} versions)": Scenario(
        ("api",), long_history, lambda w: run_cli(*ROLLBACK, "--no-registry-check")
    ),
    SCAFFOLD: Scenario(apps(10), new_envs, lambda w: deploy_all(w, "1.2.0", 3)),
    SPREAD: Scenario(apps(10), spread, lambda w: deploy_all(w, "1.2.0", 7)),
}


def run(scenario: Scenario, *, latency: float = 0.0, validate: bool = True) -> Measured:
    """The requests (`METHOD /template`) of the scenario's command, and its wall time."""
    fake = FakeGitHub(validate=validate)
    with fake.serve():
        world = World(fake, apps=scenario.apps)
        scenario.setup(world)
        mark = world.mark()
        if latency:

            def wait(*_: Any) -> None:
                time.sleep(latency)

            fake.before_request = wait
        started = time.perf_counter()
        scenario.measure(world)
        seconds = time.perf_counter() - started
        fake.before_request = None
        assert not fake.problems, fake.problems[:5]
        return Measured(world.calls_since(mark), seconds)
