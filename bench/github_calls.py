"""Benchmark: the GitHub API requests of each deploy scenario, and lost updates under racing runs.

    python bench/github_calls.py [--trials 50] [--json bench/results/github_calls.json]

1. Requests per scenario, against the fake GitHub of the tests (tests/github_fake.py), for a GitOps
   repo of 10 files and one of 10,000: a first deploy that opens a pull request, an update of an open
   pull request (the same app; with 10,000 files also a second app joining it), a no-op (on the
   branch, and against the base), a first deploy to development (with the auto-merge call), an
   update whose base changed its file, a first deploy after the release pull request was merged (or
   squash-merged) and its branch kept. Every request is counted, the downgrade guard's compare
   in the source repo included, and shown apart ("guard").
   Then the rare paths of issue 10: the release pull request merged (or squash-merged) just before
   or just after the run's commit, its branch kept; the answer to the commit lost (the write done);
   a no-op that finds the table out of step with the branch (a run that committed, then failed).
2. Racing pairs: two runs in threads deploying different apps to one release branch at once; the
   fake holds their first branch updates until both have read, so one loses its compare-and-swap for
   real. Half the trials create the branch, half update an open pull request. A lost update is a trial
   where either deploy is missing from the branch or from the pull request's table afterwards.
3. Merges mid-run: the open pull request merges before request k of a run (k = 0..6 in turn), by
   hand (a merge commit or a squash) or by auto-merge when CI's check passes on its head. A lost
   deploy is a run that ends with its tag neither on the base nor in an open pull request's head.
4. Issue 13's table (tests/roundtrips.py, pinned by tests/test_github_roundtrips.py): the requests of
   a deploy, an update and a no-op of one app, of `--targets` with 1, 10 and 50 apps (first deploy
   and update), of `history --limit 10` and of a rollback to the previous image on a file with 200
   versions; and each one's wall time with 0, 50 and 200 ms slept before every answer (a round trip
   to GitHub), the median of `--repeat` runs.
Targets (issue 5): first deploy <= 8 (not counting the label creation and auto-merge), update <= 5,
no-op <= 3, the same for 10 and 10,000 files; no lost update in 50 racing pairs; (issue 10) no lost
deploy in 50 trials of each kind of merge mid-run.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

import roundtrips  # noqa: E402
from github_fake import FakeGitHub  # noqa: E402
from github_world import World, image_yaml, push_event  # noqa: E402

from autodeploy import overlap, pipeline, report  # noqa: E402
from autodeploy.errors import GitHubError  # noqa: E402
from autodeploy.imagefile import read_block  # noqa: E402

GUARD = "/repos/team/api/"


def counted(world: World, action: Callable[[], object]) -> dict[str, int]:
    mark = world.mark()
    action()
    calls = world.fake.calls[mark:]
    guard = sum(1 for c in calls if c.path.startswith(GUARD))
    return {"total": len(calls), "gitops": len(calls) - guard, "guard": guard}


def scenarios(files: int) -> dict[str, dict[str, int]]:
    out: dict[str, dict[str, int]] = {}
    apps = ("api",) if files < 20 else ("api", "web")
    filler = files - 7 * len(apps)  # a release, and per env a kustomization and an image file
    with tempfile.TemporaryDirectory() as tmp:
        fake = FakeGitHub(validate=False)
        with fake.serve():
            world = World(fake, filler=filler, apps=apps)
            assert len(world.gitops.commits[world.gitops.refs["main"]].tree) == files
            out["first deploy (opens a PR)"] = counted(
                world, lambda: world.deploy("api", "production", "1.1.0", 2)
            )
            out["update of an open PR"] = counted(
                world, lambda: world.deploy("api", "production", "1.2.0", 3)
            )
            if "web" in apps:
                out["update of an open PR: another app joins it"] = counted(
                    world, lambda: world.deploy("web", "production", "2.0.0", 3)
                )
            commits = world.commits
            push = push_event(Path(tmp), before=commits[3], after=commits[4], commits=[{"id": commits[4]}])
            request = world.request("api", "production", "1.3.0", 4)
            out["update of an open PR, push event answers the guard"] = counted(
                world, lambda: pipeline.deploy(request, world.repo(), history=world.history(push))
            )
            out["no-op (same deploy again)"] = counted(
                world, lambda: world.deploy("api", "production", "1.3.0", 4)
            )
            world.gitops.write(
                "main", {"api/staging/image.yaml": image_yaml("api", "1.3.0", world.commits[4])}
            )
            out["no-op (already on the base)"] = counted(
                world, lambda: world.deploy("api", "staging", "1.3.0", 4)
            )
            out["first deploy to development (+ auto-merge)"] = counted(
                world, lambda: world.deploy("api", "development", "dev-5", 5)
            )
            world.gitops.write(
                "main",
                {
                    "api/production/image.yaml": world.text("main", "api/production/image.yaml").replace(
                        "replicaCount: 2", "replicaCount: 3"
                    )
                },
                "scale",
            )
            out["update of an open PR whose base changed its file"] = counted(
                world, lambda: world.deploy("api", "production", "1.5.0", 5)
            )
            world.merge_pull(1)
            out["first deploy after the release PR merged (branch kept)"] = counted(
                world, lambda: world.deploy("api", "production", "1.6.0", 6)
            )
            world.merge_pull(
                max(n for n, p in world.gitops.pulls.items() if p.head == "prod-release"), squash=True
            )
            out["first deploy after the release PR squash-merged (branch kept)"] = counted(
                world, lambda: world.deploy("api", "production", "1.7.0", 7)
            )
    out.update(mid_run(filler, apps))
    return out


PUT = ("PUT", "/repos/{owner}/{repo}/contents/{path}")


def before_request(fake: FakeGitHub, index: int, action: Callable[[], object]) -> None:
    """Run `action` just before request number `index` (0-based) from now on."""
    seen: list[int] = []

    def hook(method: str, template: str, params: dict[str, str], body: object) -> None:
        seen.append(1)
        if len(seen) == index + 1:
            action()

    fake.before_request = hook


def mid_run(filler: int, apps: tuple[str, ...]) -> dict[str, dict[str, int]]:
    """Issue 10's paths, each in a repository of its own: an update of an open release pull request
    (its 5 requests: pulls, file, guard, PUT, PATCH) that something interrupts."""
    out: dict[str, dict[str, int]] = {}
    cases: list[tuple[str, Callable[[World], None]]] = [
        (
            "update, the PR merged just before the commit",
            lambda w: before_request(w.fake, 3, lambda: w.merge_pull(1)),
        ),
        (
            "update, the PR merged just after the commit",
            lambda w: before_request(w.fake, 4, lambda: w.merge_pull(1)),
        ),
        (
            "update, the PR squash-merged just before the commit",
            lambda w: before_request(w.fake, 3, lambda: w.merge_pull(1, squash=True)),
        ),
        (
            "update, the answer to the commit lost",
            lambda w: w.fake.fail(502, method=PUT[0], template=PUT[1], applied=True),
        ),
    ]
    for name, interrupt in cases:
        fake = FakeGitHub(validate=False)
        with fake.serve():
            world = World(fake, filler=filler, apps=apps)
            world.deploy("api", "production", "1.1.0", 2)
            interrupt(world)
            out[name] = counted(world, lambda w=world: w.deploy("api", "production", "1.2.0", 3))
            fake.before_request = None
    fake = FakeGitHub(validate=False)
    with fake.serve():
        world = World(fake, filler=filler, apps=apps)
        world.deploy("api", "production", "1.1.0", 2)
        fake.fail(502, method="PATCH", template="/repos/{owner}/{repo}/pulls/{pull_number}", times=10)
        with contextlib.suppress(GitHubError):  # committed; the table not written
            world.deploy("api", "production", "1.2.0", 3)
        fake.faults.clear()
        out["no-op that finds the table behind the branch (once)"] = counted(
            world, lambda: world.deploy("api", "production", "1.2.0", 3)
        )
    return out


def merge_mid_run(trial: int, *, auto: bool) -> bool:
    """One run whose pull request merges before its request number trial % 7; True when the run's
    deploy ends on neither the base nor an open pull request's head (a lost deploy)."""
    fake = FakeGitHub(validate=False)
    with fake.serve():
        world = World(fake)
        repo = world.gitops
        if auto:
            env, branch, tags = "development", "update-development-api", ("dev-1", "dev-2")
            repo.required_checks = {"ci"}
        else:
            env, branch, tags = "production", "prod-release", ("1.1.0", "1.2.0")
        world.deploy("api", env, tags[0], 2)
        head = repo.refs[branch]
        squash = trial % 3 == 2
        merge: Callable[[], object] = (
            (lambda: repo.report_check(head))
            if auto
            else (lambda: repo.open_pull(branch) and world.merge_pull(1, squash=squash))
        )
        before_request(fake, trial % 7, merge)
        try:
            world.deploy("api", env, tags[1], 3)
        except Exception:
            return True
        fake.before_request = None
        path = f"api/{env}/image.yaml"

        def tag_on(name: str) -> str | None:
            sha = repo.refs.get(name)
            block = read_block(repo.text(sha, path) or "") if sha else None
            return block.tag if block else None

        held = repo.open_pull(branch) is not None and tag_on(branch) == tags[1]
        return not (tag_on("main") == tags[1] or held)


