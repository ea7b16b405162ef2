"""The plan-then-apply pipeline on real files: races are re-planned, bounded; dry runs write nothing."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from autodeploy.errors import ConflictError, InputError
from autodeploy.imagefile import read_block
from autodeploy.imageref import ImageRef, parse
from autodeploy.localdir import LocalDir
from autodeploy.pipeline import Applied, Provenance, Snapshot, deploy, resolve_targets
from autodeploy.plan import DeployPlan, DeployRequest, Relation, Target

DIGEST = "sha256:" + "e" * 64
STAGING = "my-api/staging/image.yaml"


def request(**kwargs: object) -> DeployRequest:
    image = parse("harbor.example.com/my-team/my-api:2.1.0")
    return DeployRequest((Target("my-api", "staging", image, DIGEST),), "abcdef1", "my-team/my-api", **kwargs)  # type: ignore[arg-type]


class RacingDir(LocalDir):
    """Another writer edits the file between our read and our write, `races` times."""

    def __init__(self, root: str, races: int) -> None:
        super().__init__(root)
        self.races = races
        self.applies = 0

    def apply(self, plan: DeployPlan, request: DeployRequest, snapshot: Snapshot) -> Applied:
        self.applies += 1
        if self.races:
            self.races -= 1
            path = self.root / STAGING
            text = path.read_text()
            path.write_text(text.replace("spec:\n", f"spec:\n  # edit {self.applies} by someone else\n", 1))
        return super().apply(plan, request, snapshot)


def test_a_lost_race_is_replanned_and_the_other_edit_kept(gitops: Path) -> None:
    sleeps: list[float] = []
    repo = RacingDir(str(gitops), races=2)
    outcome = deploy(request(), repo, sleep=sleeps.append)
    text = (gitops / STAGING).read_text()
    assert repo.applies == 3 and len(sleeps) == 2
    assert "# edit 1 by someone else" in text and "# edit 2 by someone else" in text
    assert read_block(text) == outcome.plan.changes[0].new
    assert outcome.changed


def test_retries_are_bounded(gitops: Path) -> None:
    sleeps: list[float] = []
    repo = RacingDir(str(gitops), races=100)
    with pytest.raises(ConflictError, match="gave up after 3 attempts"):
        deploy(request(), repo, max_attempts=3, sleep=sleeps.append)
    assert repo.applies == 3 and len(sleeps) == 2 and all(0 < s <= 8 for s in sleeps)


def test_dry_run_writes_nothing_and_previews(gitops: Path) -> None:
    before = (gitops / STAGING).read_bytes()
    outcome = deploy(request(), LocalDir(str(gitops)), dry_run=True)
    assert (gitops / STAGING).read_bytes() == before
    assert outcome.dry_run and outcome.applied is None and not outcome.changed
    assert outcome.preview == (f"would write {STAGING} in {gitops}",)
    assert outcome.plan.diff().startswith(f"--- a/{STAGING}\n+++ b/{STAGING}\n")


def test_nothing_to_do_applies_nothing(gitops: Path) -> None:
    deploy(request(), LocalDir(str(gitops)))
    repo = RacingDir(str(gitops), races=0)
    outcome = deploy(request(), repo)
    assert repo.applies == 0 and outcome.applied is None and not outcome.changed


class History:
    def __init__(self, relation: Relation) -> None:
        self.value = relation
        self.calls: list[tuple[str, str, str]] = []

    def relation(self, repo: str, old: str, new: str) -> Relation:
        self.calls.append((repo, old, new))
        return self.value


def test_the_guard_asks_the_source_history_once_and_skips_a_downgrade(gitops: Path) -> None:
    history = History(Relation.OLDER)
    before = (gitops / STAGING).read_bytes()
    outcome = deploy(request(), LocalDir(str(gitops)), history=history)
    assert history.calls == [("my-team/my-api", "1f0c2d9e8b7a6f5e4d3c2b1a0f9e8d7c6b5a4f3e", "abcdef1")]
    assert outcome.plan.skipped and not outcome.changed
    assert (gitops / STAGING).read_bytes() == before


def test_the_guard_is_not_asked_when_downgrades_are_allowed(gitops: Path) -> None:
    history = History(Relation.OLDER)
    assert deploy(request(allow_downgrade=True), LocalDir(str(gitops)), history=history).changed
    assert history.calls == []


class Images:
    def __init__(self) -> None:
        self.asked: list[tuple[ImageRef, bool]] = []

    def resolve(self, image: ImageRef, *, with_labels: bool) -> tuple[str, Provenance]:
        self.asked.append((image, with_labels))
        return DIGEST, Provenance(revision="abcdef1", source="https://github.com/my-team/my-api")


def test_resolve_only_what_has_no_digest() -> None:
    given = Target("a", "e", parse("r.example.com/x/y:1"), "sha256:" + "1" * 64)
    missing = Target("b", "e", parse("r.example.com/x/z:1"))
    images = Images()
    targets, provenance = resolve_targets([given, missing], images)
    assert [t.digest for t in targets] == ["sha256:" + "1" * 64, DIGEST]
    assert [i.name for i, _ in images.asked] == ["r.example.com/x/z"] and provenance.keys() == {"b/e"}


def test_a_given_digest_must_match_the_registry_when_labels_are_read() -> None:
    given = Target("a", "e", parse("r.example.com/x/y:1"), "sha256:" + "1" * 64)
    with pytest.raises(InputError, match="points at sha256:e+ in its registry, not at the given sha256:1+"):
        resolve_targets([given], Images(), with_labels=True)


def test_no_digest_and_no_registry_is_an_input_error() -> None:
    with pytest.raises(InputError, match="no --digest given"):
        resolve_targets([Target("a", "e", parse("r.example.com/x/y:1"))], None)


def test_the_core_imports_no_adapter_or_network_library() -> None:
    code = (
        "import sys, autodeploy.plan, autodeploy.pipeline, autodeploy.imagefile; "
        "print(sorted(m for m in ('github', 'requests', 'docker', 'urllib3') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True).stdout
    assert out.strip() == "[]"
