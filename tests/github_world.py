"""A GitOps repo and a source repo in the fake GitHub, and deploys to run against them.

world = World(github)            # team/gitops (apps api and web; development, staging, production)
outcome = world.deploy("api", "production", "1.2.0")
world.calls_since(mark)          # requests made since a point, for counting
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from github.Auth import Token
from github_fake import TOKEN, FakeGitHub, Repo

from autodeploy import pipeline
from autodeploy.environment import Environment, PushEvent
from autodeploy.github.api import RepoApi
from autodeploy.github.client import Client
from autodeploy.github.connection import ClientOptions
from autodeploy.github.guard import CompareHistory
from autodeploy.github.repo import GitHubRepo
from autodeploy.imagefile import Block, scaffold, write_block
from autodeploy.imageref import parse
from autodeploy.options import PullOptions
from autodeploy.plan import DeployRequest, Settings, Target

GITOPS = "team/gitops"
SOURCE = "team/api"
APPS = ("api", "web")
ENVS = ("development", "staging", "production")


def digest(seed: str) -> str:
    return "sha256:" + hashlib.sha256(seed.encode()).hexdigest()


def release_yaml(app: str) -> str:
    return (
        "apiVersion: helm.toolkit.fluxcd.io/v2\nkind: HelmRelease\nmetadata:\n"
        f"  name: {app}\n  namespace: apps\nspec:\n  chart:\n    spec:\n      chart: {app}\n"
    )


def image_yaml(app: str, tag: str, commit: str, source: str = SOURCE) -> str:
    block = Block(source, tag, digest(tag), f"https://github.com/{source}", commit)
    text = scaffold(
        release_yaml(app), block, path=f"{app}/x/image.yaml", release_path=f"{app}/base/release.yaml"
    )
    return text.replace("spec:\n  values:\n", "spec:\n  values:\n    replicaCount: 2\n", 1)


def files(commit: str, filler: int = 0, apps: tuple[str, ...] = APPS) -> dict[str, str]:
    """Every app's release and, per env, kustomization and image file; `filler` unrelated files on top."""
    out = {}
    for app in apps:
        out[f"{app}/base/release.yaml"] = release_yaml(app)
        for env in ENVS:
            out[f"{app}/{env}/kustomization.yaml"] = (
                "resources:\n  - ../base\npatches:\n  - path: image.yaml\n"
            )
            out[f"{app}/{env}/image.yaml"] = image_yaml(app, "1.0.0", commit)
    for number in range(filler):
        out[f"docs/filler/{number // 100:03d}/file-{number:05d}.md"] = f"# filler {number}\n"
    return out


@dataclass
class World:
    fake: FakeGitHub
    filler: int = 0
    apps: tuple[str, ...] = APPS
    gitops: Repo = field(init=False)
    source: Repo = field(init=False)
    commits: list[str] = field(init=False, default_factory=list)

    def __post_init__(self) -> None:
        self.source = self.fake.create_repo(SOURCE, {"README.md": "api\n"})
        self.commits = [self.source.refs["main"]]
        for number in range(1, 8):
            self.commits.append(
                self.source.write("main", {"README.md": f"api {number}\n"}, f"change {number}")
            )
        self.gitops = self.fake.create_repo(GITOPS, files(self.commits[1], self.filler, self.apps))
        self.fake.add_token(TOKEN)

    def client(self, token: str = TOKEN, **options: Any) -> Client:
        opts = ClientOptions(**{"api_url": self.fake.api_url, "sleep": lambda s: None, **options})
        return Client(Token(token), opts, credentials_hint="check the token")

    def repo(
        self,
        *,
        base: str | None = "main",
        options: PullOptions | None = None,
        client: Client | None = None,
    ) -> GitHubRepo:
        return GitHubRepo(RepoApi(client or self.client(), GITOPS), base=base, options=options)

    def history(self, event: PushEvent | None = None, client: Client | None = None) -> CompareHistory:
        made = client or self.client()
        return CompareHistory(lambda: made, event=event)

    def request(self, app: str, env: str, tag: str, commit: int, **kwargs: Any) -> DeployRequest:
        image = parse(f"registry.example.com/team/{app}:{tag}")
        settings = kwargs.pop("settings", Settings())
        return DeployRequest(
            (Target(app, env, image, digest(tag)),), self.commits[commit], SOURCE, settings=settings, **kwargs
        )

    def deploy(
        self,
        app: str,
        env: str,
        tag: str,
        commit: int,
        *,
        guard: bool = True,
        repo: GitHubRepo | None = None,
        dry_run: bool = False,
        **kwargs: Any,
    ) -> pipeline.Outcome:
        request = self.request(app, env, tag, commit, **kwargs)
        return pipeline.deploy(
            request,
            repo or self.repo(),
            history=self.history() if guard else None,
            dry_run=dry_run,
            sleep=lambda s: None,
        )

    def text(self, branch: str, path: str) -> str | None:
        return self.gitops.text(self.gitops.refs[branch], path)

    def mark(self) -> int:
        return len(self.fake.calls)

    def calls_since(self, mark: int) -> list[str]:
        return [f"{c.method} {c.template}" for c in self.fake.calls[mark:]]

    def merge_pull(self, number: int, *, squash: bool = False) -> None:
        """Merge an open pull request into its base as a person would, keeping its branch (GitHub's
        default): a merge commit, or with `squash` one commit of the merged tree."""
        pull = self.gitops.pulls[number]
        self.gitops.merge(pull, "squash" if squash else "merge", f"{pull.title} (#{number})")

    def edit_on(self, branch: str, path: str, text: str) -> None:
        self.gitops.write(branch, {path: text}, f"edit {path}")


def push_event(directory: Path, **fields: object) -> PushEvent | None:
    """A push to team/api as GitHub Actions hands it over (GITHUB_EVENT_PATH), read back."""
    path = directory / "event.json"
    path.write_text(
        json.dumps({"repository": {"full_name": SOURCE}, "forced": False, "commits": [], **fields})
    )
    return Environment.read({"GITHUB_EVENT_NAME": "push", "GITHUB_EVENT_PATH": str(path)}).push


def with_block(text: str, app: str, tag: str, commit: str) -> str:
    return write_block(
        text,
        Block(SOURCE, tag, digest(tag), f"https://github.com/{SOURCE}", commit),
        path=f"{app}/image.yaml",
    )
