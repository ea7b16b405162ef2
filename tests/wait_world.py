"""A deploy to the fake GitHub and the wait after it, on a clock that only sleeping moves:

run = WaitRun(github)                       # World with a token that may read statuses
outcome = run.deploy_and_wait("api", "staging", "2.0.0")
run.lines                                   # the progress lines, as printed
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from github_fake import TOKEN, WRITE_ALL, FakeGitHub
from github_fake_statuses import STATUS_READ
from github_world import GITOPS, World

from autodeploy import pipeline, waiting
from autodeploy.github.watch import GitHubWatch
from autodeploy.options import WaitOptions
from autodeploy.rollout import WaitTarget

STATUS_TEMPLATES = (
    "/repos/{owner}/{repo}/pulls/{pull_number}",
    "/repos/{owner}/{repo}/commits/{ref}/status",
    "/graphql",
)


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


@dataclass
class WaitRun:
    fake: FakeGitHub
    world: World = field(init=False)
    clock: FakeClock = field(default_factory=FakeClock)
    lines: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.world = World(self.fake)
        self.fake.add_token(TOKEN, {**WRITE_ALL, **STATUS_READ})

    @property
    def gitops(self) -> Any:
        return self.world.gitops

    def watch(self, **client: Any) -> GitHubWatch:
        return GitHubWatch(self.world.client(**client), GITOPS, "main")

    def deploy(self, app: str, env: str, tag: str, commit: int = 2) -> pipeline.Outcome:
        return self.world.deploy(app, env, tag, commit, guard=False)

    def wait_after(
        self,
        outcome: pipeline.Outcome,
        options: WaitOptions | None = None,
        *,
        deployments: waiting.DeploymentLog | None = None,
        specs: Callable[[Sequence[WaitTarget]], Sequence[waiting.DeploymentSpec]] | None = None,
        watch: GitHubWatch | None = None,
    ) -> pipeline.Outcome:
        made = watch or self.watch()
        adapters = pipeline.Adapters(
            repo=self.world.repo(),
            images=None,  # type: ignore[arg-type]
            files=None,  # type: ignore[arg-type]
            watch=lambda: made,
            deployments=(lambda repo: deployments) if deployments is not None else None,
        )
        return pipeline.wait_after(
            outcome,
            options or WaitOptions(),
            adapters,
            specs=specs,
            sleep=self.clock.sleep,
            clock=self.clock,
            say=self.lines.append,
        )

    def calls(self, mark: int) -> list[str]:
        return [f"{c.method} {c.template} {c.status}" for c in self.fake.calls[mark:]]
