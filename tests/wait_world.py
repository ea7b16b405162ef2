"""A deploy to the fake GitHub and the wait after it, on a clock that only sleeping moves:

run = WaitRun(github)                       # World with a token that may read statuses
outcome = run.deploy_and_wait("api", "staging", "2.0.0")
run.lines                                   # the progress lines, as printed
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from github_fake import TOKEN, WRITE_ALL, FakeGitHub
from github_fake_statuses import STATUS_READ
from github_world import GITOPS, SOURCE, World
from test_retry import Clock

from autodeploy import pipeline
from autodeploy.github import credentials
from autodeploy.github.deployments import Deployments
from autodeploy.github.watch import GitHubWatch
from autodeploy.options import DeploymentOptions, WaitOptions
from autodeploy.waiting import WaitOutcome

DEPLOY_TOKEN = "ghs_deploy0123456789abcdefghijklmnopqrstu"
DEPLOYMENT = DeploymentOptions(
    credentials=credentials.Credentials("AUTODEPLOY_DEPLOYMENT_TOKEN", token=DEPLOY_TOKEN)
)


class FakeClock(Clock):
    """test_retry's clock, starting at 1000."""

    def __init__(self) -> None:
        super().__init__()
        self.now = 1000.0


@dataclass
class WaitRun:
    fake: FakeGitHub
    world: World = field(init=False)
    clock: FakeClock = field(default_factory=FakeClock)
    lines: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.world = World(self.fake)
        self.fake.add_token(TOKEN, {**WRITE_ALL, **STATUS_READ})
        self.fake.add_token(DEPLOY_TOKEN, {"deployments": "write", "metadata": "read"}, repos={SOURCE})

    @property
    def gitops(self) -> Any:
        return self.world.gitops

    def watch(self, **client: Any) -> GitHubWatch:
        return GitHubWatch(self.world.client(**client), GITOPS, "main")

    def deploy(self, app: str, env: str, tag: str, commit: int = 2) -> pipeline.Outcome:
        return self.world.deploy(app, env, tag, commit, guard=False)

    def adapters(self, watch: GitHubWatch | None = None) -> pipeline.Adapters:
        made = watch or self.watch()

        def deployments(repo: str, chosen: credentials.Credentials | None) -> Deployments:
            client = self.world.client(DEPLOY_TOKEN)
            return Deployments(client, repo, token_source="AUTODEPLOY_DEPLOYMENT_TOKEN")

        return pipeline.Adapters(
            repo=self.world.repo(),
            images=None,  # type: ignore[arg-type]
            files=None,  # type: ignore[arg-type]
            watch=lambda: made,
            deployments=deployments,
            gitops_repo=GITOPS,
        )

    def wait_after(
        self,
        outcome: pipeline.Outcome,
        options: WaitOptions | None = None,
        *,
        watch: GitHubWatch | None = None,
    ) -> WaitOutcome:
        waited = pipeline.wait_after(
            outcome,
            options or WaitOptions(),
            self.adapters(watch),
            sleep=self.clock.sleep,
            clock=self.clock,
            say=self.lines.append,
        ).waited
        assert waited is not None
        return waited

    def polls(self, mark: int) -> list[str]:
        """The requests since `mark`, short: "GET pulls 200", "GET status 304", "POST graphql 200"."""
        short = {
            "/repos/{owner}/{repo}/pulls/{pull_number}": "pulls",
            "/repos/{owner}/{repo}/commits/{ref}/status": "status",
            "/graphql": "graphql",
        }
        return [f"{c.method} {short.get(c.template, c.template)} {c.status}" for c in self.fake.calls[mark:]]
