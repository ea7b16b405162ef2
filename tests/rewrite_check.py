"""What "only the block changes" means, checked without the rewrite's own code: a line scanner finds
the generated region, difflib finds what changed, a YAML 1.1 and a 1.2 reader read the result.

Shared by the corpus harness, the regression tests and the property tests.
"""

from __future__ import annotations

import io
import re
from functools import lru_cache
from typing import Any

from ruamel.yaml import YAML

from autodeploy.errors import ImageFileError
from autodeploy.imagefile import BANNER, Block, write_block

FIRST = Block("o/first", "1.2.3", "sha256:" + "1" * 64, "https://github.com/o/first", "1" * 40)
SECOND = Block("o/second", "0755", "sha256:" + "2" * 64, "https://github.com/o/second", "0123e45")

# Every reason a rewrite is refused: the rows of the table in README.md ("What it refuses").
REFUSALS = {
    "not a HelmRelease": r"is a \S+, not a HelmRelease",
    "several releases, or none": r"holds \d+ documents and (autodeploy cannot tell which|none is a) HelmRelease",
    "not a mapping": r"holds no YAML mapping|the document must be a block mapping",
    "`spec` or `spec.values` not a block mapping": r"spec(\.values)? must be a block mapping",
    "`spec` or `spec.values` an alias": r"spec(\.values)? is an alias",
    "invalid YAML": r"invalid YAML",
    "duplicate key": r"duplicate key",
    "nesting deeper than 200 levels": r"nests deeper than|nesting deeper than",
    "alias bomb": r"alias bomb|recursive alias",
    "`global` or `annotations` without the banner": r"exists but the generated banner is missing",
    "the banner misplaced": r"banner twice|banner is not inside spec\.values|is above the generated banner",
    "a generated value that is not plain": r"uses an anchor, alias or tag|must be a single-line value|must be a mapping",
}
_WHERE_RE = re.compile(r"^(?P<path>[^:]+):(?P<line>\d+): ")
_PLACEHOLDER_RE = re.compile(r"(?P<key>[ \t]*(?:spec|values)[ \t]*:)[ \t]*(?:\{\}|~|null)(?P<rest>.*)")
_CREATED_RE = re.compile(r"[ \t]*(?:spec|values):")


def refusal_reason(error: ImageFileError) -> str:
    """The README reason an error is; fails when the message fits none or names no line."""
    message = str(error)
    reason = next((name for name, pattern in REFUSALS.items() if re.search(pattern, message)), None)
    assert reason is not None, f"refused for a reason README.md does not list: {message}"
    assert "\n" not in message
    if not re.search(
        r"holds \d+ documents|holds no YAML mapping", message
    ):  # whole-file reasons name no line
        assert _WHERE_RE.match(message), f"refusal names no line: {message}"
    return reason


def generated_region(lines: list[str]) -> range:
    """Line numbers of the generated block in a text's lines: from the rule line above the banner to
    the last line indented at least as deep as the banner (blank lines inside it included)."""
    banner = next(i for i, line in enumerate(lines) if line.strip().startswith(BANNER))
    indent = len(lines[banner]) - len(lines[banner].lstrip())
    start = banner - 1 if banner and lines[banner - 1].strip().startswith("#" * 20) else banner
    last = banner
    for number in range(banner + 1, len(lines)):
        line = lines[number]
        if line.strip():
            if len(line) - len(line.lstrip()) < indent or line.startswith("---"):
                break
            last = number
    return range(start, last + 1)


def _outside(text: str) -> tuple[list[str], int]:
    """The lines of `text` outside its generated region, and where the region was among them."""
    lines = text.splitlines()
    if not any(line.strip().startswith(BANNER) for line in lines):
        return lines, len(lines)
    region = generated_region(lines)
    return lines[: region.start] + lines[region.stop :], region.start


