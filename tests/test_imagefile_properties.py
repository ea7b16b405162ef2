"""Properties of the rewrite over generated files: bytes outside the block never change, a second
run is a no-op, and every value reads back as the same string under YAML 1.1 and 1.2."""

from __future__ import annotations

import io
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from ruamel.yaml import YAML

from autodeploy.imagefile import BANNER, RULE, Block, read_block, write_block

KEYS = st.from_regex(r"[a-z][a-zA-Z0-9_]{0,11}", fullmatch=True).filter(
    lambda k: k not in {"global", "annotations", "y", "n", "yes", "no", "on", "off", "true", "false", "null"}
)
SCALARS = st.one_of(
    st.integers(-1000, 1000).map(str),
    st.from_regex(r"[a-z][a-z0-9-]{0,10}", fullmatch=True).map(lambda s: f'"{s}"'),
    st.from_regex(r"[a-z][a-z0-9 ]{0,10}[a-z]", fullmatch=True).map(lambda s: f"'{s}'"),
    st.sampled_from(["true", "~", "1.5", "[1, 2]", "{a: b}", "'# not a comment'"]),
)
TAGS = st.from_regex(r"[A-Za-z0-9_][A-Za-z0-9._-]{0,40}", fullmatch=True)
DIGESTS = st.from_regex(r"sha256:[0-9a-f]{64}", fullmatch=True)
COMMITS = st.from_regex(r"[0-9a-f]{7,40}", fullmatch=True)
REPOS = st.from_regex(r"[a-z][a-z0-9-]{0,8}/[a-z][a-z0-9._-]{0,8}", fullmatch=True)
BLOCKS = st.builds(
    lambda repo, tag, digest, commit: Block(repo, tag, digest, f"https://github.com/{repo}", commit),
    REPOS,
    TAGS,
    DIGESTS,
    COMMITS,
)


@st.composite
def people_entries(draw: st.DrawFn, indent: int, step: int, depth: int = 0) -> list[str]:
    """Lines of a block mapping that people wrote: scalars, nested maps, comments, blank lines."""
    lines: list[str] = []
    for key in draw(st.lists(KEYS, min_size=0 if depth else 1, max_size=4, unique=True)):
        pad = " " * indent
        if draw(st.booleans()):
            lines.append(f"{pad}# {draw(st.text(alphabet='abc #:-', max_size=12))}".rstrip())
        if depth < 2 and draw(st.booleans()):
            children = draw(people_entries(indent + step, step, depth + 1))
            if children:
                lines.append(f"{pad}{key}:")
                lines.extend(children)
                continue
        comment = draw(st.sampled_from(["", "  # note"]))
        lines.append(f"{pad}{key}: {draw(SCALARS)}{comment}")
        if draw(st.booleans()):
            lines.append("")
    return lines


@st.composite
def image_files(draw: st.DrawFn) -> tuple[str, str, str]:
    """(text, text before the block, text after the block) of a generated image.yaml."""
    step = draw(st.sampled_from([2, 4]))
    indent = 2 * step
    head = [draw(st.sampled_from(["---", "# owned by people", ""]))] if draw(st.booleans()) else []
    head += ["apiVersion: helm.toolkit.fluxcd.io/v2", "kind: HelmRelease", "metadata:", f"{' ' * step}name: my-api"]
    head += ["spec:", f"{' ' * step}values:"]
    head += draw(people_entries(indent, step))
    old = draw(st.one_of(st.none(), BLOCKS))
    block_lines: list[str] = []
    if old is not None:
        pad = " " * indent
        middle = BANNER + draw(st.sampled_from(["", "#"]))
        block_lines = [pad + RULE, pad + middle, pad + RULE, f"{pad}# GITHUB_REPOSITORY: {old.source_repo}"]
        block_lines += [f"{pad}global:", f"{pad}{' ' * step}image:", f"{pad}{' ' * 2 * step}tag: \"{old.tag}\""]
        if draw(st.booleans()):
            block_lines.append(f"{pad}{' ' * 2 * step}digest: {old.digest}")
        block_lines += [f"{pad}annotations:", f"{pad}{' ' * step}GITHUB_REPO_URL: {old.repo_url}"]
        block_lines.append(f"{pad}{' ' * step}GITHUB_COMMIT_HASH: \"{old.commit}\"")
    tail = draw(st.sampled_from([[], [f"{' ' * step}interval: 1h"], ["---", "kind: ConfigMap"]]))
    newline = draw(st.sampled_from(["\n", "\r\n"]))
    final = draw(st.sampled_from([newline, ""]))
    text = newline.join(head + block_lines + tail) + final
    return text, newline.join(head), newline.join(tail) + final if tail else ""


def load(text: str, version: tuple[int, int]) -> Any:
    yaml = YAML(typ="safe", pure=True)
    yaml.version = version
    return list(yaml.load_all(io.StringIO(text)))


def without_block(values: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in values.items() if k not in {"global", "annotations"}}


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(image_files(), BLOCKS)
def test_only_the_block_changes(case: tuple[str, str, str], new: Block) -> None:
    text, before, after = case
    result = write_block(text, new)
    assert result.startswith(before)
    assert result.endswith(after)
    assert write_block(result, new) == result  # the second run is a no-op
    assert read_block(result) == new
    for version in ((1, 1), (1, 2)):
        old_doc, new_doc = load(text, version)[0], load(result, version)[0]
        assert {k: v for k, v in new_doc.items() if k != "spec"} == {k: v for k, v in old_doc.items() if k != "spec"}
        old_values = (old_doc.get("spec") or {}).get("values") or {}
        new_values = new_doc["spec"]["values"]
        assert without_block(new_values) == without_block(old_values)
        assert new_values["global"]["image"] == {"tag": new.tag, "digest": new.digest}
        assert new_values["annotations"] == {"GITHUB_REPO_URL": new.repo_url, "GITHUB_COMMIT_HASH": new.commit}


@settings(max_examples=300, deadline=None)
@given(TAGS, COMMITS)
def test_any_valid_tag_and_commit_read_back_as_strings(tag: str, commit: str) -> None:
    base = "kind: HelmRelease\nspec:\n  values:\n    replicas: 1\n"
    result = write_block(base, Block("a/b", tag, "sha256:" + "0" * 64, "https://github.com/a/b", commit))
    for version in ((1, 1), (1, 2)):
        values = load(result, version)[0]["spec"]["values"]
        assert values["global"]["image"]["tag"] == tag
        assert values["annotations"]["GITHUB_COMMIT_HASH"] == commit
