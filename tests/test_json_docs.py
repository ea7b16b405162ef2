"""README's `--json` examples against real runs: each documented command prints exactly the keys
its example shows (recursively; a list's first item stands for all), so the documented JSON
cannot drift from what the commands print."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from checkouts import example_checkout, git
from registry_server import LocalRegistry, Seeded

from autodeploy.cli import main

ROOT = Path(__file__).resolve().parents[1]
BLOCK = re.compile(r"<!-- json: (?P<name>[a-z-]+) -->\n```json\n(?P<body>.*?)\n```", re.S)
FREE_FORM = {"labels"}  # maps whose keys are data, not schema
DIGEST = "sha256:570965b16c53e7fe6c48d50d8601a8cd2327143dba14412692a5b8fc2c119bf9"
COMMIT = "4e5f6a7b8c9d0e1f2a3b4c5d6e7f8a9b0c1d2e3f"


def documented() -> dict[str, Any]:
    found = {m["name"]: json.loads(m["body"]) for m in BLOCK.finditer((ROOT / "README.md").read_text())}
    assert found, "README has no <!-- json: NAME --> examples"
    return found


def assert_same_shape(doc: Any, out: Any, where: str = "$") -> None:
    """The same keys at every level (a list's first item stands for all; values may be null)."""
    if isinstance(doc, dict):
        assert isinstance(out, dict), f"{where}: printed {out!r}, documented an object"
        assert set(out) == set(doc), f"{where}: printed keys {sorted(out)}, documented {sorted(doc)}"
        for key in doc:
            if key not in FREE_FORM:
                assert_same_shape(doc[key], out[key], f"{where}.{key}")
    elif isinstance(doc, list):
        assert isinstance(out, list), f"{where}: printed {out!r}, documented a list"
        if doc and out:
            assert_same_shape(doc[0], out[0], f"{where}[0]")


def run_json(argv: list[str], capsys: pytest.CaptureFixture[str]) -> Any:
    assert main([*argv, "--json"]) == 0, capsys.readouterr().err
    return json.loads(capsys.readouterr().out)


@pytest.fixture
def checkout(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    for name in ("GITHUB_SHA", "GITHUB_REPOSITORY", "GITHUB_TOKEN", "AUTODEPLOY_GITHUB_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    root = example_checkout(tmp_path)
    assert main(deploy_args(root)) == 0
    git(root, "commit", "-q", "-am", "Merge pull request #12 from my-team/prod-release")
    return root


def deploy_args(root: Path, *extra: str) -> list[str]:
    return [
        "deploy", "--gitops-dir", str(root), "--app", "my-api", "--env", "production",
        "--image", "harbor.example.com/my-team/my-api", "--tag", "1.4.0", "--digest", DIGEST,
        "--commit", COMMIT, "--source-repo", "my-team/my-api", *extra,
    ]  # fmt: skip


def test_every_command_with_json_is_documented() -> None:
    assert {"deploy", "history", "resolve", "status", "promote"} <= set(documented())


def test_deploy_and_rollback(checkout: Path, capsys: pytest.CaptureFixture[str]) -> None:
    example = documented()["deploy"]
    assert_same_shape(example, run_json([*deploy_args(checkout, "--tag", "1.5.0"), "--dry-run"], capsys))
    rollback = ["rollback", "--gitops-dir", str(checkout), "--app", "my-api", "--env", "production",
                "--image", "harbor.example.com/my-team/my-api", "--no-registry-check"]  # fmt: skip
    assert_same_shape(example, run_json(rollback, capsys))


def test_history(checkout: Path, capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["history", "--gitops-dir", str(checkout), "--app", "my-api", "--env", "production"]
    printed = run_json(argv, capsys)
    assert [entry["tag"] for entry in printed["ran"]] == ["1.4.0", "1.3.0"]
    assert_same_shape(documented()["history"], printed)


@pytest.mark.usefixtures("registry_env")
def test_resolve(registry: LocalRegistry, seeded: Seeded, capsys: pytest.CaptureFixture[str]) -> None:
    image = seeded.attested
    printed = run_json(["resolve", registry.ref(image.repository, image.tag)], capsys)
    assert printed[0]["digest"] == image.digest
    assert_same_shape(documented()["resolve"], printed)


def test_the_check_fails_on_a_renamed_key() -> None:
    example = documented()["deploy"]
    renamed = {("pull_request" if k == "pr_number" else k): v for k, v in example.items()}
    with pytest.raises(AssertionError):
        assert_same_shape(example, renamed)
    with pytest.raises(AssertionError):
        assert_same_shape(example, {**example, "targets": [{"app": "x"}]})


def test_status_and_promote(checkout: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from test_status import commit

    commit(checkout, "my-api", "staging", "1.5.0", 7)
    printed = run_json(["status", "--gitops-dir", str(checkout)], capsys)
    assert [e["tag"] for e in printed["entries"]] == ["dev-843632a", "1.5.0", "1.4.0"]
    assert_same_shape(documented()["status"], printed)
    promote = ["promote", "--gitops-dir", str(checkout), "--app", "my-api", "--from", "staging",
               "--to", "production", "--no-require-healthy"]  # fmt: skip
    printed = run_json(promote, capsys)
    assert printed["promotions"][0]["tag"] == "1.5.0"
    assert_same_shape(documented()["promote"], printed)