def race(trial: int) -> dict[str, Any]:
    fake = FakeGitHub(validate=False)
    with fake.serve():
        world = World(fake)
        if trial % 2:
            world.deploy("api", "production", "1.1.0", 2)
            world.deploy("web", "production", "2.0.0", 2)
        barrier = threading.Barrier(2, timeout=10)
        held: list[str] = []
        lock = threading.Lock()

        def hook(repo: str, branch: str) -> None:
            if branch == "prod-release":
                with lock:
                    held.append(branch)
                    wait = len(held) <= 2
                if wait:
                    barrier.wait()

        fake.before_ref_update = hook
        errors: list[BaseException] = []

        def run(app: str, tag: str) -> None:
            try:
                world.deploy(app, "production", tag, 3, repo=world.repo())
            except BaseException as exc:
                errors.append(exc)

        threads = [threading.Thread(target=run, args=a) for a in (("api", "1.2.0"), ("web", "2.1.0"))]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(30)
        api = read_block(world.text("prod-release", "api/production/image.yaml") or "")
        web = read_block(world.text("prod-release", "web/production/image.yaml") or "")
        body = world.gitops.pulls[1].body if world.gitops.pulls else ""
        landed = bool(api and api.tag == "1.2.0" and web and web.tag == "2.1.0")
        tabled = "**`1.2.0`**" in body and "**`2.1.0`**" in body
        cas_lost = sum(
            1 for c in fake.calls if c.status in {409, 422} and c.method in {"PUT", "POST", "PATCH"}
        )
        return {
            "lost_update": not (landed and tabled) or bool(errors),
            "cas_lost": cas_lost,
            "pulls": len(world.gitops.pulls),
            "errors": [str(e) for e in errors],
        }


