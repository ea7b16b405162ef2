"""Every retry wait says why and for how long, so a slow run is never silent."""

from __future__ import annotations

import pytest
from github_fake import FakeGitHub
from github_world import World

from autodeploy.github.api import RepoApi


def test_a_retried_answer_is_a_line_with_the_wait(
    github: FakeGitHub, capsys: pytest.CaptureFixture[str]
) -> None:
    world = World(github)
    github.fail(502, method="GET", template="/repos/{owner}/{repo}/git/ref/{ref}", times=2)
    assert RepoApi(world.client(), "team/gitops").ref("main") is not None
    lines = [line for line in capsys.readouterr().err.splitlines() if "retrying" in line]
    assert len(lines) == 2
    assert lines[0].startswith("GitHub answered 502; retrying in ") and lines[0].endswith(" s, 2 of 5")
    assert lines[1].endswith(" s, 3 of 5")
