"""The rewrite over real HelmReleases from public GitOps repositories.

Each file is deployed as it is and as `variant` saves it (BOM, CRLF, no final newline, tabs in
comments, spaces on blank lines), which real repositories rarely show.

`corpus_manifest.json` names each file (repository, path, commit, sha256) and what deploying it must
give: "deployed", or the README reason it is refused for. The files themselves are not in this
repository: the harness reads them from `$AUTODEPLOY_CORPUS`, or from `../shared/corpus/helmreleases`
beside the repository, laid out as `<owner>/<name>/<path>`, and skips when neither exists.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from pathlib import Path

import pytest
from rewrite_check import REFUSALS, deploy_twice, variant

ROOT = Path(__file__).resolve().parents[1]
MANIFEST = json.loads((Path(__file__).parent / "corpus_manifest.json").read_text())


def corpus_dir() -> Path | None:
    configured = os.environ.get("AUTODEPLOY_CORPUS")
    candidate = Path(configured) if configured else ROOT.parent / "shared" / "corpus" / "helmreleases"
    return candidate if candidate.is_dir() else None


def test_the_manifest_describes_a_varied_corpus() -> None:
    assert len(MANIFEST) >= 100
    assert len({entry["repo"] for entry in MANIFEST}) >= 10
    for entry in MANIFEST:
        assert re.fullmatch(r"[\w.-]+/[\w.-]+", entry["repo"])
        assert re.fullmatch(r"[0-9a-f]{40}", entry["commit"])
        assert re.fullmatch(r"[0-9a-f]{64}", entry["sha256"])
        assert entry["outcome"] == "deployed" or entry["outcome"] in REFUSALS
    features = {feature for entry in MANIFEST for feature in entry["features"]}
    assert {"anchor", "alias", "merge", "block_scalar", "flow", "multi_doc", "valuesFrom"} <= features


def test_every_reason_for_a_refusal_is_in_the_readme() -> None:
    readme = (ROOT / "README.md").read_text()
    rows = {line.split("|")[1].strip() for line in readme.splitlines() if line.startswith("| ")}
    assert set(REFUSALS) <= rows


def test_the_harness_reads_the_corpus_layout_and_checks_each_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The harness itself, on two files written here in a corpus directory of the same layout."""
    files = {
        "deployed": "kind: HelmRelease\nspec:\n  values:\n    a: &a 1\n    b: *a\n",
        "several releases, or none": "kind: HelmRelease\n---\nkind: HelmRelease\n",
    }
    monkeypatch.setenv("AUTODEPLOY_CORPUS", str(tmp_path))
    for number, (outcome, text) in enumerate(files.items()):
        entry = {"repo": "someone/gitops", "path": f"apps/{number}/release.yaml", "outcome": outcome}
        file = tmp_path / entry["repo"] / entry["path"]
        file.parent.mkdir(parents=True)
        file.write_text(text)
        entry["sha256"] = hashlib.sha256(text.encode()).hexdigest()
        test_a_real_file_deploys_cleanly_or_is_refused_for_a_listed_reason(entry)
        with pytest.raises(AssertionError):
            test_a_real_file_deploys_cleanly_or_is_refused_for_a_listed_reason({**entry, "outcome": "x"})
        file.write_text(text + "# changed\n")
        with pytest.raises(AssertionError, match="is not the file the manifest names"):
            test_a_real_file_deploys_cleanly_or_is_refused_for_a_listed_reason(entry)


@pytest.mark.parametrize("entry", MANIFEST, ids=lambda entry: f"{entry['repo']}/{entry['path']}")
def test_a_real_file_deploys_cleanly_or_is_refused_for_a_listed_reason(entry: dict[str, str]) -> None:
    root = corpus_dir()
    if root is None:
        pytest.skip("no corpus: set AUTODEPLOY_CORPUS or provide ../shared/corpus/helmreleases")
    file = root / entry["repo"] / entry["path"]
    data = file.read_bytes()  # a missing file in a corpus that exists is a failure, not a skip
    assert hashlib.sha256(data).hexdigest() == entry["sha256"], f"{file} is not the file the manifest names"
    text, name = data.decode("utf-8"), f"{entry['repo']}/{entry['path']}"
    assert deploy_twice(text, path=name) == entry["outcome"]
    assert deploy_twice(variant(text), path=name) == entry["outcome"]  # BOM, CRLF, no final newline...
