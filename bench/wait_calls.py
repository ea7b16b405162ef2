"""Benchmark: the GitHub requests a typical wait costs, with and without conditional requests.

    python bench/wait_calls.py [--json bench/results/wait_calls.json]

Against the fake GitHub of the tests (tests/github_fake.py), on a clock that only the wait's sleeps
move: a deploy opens its pull request; a person merges it after MERGE_AFTER seconds; Flux's
notification-controller posts its status on the merge commit RECONCILE_AFTER seconds later. Counted:
every request of the wait (not of the deploy before it), how many were 304s, and what the wait took
from the primary rate limit (a 304 takes nothing). Each scenario is run with the fake answering
If-None-Match (GitHub does) and ignoring it (a server that sends no ETag), and for three cases: the
typical one, one where another commit lands on the base before Flux reports (on that commit), and a
timeout (Flux says nothing for the 10 minutes).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

from github_fake import FakeGitHub  # noqa: E402
from wait_world import WaitRun  # noqa: E402

from autodeploy.options import WaitOptions  # noqa: E402

MERGE_AFTER = 90.0  # seconds after the pull request opens
RECONCILE_AFTER = 120.0  # seconds after the merge


def scenario(kind: str, *, etags: bool) -> dict[str, Any]:
    fake = FakeGitHub()
    fake.etags = etags  # type: ignore[attr-defined]
    with fake.serve():
        run = WaitRun(fake)
        outcome = run.deploy("api", "staging", "2.0.0")
        start = run.clock.now
        merged: list[float] = []

        def tick() -> None:
            if not merged and run.clock.now - start >= MERGE_AFTER:
                run.world.merge_pull(1)
                merged.append(run.clock.now)
                if kind == "later commit":
                    run.gitops.write("main", {"docs/notes.md": "x\n"}, "docs")
            if merged and kind != "timeout" and run.clock.now - merged[0] >= RECONCILE_AFTER:
                head = run.gitops.refs["main"]
                if not run.gitops.statuses.get(head):
                    run.fake.flux_reconciles(run.gitops, "apps-staging", after=0)

        sleep = run.clock.sleep

        def sleeping(seconds: float) -> None:
            sleep(seconds)
            tick()

        run.clock.sleep = sleeping  # type: ignore[method-assign]
        before, mark = fake.rate_remaining, len(fake.calls)
        waited = run.wait_after(outcome, WaitOptions())  # type: ignore[arg-type]
        calls = fake.calls[mark:]
        return {
            "scenario": kind,
            "etags": etags,
            "rollout": waited.result.value,
            "seconds": round(run.clock.now - start),
            "requests": len(calls),
            "not_modified": sum(1 for c in calls if c.status == 304),
            "graphql": sum(1 for c in calls if c.template == "/graphql"),
            "rate_limit_used": before - fake.rate_remaining,
        }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", type=Path, help="also write the results here")
    args = parser.parse_args(argv)
    results = [
        scenario(kind, etags=etags)
        for kind in ("typical", "later commit", "timeout")
        for etags in (True, False)
    ]
    print(
        f"{'scenario':<14} {'ETags':<6} {'rollout':<8} {'took':>6} {'requests':>9} {'304s':>5} {'rate limit':>11}"
    )
    for r in results:
        print(
            f"{r['scenario']:<14} {'yes' if r['etags'] else 'no':<6} {r['rollout']:<8} {r['seconds']:>5}s "
            f"{r['requests']:>9} {r['not_modified']:>5} {r['rate_limit_used']:>11}"
        )
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(results, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
