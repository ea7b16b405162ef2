"""A cancelled job: SIGTERM reaches `autodeploy wait` in its own process while it waits for Flux; it
exits 130 and the deployment it was updating becomes `error`, "cancelled"."""

from __future__ import annotations

import os
import selectors
import signal
import subprocess
import sys
import time
from pathlib import Path

from github.Auth import Token
from github_fake import TOKEN, WRITE_ALL, FakeGitHub
from github_fake_statuses import STATUS_READ
from github_world import GITOPS, SOURCE, World
from test_wait_cli import two_deploys_in_one_commit
from wait_world import DEPLOY_TOKEN

from autodeploy.github.client import Client
from autodeploy.github.connection import ClientOptions
from autodeploy.github.deployments import Deployments

ROOT = Path(__file__).resolve().parent.parent


def read_until(process: subprocess.Popen[str], text: str, seconds: float = 20.0) -> str:
    """stderr of `process` until a line holds `text` (bounded: `seconds`)."""
    assert process.stderr is not None
    selector = selectors.DefaultSelector()
    selector.register(process.stderr, selectors.EVENT_READ)
    seen, end = [], time.monotonic() + seconds
    while time.monotonic() < end:
        if selector.select(timeout=0.2):
            line = process.stderr.readline()
            if not line:
                break
            seen.append(line)
            if text in line:
                return "".join(seen)
    process.kill()
    raise AssertionError(f"no line with {text!r} within {seconds} s: {''.join(seen)}")


def test_sigterm_while_waiting_exits_130_and_marks_the_deployment_cancelled() -> None:
    with FakeGitHub.on_localhost() as fake:
        world = World(fake)
        fake.add_token(TOKEN, {**WRITE_ALL, **STATUS_READ})
        fake.add_token(DEPLOY_TOKEN, {"deployments": "write", "metadata": "read"}, repos={SOURCE})
        sha = two_deploys_in_one_commit(world)
        made = Deployments(
            Client(Token(DEPLOY_TOKEN), ClientOptions(api_url=fake.api_url), credentials_hint="x"), SOURCE
        )
        number = made.create(
            sha=world.commits[3], environment="staging", production=False, payload={}, description="api 2.0.0"
        )
        env = {k: v for k, v in os.environ.items() if not k.startswith(("GITHUB_", "AUTODEPLOY_", "INPUT_"))}
        env.update(
            GITHUB_API_URL=fake.api_url,
            AUTODEPLOY_GITHUB_TOKEN=TOKEN,
            AUTODEPLOY_DEPLOYMENT_TOKEN=DEPLOY_TOKEN,
            PYTHONPATH=str(ROOT),
        )
        argv = [
            "wait",
            "--gitops-repo",
            GITOPS,
            "--base-branch",
            "main",
            "--gitops-commit",
            sha,
            "--deployment",
        ]
        process = subprocess.Popen(
            [sys.executable, "-m", "autodeploy", *argv, "--app", "api"],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        try:
            read_until(process, "waiting for Flux on ")
            process.send_signal(signal.SIGTERM)
            _, err = process.communicate(timeout=20)
        finally:
            if process.poll() is None:
                process.kill()
        assert process.returncode == 130, err
        assert "autodeploy: error: interrupted" in err
        (deployment,) = fake.deployments_of(SOURCE)
        assert deployment.id == number
        assert [(s.state, s.description) for s in deployment.statuses] == [
            ("in_progress", "merged; waiting for Flux"),
            ("error", "cancelled"),
        ]
