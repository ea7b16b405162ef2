"""Properties of the rewrite over generated files: bytes outside the block never change, a second
run is a no-op, and every value reads back as the same string under YAML 1.1 and 1.2."""

from __future__ import annotations

import io
import re
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from ruamel.yaml import YAML

from rewrite_check import check_only_the_block_changed

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


COMMENTS = st.text(alphabet="abc #:-\t[{'", max_size=12)


@st.composite
def people_entries(
    draw: st.DrawFn, indent: int, step: int, depth: int = 0, anchors: list[str] | None = None
) -> list[str]:
    """Lines of a block mapping that people wrote: scalars, nested maps, comments, blank lines,
    anchors and the aliases and merge keys that use them (the last entry too), flow mappings."""
    anchors = [] if anchors is None else anchors
    lines: list[str] = []
    pad = " " * indent
    if any(a.startswith("m") for a in anchors) and draw(st.booleans()):
        lines.append(f"{pad}<<: *{draw(st.sampled_from([a for a in anchors if a.startswith('m')]))}")
    for key in draw(st.lists(KEYS, min_size=0 if depth else 1, max_size=4, unique=True)):
        if draw(st.booleans()):
            lines.append(f"{pad}# {draw(COMMENTS)}".rstrip())
        if depth < 2 and draw(st.booleans()):
            anchor = f"m{len(anchors)}" if draw(st.booleans()) else ""
            if anchor:
                anchors.append("!" + anchor)  # taken, but not usable inside itself
            children = draw(people_entries(indent + step, step, depth + 1, anchors))
            if children:
                lines.append(f"{pad}{key}: &{anchor}" if anchor else f"{pad}{key}:")
                lines.extend(children)
                if anchor:
                    anchors[anchors.index("!" + anchor)] = anchor
                continue
        comment = draw(st.sampled_from(["", "  # note"]))
        scalar_anchors = [a for a in anchors if a.startswith("s")]
        if scalar_anchors and draw(st.booleans()):
            value = f"*{draw(st.sampled_from(scalar_anchors))}"
        elif draw(st.integers(0, 3)) == 0:
            anchor = f"s{len(anchors)}"
            anchors.append(anchor)
            value = f"&{anchor} {draw(SCALARS)}"
        else:
            value = draw(SCALARS)
        lines.append(f"{pad}{key}: {value}{comment}")
        if draw(st.booleans()):
            lines.append("")
    return lines


@st.composite
def trailing_comments(draw: st.DrawFn, lowest: int, highest: int) -> list[str]:
    """Comment lines (and blank ones) people leave after the last key, indented lowest..highest."""
    lines = []
    for _ in range(draw(st.integers(0, 3))):
        column = draw(st.integers(lowest, highest))
        lines.append(draw(st.sampled_from(["", f"{' ' * column}# {draw(COMMENTS)}".rstrip()])))
    return lines


@st.composite
def image_files(draw: st.DrawFn) -> tuple[str, str, str]:
    """(text, text before the block, text after the block) of a generated image.yaml."""
    step = draw(st.sampled_from([2, 4]))
    indent = 2 * step
    head = [draw(st.sampled_from(["---", "# owned by people", ""]))] if draw(st.booleans()) else []
    head += [
        "apiVersion: helm.toolkit.fluxcd.io/v2",
        "kind: HelmRelease",
        "metadata:",
        f"{' ' * step}name: my-api",
    ]
    entries = draw(people_entries(indent, step))
    old = draw(st.one_of(st.none(), BLOCKS))
    empty = old is None and draw(st.sampled_from(["", "", " {}", " ~", " {}  # none yet"]))
    head += ["spec:", f"{' ' * step}values:{empty or ''}"]
    if not empty:
        head += entries
    if old is None:  # comments at least as deep as the keys stay above a new block
        head += draw(trailing_comments(indent, indent + 2 * step))
    block_lines: list[str] = []
    if old is not None:
        pad = " " * indent
        middle = BANNER + draw(st.sampled_from(["", "#"]))
        block_lines = [pad + RULE, pad + middle, pad + RULE, f"{pad}# GITHUB_REPOSITORY: {old.source_repo}"]
        block_lines += [f"{pad}global:", f"{pad}{' ' * step}image:", f'{pad}{" " * 2 * step}tag: "{old.tag}"']
        if draw(st.booleans()):
            block_lines.append(f"{pad}{' ' * 2 * step}digest: {old.digest}")
        block_lines += [f"{pad}annotations:", f"{pad}{' ' * step}GITHUB_REPO_URL: {old.repo_url}"]
        block_lines.append(f'{pad}{" " * step}GITHUB_COMMIT_HASH: "{old.commit}"')
    tail = draw(trailing_comments(0, indent - 1)) if old is None else []
    tail += draw(st.sampled_from([[], [f"{' ' * step}interval: 1h"], ["---", "kind: ConfigMap"]]))
    newline = draw(st.sampled_from(["\n", "\r\n"]))
    final = draw(st.sampled_from([newline, ""]))
    text = newline.join(head + block_lines + tail) + final
    while old is None and head[-1] == "":  # blank lines after the last key end up below the block
        head.pop()
    return text, newline.join(head), newline.join(tail) + final if tail else ""


_PLACEHOLDER = re.compile(r"values: (\{\}|~)")


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
    check_only_the_block_changed(text, result)
    if not _PLACEHOLDER.search(before):
        assert result.startswith(before)
    assert result.endswith(after)
    assert write_block(result, new) == result  # the second run is a no-op
    assert read_block(result) == new
    for version in ((1, 1), (1, 2)):
        old_doc, new_doc = load(text, version)[0], load(result, version)[0]
        assert {k: v for k, v in new_doc.items() if k != "spec"} == {
            k: v for k, v in old_doc.items() if k != "spec"
        }
        old_values = (old_doc.get("spec") or {}).get("values") or {}
        new_values = new_doc["spec"]["values"]
        assert without_block(new_values) == without_block(old_values)
        assert new_values["global"]["image"] == {"tag": new.tag, "digest": new.digest}
        assert new_values["annotations"] == {
            "GITHUB_REPO_URL": new.repo_url,
            "GITHUB_COMMIT_HASH": new.commit,
        }


@settings(max_examples=300, deadline=None)
@given(TAGS, COMMITS)
def test_any_valid_tag_and_commit_read_back_as_strings(tag: str, commit: str) -> None:
    base = "kind: HelmRelease\nspec:\n  values:\n    replicas: 1\n"
    result = write_block(base, Block("a/b", tag, "sha256:" + "0" * 64, "https://github.com/a/b", commit))
    for version in ((1, 1), (1, 2)):
        values = load(result, version)[0]["spec"]["values"]
        assert values["global"]["image"]["tag"] == tag
        assert values["annotations"]["GITHUB_COMMIT_HASH"] == commit
