"""The pull request body and the rows read from a comparison: pure functions."""

from __future__ import annotations

from autodeploy.github.models import ChangedFile, Comparison
from autodeploy.github.prbody import (
    BEGIN,
    END,
    MAX_BODY,
    Row,
    State,
    merge_rows,
    read_state,
    render,
    write_body,
)
from autodeploy.github.rows import path_pattern, rows_from_comparison, sides

OLD, NEW = "a" * 40, "b" * 40
ROW = Row(
    "api/production/image.yaml",
    "api",
    "production",
    "1.2.0",
    "sha256:" + "1" * 64,
    NEW,
    "https://ghe.example.com/team/api",
    "1.1.0",
    "sha256:" + "0" * 64,
    OLD,
)


def test_render_and_read_back() -> None:
    state = State("c" * 40, (ROW,))
    body = render(state)

    assert body.startswith(BEGIN) and body.endswith(END)
    assert read_state(body) == state
    assert "| `api` | `production` | `1.1.0` → **`1.2.0`** | `sha256:111111111111` |" in body
    assert f"[`bbbbbbb`](https://ghe.example.com/team/api/commit/{NEW})" in body
    assert f"[`aaaaaaa...bbbbbbb`](https://ghe.example.com/team/api/compare/{OLD}...{NEW})" in body


def test_a_reason_cannot_break_the_table_or_the_hidden_state() -> None:
    row = Row(**{**ROW.__dict__, "reason": "bad | pipes\nand --> comment ends"})
    body = render(State(None, (row,)))

    assert read_state(body) == State(None, (row,))
    assert "to `1.2.0` (`" in body and "`): bad \\| pipes and --> comment ends" in body
    assert body.count("-->") == body.count("<!--") + 1  # only the reason's own arrow, in the visible text


def test_people_text_around_the_section_is_kept() -> None:
    first = write_body("Notes above.", State("1" * 40, (ROW,)))
    second = write_body(first + "\n\nNotes below.", State("2" * 40, ()))

    assert second.startswith("Notes above.\n\n" + BEGIN) and second.endswith(END + "\n\nNotes below.")
    assert read_state(second) == State("2" * 40, ())
    assert "Nothing: this branch deploys the same images as its base." in second


def test_a_damaged_state_reads_as_none() -> None:
    assert read_state("no section") is None
    assert read_state(f"{BEGIN}\n<!-- autodeploy:state {{not json}} -->\n{END}") is None
    assert read_state('<!-- autodeploy:state {"head": null, "rows": []} -->') is None  # outside the section


def test_merge_rows_keeps_what_the_base_runs_and_drops_no_ops() -> None:
    newer = Row(
        ROW.path,
        "api",
        "production",
        "1.3.0",
        "sha256:" + "3" * 64,
        "d" * 40,
        ROW.repo_url,
        "1.2.0",
        None,
        NEW,
    )
    back = Row(ROW.path, "api", "production", "1.1.0", "sha256:" + "0" * 64, OLD, ROW.repo_url)

    assert merge_rows((ROW,), (newer,))[0].old_tag == "1.1.0"
    assert merge_rows((ROW,), (back,)) == ()


PATCH = """@@ -9,9 +9,9 @@ spec:
     # GITHUB_REPOSITORY: team/api
     global:
       image:
-        tag: 1.1.0
-        digest: sha256:0000000000000000000000000000000000000000000000000000000000000000
+        tag: "1.2.0"
+        digest: sha256:1111111111111111111111111111111111111111111111111111111111111111
     annotations:
       GITHUB_REPO_URL: https://github.com/team/api
-      GITHUB_COMMIT_HASH: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa
+      GITHUB_COMMIT_HASH: bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"""


def test_sides_of_a_patch() -> None:
    old, new = sides(PATCH)
    assert old == {
        "tag": "1.1.0",
        "digest": "sha256:" + "0" * 64,
        "repo_url": "https://github.com/team/api",
        "commit": OLD,
    }
    assert new == {
        "tag": "1.2.0",
        "digest": "sha256:" + "1" * 64,
        "repo_url": "https://github.com/team/api",
        "commit": NEW,
    }


def test_rows_from_a_comparison() -> None:
    files = (
        ChangedFile("api/production/image.yaml", "modified", "x" * 40, PATCH),
        ChangedFile(
            "team-a/web/dev/image.yaml",
            "added",
            "y" * 40,
            "@@ -0,0 +1,2 @@\n+        tag: w1\n+      GITHUB_COMMIT_HASH: " + NEW,
        ),
        ChangedFile("README.md", "modified", "z" * 40, "@@ -1 +1 @@\n-a\n+b"),
        ChangedFile("web/production/image.yaml", "modified", "w" * 40, None),
        ChangedFile("old/production/image.yaml", "removed", None, "@@ -1 +0,0 @@\n-x"),
    )
    previous = {"web/production/image.yaml": Row("web/production/image.yaml", "web", "production", "2.0.0")}
    rows = rows_from_comparison(
        Comparison("ahead", 2, 0, files), path_pattern("{app}/{env}/image.yaml"), previous
    )

    assert [(r.app, r.env, r.old_tag, r.new_tag) for r in rows] == [
        ("api", "production", "1.1.0", "1.2.0"),
        ("team-a/web", "dev", None, "w1"),
        ("web", "production", None, "2.0.0"),
    ]


def test_path_patterns() -> None:
    pattern = path_pattern("clusters/{env}/apps/{app}.yaml")
    match = pattern.fullmatch("clusters/prod/apps/team/api.yaml")
    assert match and match.group("env") == "prod" and match.group("app") == "team/api"
    assert pattern.fullmatch("clusters/prod/other/api.yaml") is None


def rows(count: int) -> tuple[Row, ...]:
    return tuple(
        Row(**{**ROW.__dict__, "path": f"app{n:03}/production/image.yaml", "app": f"app{n:03}"})
        for n in range(count)
    )


def test_a_body_over_githubs_limit_shows_the_rows_that_fit_and_keeps_the_state() -> None:
    state = State("c" * 40, rows(100))
    body = write_body("Notes.", state)

    assert len(write_body("Notes.", state, limit=10**9)) > MAX_BODY >= len(body)
    assert body.startswith("Notes.\n\n" + BEGIN) and read_state(body) == state
    shown = body.count("| `production` |")
    assert 0 < shown < 100 and f"…and {100 - shown} more" in body


def test_a_state_too_long_for_a_body_is_left_out() -> None:
    body = write_body("Notes.", State("c" * 40, rows(400)))

    assert len(body) <= MAX_BODY and read_state(body) is None
    shown = body.count("| `production` |")
    assert shown > 100 and f"…and {400 - shown} more" in body and body.endswith(END)


def test_a_tag_pushed_again_shows_both_digests_in_the_table() -> None:
    row = Row(
        **{
            **ROW.__dict__,
            "old_tag": "1.2.0",
            "old_digest": "sha256:ab12" + "0" * 60,
            "digest": "sha256:cd34" + "1" * 60,
        }
    )
    assert "**`1.2.0`** (pushed again: sha256:ab12 → cd34)" in render(State(None, (row,)))
    assert "pushed again" not in render(State(None, (ROW,)))
