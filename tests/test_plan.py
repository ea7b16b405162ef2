"""The deploy plan: branch, title and message naming, scaffolding, the downgrade guard, the diff."""

from __future__ import annotations

import subprocess
from dataclasses import replace
from pathlib import Path

import pytest

from autodeploy.errors import InputError
from autodeploy.imagefile import read_block
from autodeploy.imageref import parse
from autodeploy.plan import DeployRequest, Facts, Relation, Settings, Target, plan_deploy, unified_diff

EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "gitops"
DIGEST = "sha256:" + "c" * 64
COMMIT = "4e5f6a7b8c9d0e1f2a3b4c5d6e7f8a9b0c1d2e3f"


def target(app: str = "my-api", env: str = "staging", tag: str = "1.4.0") -> Target:
    return Target(app, env, parse(f"harbor.example.com/my-team/my-api:{tag}"), DIGEST)


def request(*targets: Target, **kwargs: object) -> DeployRequest:
    return DeployRequest(
        targets=targets or (target(),), commit=COMMIT, source_repo="my-team/my-api", **kwargs
    )  # type: ignore[arg-type]


def example_facts(*paths: str) -> Facts:
    files = {}
    for path in paths:
        file = EXAMPLE / path
        files[path] = file.read_text() if file.exists() else None
    return Facts(files=files)


@pytest.mark.parametrize(
    ("env", "branch", "title"),
    [
        ("production", "prod-release", "Production release"),
        ("staging", "staging-release", "Staging release"),
        ("development", "update-development-my-api", "chore: Update my-api image tag in development"),
    ],
)
def test_branches_and_titles_match_todays_action(env: str, branch: str, title: str) -> None:
    req = request(target(env=env))
    result = plan_deploy(req, example_facts(f"my-api/{env}/image.yaml"))
    assert result.branch == branch
    assert result.title == title
    assert result.auto_merge is (env == "development")
    assert result.labels == ("auto-deploy",)


def test_nested_app_names_become_dashes_in_the_branch() -> None:
    assert request(target(app="team/api", env="dev")).branch == "update-dev-team-api"


def test_several_apps_share_one_branch() -> None:
    req = request(target(app="api", env="dev"), target(app="worker", env="dev"))
    assert req.branch == "update-dev-api-worker"


def test_several_envs_need_an_explicit_branch() -> None:
    with pytest.raises(InputError, match="span several environments"):
        _ = request(target(env="dev"), target(env="staging")).branch
    req = request(target(env="dev"), target(env="staging"), settings=Settings(branch_template="deploy-{app}"))
    assert req.branch == "deploy-my-api"


@pytest.mark.parametrize(
    ("template", "message"),
    [
        ("deploy-{application}", r"--branch uses \{application\}, which is not one of \{app\}, \{env\}"),
        ("deploy-{app!r}", "plain {name}"),
        ("deploy-{app", "not a valid template"),
        ("deploy..{app}", "not a valid git branch name"),
    ],
)
def test_bad_branch_templates_are_refused(template: str, message: str) -> None:
    with pytest.raises(InputError, match=message):
        _ = request(settings=Settings(branch_template=template)).branch


def test_commit_message_names_old_and_new_tag() -> None:
    result = plan_deploy(request(), example_facts("my-api/staging/image.yaml"))
    assert result.commit_message == "deploy(my-api): staging main-1f0c2d9 -> 1.4.0"


def test_rollback_title_and_reason() -> None:
    req = request(
        target(env="production", tag="1.2.0"), rollback=True, reason="login broken", allow_downgrade=True
    )
    result = plan_deploy(req, example_facts("my-api/production/image.yaml"))
    assert result.title == "Rollback my-api in production to 1.2.0"
    assert result.commit_message == "deploy(my-api): production 1.3.0 -> 1.2.0\n\nRollback: login broken"


def test_plan_for_an_existing_file_has_old_and_new_values() -> None:
    result = plan_deploy(request(), example_facts("my-api/staging/image.yaml"))
    (change,) = result.changes
    assert change.changed and change.old and change.old.tag == "main-1f0c2d9"
    assert change.new.tag == "1.4.0" and change.new.digest == DIGEST
    assert read_block(change.new_text) == change.new
    assert result.diff() == change.diff()


def test_no_change_when_the_block_already_holds_the_deploy() -> None:
    first = plan_deploy(request(), example_facts("my-api/staging/image.yaml"))
    again = plan_deploy(request(), Facts(files={"my-api/staging/image.yaml": first.changes[0].new_text}))
    assert not again.changed and again.unchanged and again.diff() == "" and again.commit_message == ""


