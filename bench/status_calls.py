"""Benchmark: `autodeploy status` and `autodeploy promote --all` through the API, against the fake
GitHub of the tests (tests/github_fake.py, GraphQL executed on GitHub's schema).

    python bench/status_calls.py [--apps 200] [--promote-apps 50] [--runs 5] [--json FILE]

1. status: a GitOps repo of N apps x 3 environments (development, staging, production), a third of
   the apps with a newer build merged into staging, and an open release pull request changing ten
   apps' production files: the requests of one `status --json` (target: at most 5, whatever N) and
   its wall time (median of the runs, the whole command in this process, the fake included).
2. promote --all: M apps, each with a newer build merged into staging, Flux's success posted on the
   base's head: the requests of one gated `promote --all --from staging --to production` (the
   matrix, the health gate, the one commit and pull request) and its wall time (median; a fresh
   repository each run, as it writes).
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import statistics
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

from github_fake import TOKEN, WRITE_ALL, FakeGitHub  # noqa: E402
from github_world import World, image_yaml  # noqa: E402

from autodeploy import cli  # noqa: E402

GITOPS = ["--gitops-repo", "team/gitops", "--base-branch", "main"]


def apps(count: int) -> tuple[str, ...]:
    return tuple(f"app-{number:03d}" for number in range(count))


def world_of(fake: FakeGitHub, count: int, *, staged_every: int) -> World:
    world = World(fake, apps=apps(count))
    fake.add_token(TOKEN, {**WRITE_ALL, "statuses": "read", "deployments": "read"})
    newer = {
        f"{app}/staging/image.yaml": image_yaml(app, "1.1.0", world.commits[2])
        for number, app in enumerate(world.apps)
        if number % staged_every == 0
    }
    world.gitops.write("staging-release", newer, "staging release")
    head = world.gitops.refs["staging-release"]  # merged as a pull request would be: a merge commit
    main = world.gitops.refs["main"]
    tree = world.gitops.commits[head].tree
    world.gitops.refs["main"] = world.gitops.commit(dict(tree), (main, head), "Merge staging release")
    return world


def timed(fake: FakeGitHub) -> list[float]:
    """The seconds the fake spends answering (graphql-core executing the queries, mostly), summed."""
    spent = [0.0]
    answer = fake.answer

    def answering(*args: Any, **kwargs: Any) -> Any:
        start = time.perf_counter()
        try:
            return answer(*args, **kwargs)
        finally:
            spent[0] += time.perf_counter() - start

    fake.answer = answering  # type: ignore[method-assign]
    return spent


def run(args: list[str]) -> tuple[int, str]:
    out = io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(io.StringIO()):
        code = cli.main(args)
    return code, out.getvalue()


def bench_status(count: int, runs: int) -> dict[str, Any]:
    fake = FakeGitHub()
    spent = timed(fake)
    with fake.serve():
        world = world_of(fake, count, staged_every=3)
        for app in world.apps[:30:3]:  # an open release pull request changing ten production files
            world.deploy(app, "production", "1.1.0", 2, guard=False)
        run(["status", *GITOPS, "--json"])  # warm: GitHub's GraphQL schema is parsed once per process
        times, calls, own = [], [], []
        for _ in range(runs):
            mark = len(fake.calls)
            spent[0] = 0.0
            start = time.perf_counter()
            code, out = run(["status", *GITOPS, "--json"])
            times.append(time.perf_counter() - start)
            own.append(times[-1] - spent[0])
            assert code == 0, out
            calls.append([f"{c.method} {c.template}" for c in fake.calls[mark:]])
        found = json.loads(out)
    assert len(found["entries"]) == 3 * count
    assert sum(1 for e in found["entries"] if e["pending"]) == len(apps(count)[:30:3])
    return {
        "apps": count,
        "cells": len(found["entries"]),
        "calls": len(calls[-1]),
        "by_endpoint": dict(Counter(calls[-1])),
        "wall_ms_median": round(statistics.median(times) * 1000, 1),
        "wall_ms_min": round(min(times) * 1000, 1),
        "autodeploy_ms_median": round(statistics.median(own) * 1000, 1),
    }


def bench_promote(count: int, runs: int) -> dict[str, Any]:
    times, calls, own = [], [], []
    for _ in range(runs):
        fake = FakeGitHub()
        with fake.serve():
            world = world_of(fake, count, staged_every=1)
            fake.flux_reconciles(world.gitops, "apps-staging", after=0)
            spent = timed(fake)
            mark = len(fake.calls)
            start = time.perf_counter()
            code, out = run(
                ["promote", *GITOPS, "--all", "--from", "staging", "--to", "production", "--json"]
            )
            times.append(time.perf_counter() - start)
            own.append(times[-1] - spent[0])
            assert code == 0, out
            calls.append([f"{c.method} {c.template}" for c in fake.calls[mark:]])
            found = json.loads(out)
            assert len(found["promotions"]) == count and found["pr_number"]
    return {
        "apps": count,
        "calls": len(calls[-1]),
        "by_endpoint": dict(Counter(calls[-1])),
        "wall_ms_median": round(statistics.median(times) * 1000, 1),
        "wall_ms_min": round(min(times) * 1000, 1),
        "autodeploy_ms_median": round(statistics.median(own) * 1000, 1),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--apps", type=int, default=200)
    parser.add_argument("--promote-apps", type=int, default=50)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    os.environ.update({"GITHUB_TOKEN": TOKEN})
    for name in (
        "AUTODEPLOY_GITHUB_TOKEN",
        "GITHUB_API_URL",
        "GITHUB_ACTIONS",
        "GITHUB_REPOSITORY",
        "GITHUB_SHA",
    ):
        os.environ.pop(name, None)
    os.chdir(tempfile.mkdtemp())  # not a clone of the source repo: the guard asks GitHub
    results = {
        "status": [bench_status(n, args.runs) for n in sorted({10, args.apps})],
        "promote_all": bench_promote(args.promote_apps, args.runs),
    }
    for row in results["status"]:
        print(
            f"status, {row['apps']} apps x 3 envs: {row['calls']} requests (target <= 5), "
            f"{row['wall_ms_median']} ms median ({row['wall_ms_min']} ms min), of which autodeploy "
            f"{row['autodeploy_ms_median']} ms (the rest is the fake answering)"
        )
    row = results["promote_all"]
    print(
        f"promote --all, {row['apps']} apps: {row['calls']} requests, {row['wall_ms_median']} ms median "
        f"({row['wall_ms_min']} ms min), of which autodeploy {row['autodeploy_ms_median']} ms"
    )
    print(
        json.dumps({"status": results["status"][-1]["by_endpoint"], "promote": row["by_endpoint"]}, indent=1)
    )
    if args.json:
        args.json.write_text(json.dumps(results, indent=1) + "\n")
    ok = all(row["calls"] <= 5 for row in results["status"])
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
