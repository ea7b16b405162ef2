"""Each class of failure the corpus of real HelmReleases showed, on small files written for the test:
where an entry ends when it is an alias, comments after the last key, empty placeholders, files
that are not a HelmRelease, anchor names used twice."""

from __future__ import annotations

import pytest
from rewrite_check import FIRST, check_only_the_block_changed, deploy_twice

from autodeploy.errors import ImageFileError
from autodeploy.imagefile import BANNER, RULE, read_block, write_block

HEAD = "apiVersion: helm.toolkit.fluxcd.io/v2\nkind: HelmRelease\nmetadata:\n  name: web\nspec:\n  values:\n"


def block_at(indent: int, step: int = 2) -> str:
    """The block FIRST renders to, its keys at column `indent`."""
    pad, one, two = " " * indent, " " * step, " " * 2 * step
    return (
        f"{pad}{RULE}\n{pad}{BANNER}\n{pad}{RULE}\n{pad}# GITHUB_REPOSITORY: {FIRST.source_repo}\n"
        f"{pad}global:\n{pad}{one}image:\n{pad}{two}tag: {FIRST.tag}\n{pad}{two}digest: {FIRST.digest}\n"
        f"{pad}annotations:\n{pad}{one}GITHUB_REPO_URL: {FIRST.repo_url}\n"
        f'{pad}{one}GITHUB_COMMIT_HASH: "{FIRST.commit}"\n'
    )


@pytest.mark.parametrize(
    "values",
    [
        # the last value an alias whose anchor sits deeper, in another mapping
        "    ports:\n      http: &http 8080\n    service:\n      targetPort: *http\n",
        # a merge key last
        "    base: &base\n      replicas: 2\n    app:\n      <<: *base\n",
        # an alias last in a sequence, its anchor an earlier entry of the same sequence
        "    hosts:\n      - &h\n        name: a\n      - *h\n",
        # the anchor a whole mapping, the alias its own line after a comment
        "    probes: &probe\n      path: /health\n    liveness:\n      # same as probes\n      spec: *probe\n",
        # aliases first and last in an indentless sequence, with a comment between
        "    b: &b x\n    list:\n    - *b\n    - y\n    # last\n    - *b\n",
        # an alias as the only entry, flow collections and a block scalar around it
        "    a: &a [1, 2]\n    script: |\n      echo [x\n    b:\n      - [*a]\n      - *a\n",
    ],
)
def test_the_block_goes_after_an_entry_that_ends_in_an_alias(values: str) -> None:
    text = HEAD + values
    assert write_block(text, FIRST) == text + block_at(4)
    assert deploy_twice(text) == "deployed"


def test_an_alias_last_with_no_final_newline() -> None:
    text = HEAD + "    one: &one 1\n    two:\n      x: *one"
    assert write_block(text, FIRST) == text + "\n" + block_at(4).rstrip("\n")
    assert deploy_twice(text) == "deployed"


def test_an_alias_last_inside_the_block_leaves_the_block_where_it_ends() -> None:
    text = HEAD + "    shared: &s x\n" + block_at(4) + "    extra:\n      note: *s\n"
    assert write_block(text, FIRST) == text
    assert read_block(text) == FIRST


def test_comments_after_the_last_key_stay_above_the_banner() -> None:
    people = (
        "    replicas: 1\n"
        "    podAnnotations:\n"
        "      team: web\n"
        "      # owner: someone\n"
        "\n"
        "    # extraEnv:\n"
        "    #   - name: DEBUG\n"
        "    #\t  value: 'true'\n"
    )
    after = "\n  # interval: 10m\n  interval: 1h\n# end of the release\n"
    text = HEAD + people + after
    assert write_block(text, FIRST) == HEAD + people + block_at(4) + after
    assert deploy_twice(text) == "deployed"


def test_a_comment_less_indented_than_the_keys_stays_below() -> None:
    text = HEAD + "    a: 1\n   # three columns: not values'\n"
    assert write_block(text, FIRST) == HEAD + "    a: 1\n" + block_at(4) + "   # three columns: not values'\n"


def test_comments_under_empty_values_stay_above_the_banner() -> None:
    text = HEAD + "    # replicas: 2\n"
    assert write_block(text, FIRST) == text + block_at(4)


def test_comments_after_spec_stay_above_a_new_values_key() -> None:
    text = "kind: HelmRelease\nspec:\n  interval: 1h\n  # values:\n  #   replicas: 2\n"
    assert write_block(text, FIRST) == text + "  values:\n" + block_at(4)
    assert deploy_twice(text) == "deployed"


@pytest.mark.parametrize(
    ("line", "becomes"),
    [
        ("  values: {}\n", "  values:\n"),
        ("  values: {}  # filled by autodeploy\n", "  values:  # filled by autodeploy\n"),
        ("  values: ~\n", "  values:\n"),
        ("  values: null\n", "  values:\n"),
    ],
)
def test_an_empty_placeholder_becomes_the_block_mapping(line: str, becomes: str) -> None:
    text = "kind: HelmRelease\nspec:\n" + line + "  interval: 1h\n"
    assert (
        write_block(text, FIRST) == "kind: HelmRelease\nspec:\n" + becomes + block_at(4) + "  interval: 1h\n"
    )
    assert deploy_twice(text) == "deployed"


def test_an_empty_spec_becomes_a_block_mapping_too() -> None:
    text = "kind: HelmRelease\nspec: {}\n"
    assert write_block(text, FIRST) == "kind: HelmRelease\nspec:\n  values:\n" + block_at(4)
    assert deploy_twice(text) == "deployed"


def test_an_empty_generated_key_is_filled() -> None:
    text = HEAD + f"    {RULE}\n    {BANNER}\n    {RULE}\n    global: {{}}\n"
    assert write_block(text, FIRST) == HEAD + block_at(4)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "kind: HelmRelease\nspec:\n  values: {replicas: 2}\n",
            r"image.yaml:3: spec.values must be a block mapping; write it one key a line",
        ),
        (
            "kind: HelmRelease\nspec: {values: {}}\n",
            r"image.yaml:2: spec must be a block mapping; write it one key a line",
        ),
        ("kind: HelmRelease\nspec:\n  values: [a]\n", r"image.yaml:3: spec.values must be a block mapping$"),
        (
            "base: &v\n  a: 1\nkind: HelmRelease\nspec:\n  values: *v\n",
            r"image.yaml:5: spec.values is an alias",
        ),
        (
            "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources: []\n",
            r"image.yaml:2: is a Kustomization, not a HelmRelease",
        ),
        ("kind: ConfigMap\n---\nkind: Secret\n", r"image.yaml: holds 2 documents and none is a HelmRelease"),
        (
            "kind: HelmRelease\nspec:\n  values:\n    a: &x 1\n    b: &x 2\n",
            r"image.yaml:5: invalid YAML: an anchor name is used a second time \(first on line 4\)",
        ),
    ],
)
def test_refusals_name_the_line_and_what_to_do(text: str, message: str) -> None:
    with pytest.raises(ImageFileError, match=message):
        write_block(text, FIRST)
    assert deploy_twice(text) != "deployed"


def test_the_region_check_catches_a_change_outside_the_block() -> None:
    text = HEAD + "    a: 1\n"
    bad = write_block(text, FIRST).replace("    a: 1\n", "    a: 2\n")
    with pytest.raises(AssertionError, match="a line changed outside the block"):
        check_only_the_block_changed(text, bad)
