"""Nesting is measured before any parser recurses: 30,000 `[` used to crash the process (signal 11)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from autodeploy.errors import ImageFileError
from autodeploy.imagefile import MAX_DEPTH, check_nesting

DEEP = 30_000


def deep_block(levels: int) -> str:
    return "".join(f"{' ' * level}k{level}:\n" for level in range(levels)) + " " * levels + "v: 1\n"


def deep_sequences(levels: int) -> str:
    return "".join(f"{'  ' * level}-\n" for level in range(levels)) + "  " * levels + "- x\n"


@pytest.mark.parametrize(
    ("text", "line"),
    [
        ("a: 1\nx: " + "[" * DEEP + "\n", 2),
        ("x: " + "{" * DEEP, 1),
        ("x:\n  - " + "[{" * (MAX_DEPTH // 2) + "\n", 2),
        ("- " * (MAX_DEPTH + 1) + "x\n", 1),
        (deep_block(MAX_DEPTH + 5), MAX_DEPTH + 1),
        (deep_sequences(MAX_DEPTH), MAX_DEPTH + 1),
        ("x: [\n" + "[\n" * DEEP, MAX_DEPTH),  # the key is one level, each line one more
    ],
)
def test_too_deep_is_refused_naming_the_line(text: str, line: int) -> None:
    with pytest.raises(ImageFileError, match=rf"^targets.yaml:{line}: nests deeper than {MAX_DEPTH} levels"):
        check_nesting(text, path="targets.yaml")


@pytest.mark.parametrize(
    "text",
    [
        "x: " + "[" * 50 + "]" * 50 + "\n" + "y: [1, [2, [3]]]\n" * 60,  # many brackets, none deep
        "x: '" + "[" * DEEP + "'\n",  # inside a quoted scalar
        'x: "\\"' + "{" * DEEP + '"\n',  # an escaped quote does not end it
        "x: 'it''s " + "[" * DEEP + "'\n",
        "# " + "[" * DEEP + "\nx: 1\n",  # inside a comment
        "x: |\n  " + "[" * DEEP + '\n  "unclosed\ny: 1\n',  # inside a block scalar
        "x: >-\r\n  " + "{" * DEEP + "\r\ny: 1\r\n",
        deep_block(MAX_DEPTH // 4),
        deep_sequences(MAX_DEPTH * 3 // 5),  # a sequence at its key's column is one level
        "a: b[0]\n" * 300,  # a plain scalar with brackets counts, but they close
        "x: it's " + "[" * DEEP + "\n",  # brackets inside a plain scalar open nothing
    ],
)
def test_what_only_looks_deep_passes(text: str) -> None:
    check_nesting(text, path="values.yaml")


def test_the_scan_is_conservative_about_apostrophes_in_plain_scalars() -> None:
    """`it's` opens no quote: the brackets after it still count."""
    with pytest.raises(ImageFileError, match="nests deeper"):
        check_nesting("x: [it's, " + "[" * DEEP + "\n", path="f")


@pytest.mark.parametrize("opener", ["[", "{", "block"])
def test_the_cli_refuses_a_deep_image_file_with_exit_2_and_one_line(tmp_path: Path, opener: str) -> None:
    image = tmp_path / "gitops" / "a" / "e" / "image.yaml"
    image.parent.mkdir(parents=True)
    body = deep_block(DEEP // 10) if opener == "block" else "x: " + opener * DEEP + "\n"
    text = "kind: HelmRelease\nspec:\n  values:\n" + body
    image.write_text(text)
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "autodeploy",
            "deploy",
            "--gitops-dir",
            str(tmp_path / "gitops"),
            "--app",
            "a",
            "--env",
            "e",
            "--image",
            "reg.example/x",
            "--tag",
            "1",
            "--digest",
            "sha256:" + "a" * 64,
            "--commit",
            "b" * 40,
            "--source-repo",
            "o/r",
            "--dry-run",
        ],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=60,
    )
    assert result.returncode == 2, (result.returncode, result.stderr[-500:])
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and "Traceback" not in result.stderr
    assert lines[0].startswith("autodeploy: error: a/e/image.yaml:")
    assert f"nests deeper than {MAX_DEPTH} levels" in lines[0]
    assert result.stdout == ""
    assert image.read_text() == text