def check_only_the_block_changed(old: str, new: str) -> None:
    """With the generated region taken out of both texts, what is left is the same line for line;
    all the rewrite may add outside the region is the `spec:` / `values:` keys it is created under,
    take out the placeholder (`values: {}`) of the line it grows under, and end the last line of a
    text that had no final line break."""
    old_rest, _ = _outside(old)
    new_rest, at = _outside(new)
    created = 0
    while created < 2 and at - created > 0 and _CREATED_RE.fullmatch(new_rest[at - created - 1]):
        created += 1
    for skip in range(created + 1):
        rest = new_rest[: at - skip] + new_rest[at:]
        if len(rest) == len(old_rest):
            break
    assert len(rest) == len(old_rest), "lines were added or removed outside the generated block"
    for number, (before, after) in enumerate(zip(old_rest, rest, strict=True)):
        if before != after:
            placeholder = _PLACEHOLDER_RE.fullmatch(before)
            assert placeholder and after == placeholder["key"] + placeholder["rest"], (
                f"a line changed outside the block: {before!r} -> {after!r} ({number + 1} of what is left)"
            )
    for newline in ("\r\n", "\n"):
        if newline in old:
            assert new.count(newline) >= old.count(newline), "line breaks changed"
            break
    assert new.endswith(("\n", "\r")) == old.endswith(("\n", "\r")) or not old, "final line break changed"


@lru_cache(maxsize=8)
def load_all(text: str, version: tuple[int, int]) -> list[Any]:
    yaml = YAML(typ="safe", pure=True)
    yaml.version = version
    yaml.allow_duplicate_keys = True
    return list(yaml.load_all(io.StringIO(text)))


def check_reads_back(old: str, new: str, block: Block) -> None:
    """Under YAML 1.1 and 1.2: the block's values read back as these strings, and everything else
    (other documents, other keys of spec.values) reads as it did."""
    for version in ((1, 1), (1, 2)):
        new_docs = load_all(new, version)
        try:
            old_docs = load_all(old, version)
        except Exception:  # a file only libyaml reads (a tag the safe loader lacks): compare the block
            old_docs = None
        holders = [i for i, doc in enumerate(new_docs) if _values(doc).get("annotations", {}) != {}]
        assert len(holders) == 1, f"YAML {version}: the block is in {len(holders)} documents"
        values = _values(new_docs[holders[0]])
        assert values["global"]["image"]["tag"] == block.tag
        assert values["global"]["image"]["digest"] == block.digest
        assert values["annotations"]["GITHUB_REPO_URL"] == block.repo_url
        assert values["annotations"]["GITHUB_COMMIT_HASH"] == block.commit
        for value in (*values["global"]["image"].values(), *values["annotations"].values()):
            assert isinstance(value, str)
        if old_docs is None:
            continue
        assert len(old_docs) == len(new_docs)
        for index, (before, after) in enumerate(zip(old_docs, new_docs, strict=True)):
            if index == holders[0]:
                before, after = _without_block(before), _without_block(after)
            assert before == after, f"YAML {version}: document {index + 1} reads differently"


def _values(doc: Any) -> dict[str, Any]:
    spec = doc.get("spec") if isinstance(doc, dict) else None
    values = spec.get("values") if isinstance(spec, dict) else None
    return values if isinstance(values, dict) else {}


def _without_block(doc: Any) -> Any:
    if not isinstance(doc, dict):
        return doc
    spec = doc.get("spec")
    if not isinstance(spec, dict):
        return {k: v for k, v in doc.items() if k != "spec"}
    values = spec.get("values")
    rest = (
        {k: v for k, v in values.items() if k not in {"global", "annotations"}}
        if isinstance(values, dict)
        else {}
    )
    spec = {k: v for k, v in spec.items() if k != "values"}
    if rest:
        spec["values"] = rest
    doc = {k: v for k, v in doc.items() if k != "spec"}
    if spec:
        doc["spec"] = spec
    return doc


def deploy_twice(text: str, path: str = "image.yaml") -> str:
    """Deploy FIRST, then SECOND, then SECOND again; checks every promise and returns
    "deployed" or the README reason it was refused for."""
    try:
        first = write_block(text, FIRST, path=path)
    except ImageFileError as error:
        return refusal_reason(error)
    check_only_the_block_changed(text, first)
    check_reads_back(text, first, FIRST)
    second = write_block(first, SECOND, path=path)
    check_only_the_block_changed(first, second)
    check_reads_back(first, second, SECOND)
    assert write_block(second, SECOND, path=path) == second, "the second run is not a no-op"
    return "deployed"


def variant(text: str) -> str:
    """The same file as an editor on another machine might save it: a byte order mark, CRLF line
    breaks, no final newline, tabs after the `#` of comments, spaces on blank lines."""
    text = text.replace("\r\n", "\n").replace("\n\n", "\n  \n").replace("\n# ", "\n#\t")
    return "\ufeff" + text.lstrip("\ufeff").rstrip("\n").replace("\n", "\r\n")