TARGETS = {  # issue 13's targets for the number of requests
    "first deploy (opens a PR)": 9,
    "update of an open PR": 5,
    "no-op (the same deploy again)": 3,
    "--targets with 1 app, first deploy": 10,
    "--targets with 10 apps, first deploy": 10,
    "--targets with 50 apps, first deploy": 10,
    "--targets with 10 apps, update": 6,
    "--targets with 50 apps, update": 6,
    roundtrips.SCAFFOLD: 10,
}
LATENCIES = (0.0, 0.05, 0.2)


def timed(scenario: roundtrips.Scenario, repeat: int) -> dict[str, float]:
    """The scenario's wall time at each latency: the median of `repeat` runs."""
    seconds = {}
    for latency in LATENCIES:
        times = sorted(
            roundtrips.run(scenario, latency=latency, validate=False).seconds for _ in range(repeat)
        )
        seconds[f"{latency * 1000:.0f} ms"] = round(times[len(times) // 2], 3)
    return seconds


def round_trips(repeat: int) -> dict[str, dict[str, Any]]:
    """Issue 13's table: requests per scenario, and wall times under injected latency."""
    out: dict[str, dict[str, Any]] = {}
    roundtrips.run(roundtrips.SCENARIOS["first deploy (opens a PR)"], validate=False)  # warm up
    for name, scenario in roundtrips.SCENARIOS.items():
        requests = len(roundtrips.run(scenario, validate=False).calls)
        target = TARGETS.get(name, 3 if name.startswith("history") else 8)
        if name == roundtrips.SPREAD:  # not in the table: the guard's compares, overlapped
            out[name] = {"requests": requests, "target": None, "seconds": timed(scenario, repeat)}
            overlap.MAX_IN_FLIGHT, kept = 1, overlap.MAX_IN_FLIGHT
            try:
                seconds = timed(scenario, repeat)
            finally:
                overlap.MAX_IN_FLIGHT = kept
            out[name + ", one at a time"] = {"requests": requests, "target": None, "seconds": seconds}
            continue
        out[name] = {"requests": requests, "target": target, "seconds": timed(scenario, repeat)}
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=50)
    parser.add_argument("--repeat", type=int, default=3, help="runs of each latency row (the median)")
    parser.add_argument("--only-round-trips", action="store_true", help="issue 13's table alone")
    parser.add_argument("--json", type=Path, help="also write the results here")
    args = parser.parse_args(argv)
    report.info = lambda message: None  # type: ignore[assignment]  # the retries' chatter
    results: dict[str, Any] = {"round_trips": round_trips(args.repeat), "scenarios": {}, "race": {}}
    width = 72
    heads = "".join(f"{'at ' + key:>12}" for key in next(iter(results["round_trips"].values()))["seconds"])
    print(f"{'scenario (issue 13)':<{width}} {'requests':>8} {'target':>7}{heads}")
    for name, row in results["round_trips"].items():
        cells = "".join(f"{seconds:>10.2f} s" for seconds in row["seconds"].values())
        target = "-" if row["target"] is None else f"<= {row['target']}"
        print(f"{name:<{width}} {row['requests']:>8} {target:>7}{cells}")
    missed = [
        name
        for name, row in results["round_trips"].items()
        if row["target"] is not None and row["requests"] > row["target"]
    ]
    if args.only_round_trips:
        if args.json:
            args.json.parent.mkdir(parents=True, exist_ok=True)
            args.json.write_text(json.dumps(results, indent=2) + "\n")
        return 1 if missed else 0
    print()
    width = 60
    print(f"{'scenario':<{width}} {'10 files':>14} {'10,000 files':>14}")
    small, big = scenarios(10), scenarios(10_000)
    for name in big:  # the 10-file repo has one app, so no second app to join a pull request
        runs = {"10": small.get(name), "10000": big[name]}
        cells = [f"{r['total']} ({r['gitops']}+{r['guard']})" if r else "-" for r in runs.values()]
        print(f"{name:<{width}} {cells[0]:>14} {cells[1]:>14}")
        results["scenarios"][name] = {size: r for size, r in runs.items() if r}
    print("(total (GitOps repo + downgrade guard's compare in the source repo))")
    started = time.monotonic()
    trials = [race(n) for n in range(args.trials)]
    lost = sum(t["lost_update"] for t in trials)
    cas = sum(1 for t in trials if t["cas_lost"])
    results["race"] = {
        "trials": args.trials,
        "lost_updates": lost,
        "trials_with_a_lost_cas": cas,
        "extra_pulls": sum(t["pulls"] != 1 for t in trials),
        "seconds": round(time.monotonic() - started, 2),
    }
    print(
        f"racing pairs: {args.trials} trials, {lost} lost updates, "
        f"{cas} with a compare-and-swap lost and retried, "
        f"{results['race']['extra_pulls']} with more than one pull request ({results['race']['seconds']} s)"
    )
    for auto in (False, True):
        kind = "merged by auto-merge on a passing check" if auto else "merged by hand (merge or squash)"
        started = time.monotonic()
        lost_deploys = sum(merge_mid_run(n, auto=auto) for n in range(args.trials))
        results["merge_mid_run"] = results.get("merge_mid_run", {}) | {
            kind: {"trials": args.trials, "lost_deploys": lost_deploys}
        }
        print(
            f"the pull request {kind} mid-run: {args.trials} trials, {lost_deploys} lost deploys "
            f"({time.monotonic() - started:.2f} s)"
        )
        lost += lost_deploys
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(results, indent=2) + "\n")
    return 1 if lost or missed else 0


if __name__ == "__main__":
    sys.exit(main())