def test_scaffolds_a_missing_file_from_the_base_release() -> None:
    facts = Facts(
        files={
            "my-api/qa/image.yaml": None,
            "my-api/base/release.yaml": (EXAMPLE / "my-api/base/release.yaml").read_text(),
            "my-api/qa/kustomization.yaml": "resources:\n  - ../base\n",
        },
        listings={"my-api": ("base", "qa")},
    )
    result = plan_deploy(request(target(env="qa")), facts)
    (change,) = result.changes
    assert change.old_text is None and change.old is None
    assert "  name: my-api\n" in change.new_text and read_block(change.new_text) == change.new
    assert result.warnings == (
        "my-api/qa/kustomization.yaml does not mention image.yaml: add it to its patches or Flux "
        "will not apply the new image",
    )
    assert change.diff().startswith("--- /dev/null\n+++ b/my-api/qa/image.yaml\n")


def test_a_missing_environment_lists_the_ones_there_are() -> None:
    facts = Facts(
        files={"my-api/prod/image.yaml": None}, listings={"my-api": ("base", "production", "staging")}
    )
    with pytest.raises(
        InputError,
        match=r"my-api/prod/ does not exist; the directories in my-api/ are: base, production, staging",
    ):
        plan_deploy(request(target(env="prod")), facts)


def test_a_missing_app_says_what_to_check() -> None:
    facts = Facts(
        files={"nope/staging/image.yaml": None, "nope/base/release.yaml": None}, listings={"nope": None}
    )
    with pytest.raises(InputError, match="check --app, --env and --path-template"):
        plan_deploy(request(target(app="nope")), facts)


@pytest.mark.parametrize(
    ("relation", "skipped"),
    [(Relation.OLDER, True), (Relation.NEWER, False), (Relation.DIVERGED, False), (Relation.UNKNOWN, False)],
)
def test_downgrade_guard(relation: Relation, skipped: bool) -> None:
    facts = replace(example_facts("my-api/staging/image.yaml"), relations={"my-api/staging": relation})
    result = plan_deploy(request(), facts)
    assert bool(result.skipped) is skipped
    if skipped:
        assert (
            "newer than 4e5f6a7b8c9d" in result.skipped[0].reason
            and "--allow-downgrade" in result.skipped[0].reason
        )
        assert not result.changes


def test_allow_downgrade_overrides_the_guard() -> None:
    facts = replace(example_facts("my-api/staging/image.yaml"), relations={"my-api/staging": Relation.OLDER})
    assert plan_deploy(request(allow_downgrade=True), facts).changed


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"commit": "xyz"}, "is not a git commit hash"),
        ({"source_repo": "no-slash"}, "is not of the form OWNER/NAME"),
        ({"targets": (target(app="../etc"),)}, "app '../etc' is not a plain relative path"),
        ({"targets": (target(env="/abs"),)}, "must be a relative path"),
        ({"targets": (target(), target())}, "listed twice"),
        ({"targets": ()}, "nothing to deploy"),
    ],
)
def test_requests_are_validated(kwargs: dict[str, object], message: str) -> None:
    values: dict[str, object] = {"targets": (target(),), "commit": COMMIT, "source_repo": "my-team/my-api"}
    values.update(kwargs)
    with pytest.raises(InputError, match=message):
        DeployRequest(**values)  # type: ignore[arg-type]


def test_a_path_template_cannot_leave_the_repo() -> None:
    req = request(settings=Settings(path_template="../{app}/{env}/image.yaml"))
    with pytest.raises(InputError, match="must not contain empty, '.' or '..' segments"):
        req.path(req.targets[0])


@pytest.mark.parametrize(
    ("old", "new"),
    [
        ("a: 1\nb: 2\n", "a: 1\nb: 3\n"),
        ("a: 1\r\nb: 2\r\n", "a: 1\r\nb: 3\r\n"),
        ("a: 1\nb: 2", "a: 1\nb: 3"),
        ("a: 1\nb: 2", "a: 1\nb: 2\nc: 3"),
        (None, "new: file\n"),
    ],
)
def test_the_diff_applies_with_git(tmp_path: Path, old: str | None, new: str) -> None:
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    file = tmp_path / "app" / "image.yaml"
    file.parent.mkdir()
    if old is not None:
        file.write_bytes(old.encode())
    patch = tmp_path / "change.patch"
    patch.write_bytes(unified_diff("app/image.yaml", old, new).encode())
    subprocess.run(["git", "-C", str(tmp_path), "apply", "--whitespace=nowarn", str(patch)], check=True)
    assert file.read_bytes() == new.encode()


@pytest.mark.parametrize(
    ("new", "old", "older"),
    [
        ("1.2.0", "1.3.0", True),
        ("v1.2.9", "1.10.0", True),
        ("1.3.0-rc.1", "1.3.0", True),
        ("1.3.0-alpha", "1.3.0-alpha.1", True),
        ("1.3.0-alpha.2", "1.3.0-alpha.10", True),
        ("1.3.0", "1.3.0-rc.1", False),
        ("1.3.0+build.5", "1.3.0", False),
        ("2.0.0", "1.9.9", False),
        ("main-1a2b3c4", "1.3.0", False),  # not a version: the guard cannot tell
        ("1.2", "1.3.0", False),
    ],
)
def test_versions_compare_by_semver_precedence(new: str, old: str, older: bool) -> None:
    from autodeploy.plan import version_older

    assert version_older(new, old) is older
