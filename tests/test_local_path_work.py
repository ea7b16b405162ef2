"""No wasted work on the local path (issue 13): a dry run given its digest and commit imports no
registry client and starts no git process outside a checkout; each file is parsed once per run; the
big-text work (parse, rewrite, diff) runs with the cyclic garbage collector held off."""

from __future__ import annotations

import gc
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from github_world import SOURCE, digest, files

from autodeploy import pipeline, plan
from autodeploy.imagefile import layout
from autodeploy.imageref import parse
from autodeploy.localdir import LocalDir
from autodeploy.plan import DeployRequest, Relation, Target

ROOT = Path(__file__).resolve().parents[1]
COMMIT = "2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d5e"
PROBE = """
import json, runpy, subprocess, sys
started = []
real = subprocess.Popen.__init__
def spy(self, args, *rest, **kwargs):
    started.append(list(args) if not isinstance(args, str) else [args])
    real(self, args, *rest, **kwargs)
subprocess.Popen.__init__ = spy
sys.argv = ["autodeploy", *sys.argv[1:]]
try:
    runpy.run_module("autodeploy", run_name="__main__")
    code = 0
except SystemExit as exc:
    code = exc.code
print(json.dumps({"code": code, "started": started, "modules": sorted(sys.modules)}), file=sys.stderr)
"""


def test_a_dry_run_given_digest_and_commit_imports_no_registry_client_and_starts_no_git(
    tmp_path: Path,
) -> None:
    shutil.copytree(ROOT / "examples" / "gitops", tmp_path / "gitops")
    (tmp_path / "bin").mkdir()  # a PATH without git: a git process would fail the run
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GITHUB_", "AUTODEPLOY_", "GIT_"))}
    env["PATH"] = str(tmp_path / "bin")
    args = [
        *("deploy", "--gitops-dir", "gitops", "--app", "my-api", "--env", "staging"),
        *("--tag", "ghcr.io/my-team/my-api:main-2b3c4d5", "--digest", digest("main-2b3c4d5")),
        *("--commit", COMMIT, "--source-repo", "my-team/my-api", "--dry-run"),
    ]
    done = subprocess.run(
        [sys.executable, "-c", PROBE, *args],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env=env,
        timeout=60,
    )
    found = json.loads(done.stderr.strip().splitlines()[-1])
    assert found["code"] == 0, done.stderr
    assert "+      GITHUB_COMMIT_HASH: " + COMMIT in done.stdout
    assert found["started"] == []
    # the registry's options are typed values in the options; nothing that talks to a registry
    registry = {m for m in found["modules"] if m.startswith("autodeploy.registry")}
    assert registry <= {"autodeploy.registry", "autodeploy.registry.access"}, registry
    assert not {m for m in found["modules"] if m.split(".")[0] in {"requests", "urllib3", "docker"}}


class Newer:
    """A source history that always says the new commit is newer: the guard reads every block."""

    def relation(self, repo: str, old: str, new: str) -> Relation:
        return Relation.NEWER


def test_each_file_of_a_monorepo_deploy_is_parsed_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    apps = tuple(f"app{n:02d}" for n in range(12))
    for path, text in files("1" * 40, apps=apps).items():
        (tmp_path / path).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / path).write_text(text)
    parsed: list[str] = []
    made = layout.Layout.__init__

    def counting(self: layout.Layout, text: str, path: str) -> None:
        parsed.append(path)
        made(self, text, path)

    monkeypatch.setattr(layout.Layout, "__init__", counting)
    request = DeployRequest(
        tuple(Target(a, "production", parse(f"r.example/{a}:2.0.0"), digest("2.0.0")) for a in apps),
        COMMIT,
        SOURCE,
    )
    outcome = pipeline.deploy(request, LocalDir(str(tmp_path)), history=Newer(), dry_run=True)
    assert len(outcome.plan.changed) == len(apps)
    assert sorted(parsed) == sorted(
        f"{a}/production/image.yaml" for a in apps
    )  # the guard's read and the plan's


def test_the_diff_runs_without_the_cyclic_collector(monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[bool] = []
    real = plan.difflib.unified_diff

    def watched(*args: object, **kwargs: object):  # type: ignore[no-untyped-def]
        for line in real(*args, **kwargs):  # type: ignore[arg-type]
            seen.append(gc.isenabled())
            yield line

    monkeypatch.setattr(plan.difflib, "unified_diff", watched)
    assert gc.isenabled()
    diff = plan.unified_diff("x.yaml", "a: 1\n" * 1000, "a: 1\n" * 999 + "a: 2\n")
    assert "+a: 2" in diff and seen and not any(seen)
    assert gc.isenabled()  # and back on afterwards
