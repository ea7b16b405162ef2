"""Benchmark: tag -> digest against a local docker-registry, autodeploy versus `skopeo inspect --raw`.

    python bench/resolve.py [-n 300] [--processes 20] [--json bench/results/resolve.json]

Starts Debian's docker-registry twice on 127.0.0.1 (anonymous, and with Bearer token auth from a
token service in this process), seeds it through the registry API (tests/registry_server.py), then
measures, in the same run:
  * HTTP requests, counted at the server (distribution's access log, and the token service):
    per resolution in one process, and per whole process, for autodeploy and skopeo;
  * in-process time of `autodeploy.registry.resolve()` against a bare `requests` HEAD with the same
    Accept header on the same connection;
  * whole-process time of `python -m autodeploy resolve` and of `skopeo inspect --raw`.
Prints a small table. Needs: docker-registry, skopeo (apt-get install docker-registry skopeo).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

import requests  # noqa: E402
from registry_server import LocalRegistry, seed_images, start_registry  # noqa: E402

from autodeploy import imageref  # noqa: E402
from autodeploy.registry import RegistryOptions, clear_cache, resolve  # noqa: E402
from autodeploy.registry.manifest import ACCEPT  # noqa: E402

TAGS = ("docker-v2", "oci", "oci-index", "docker-list", "attested")
ENV = {**os.environ, "PYTHONPATH": str(ROOT), "DOCKER_CONFIG": tempfile.mkdtemp(prefix="bench-docker-")}
for _name in ("AUTODEPLOY_REGISTRY_USERNAME", "AUTODEPLOY_REGISTRY_PASSWORD"):
    ENV.pop(_name, None)


def autodeploy_cmd(refs: list[str]) -> list[str]:
    return [sys.executable, "-m", "autodeploy", "resolve", *refs]


def skopeo_cmd(ref: str) -> list[str]:
    return ["skopeo", "inspect", "--raw", "--tls-verify=false", f"docker://{ref}"]


def run(cmd: list[str]) -> None:
    subprocess.run(cmd, check=True, env=ENV, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def count(reg: LocalRegistry, action: Callable[[], None]) -> tuple[int, int]:
    """(registry requests, token requests) that `action` makes."""
    tokens_before = len(reg.token_service.requests) if reg.token_service else 0
    mark = reg.mark()
    action()
    registry_requests = len(reg.since(mark))
    tokens = (len(reg.token_service.requests) if reg.token_service else 0) - tokens_before
    return registry_requests, tokens


def median_ms(action: Callable[[], object], repeat: int, warmup: int = 3) -> float:
    for _ in range(warmup):
        action()
    samples = []
    for _ in range(repeat):
        started = time.perf_counter()
        action()
        samples.append(time.perf_counter() - started)
    return statistics.median(samples) * 1000


def in_process(reg: LocalRegistry, n: int) -> dict[str, float]:
    """Per-resolution time, interleaving the two so drift hits both alike."""
    session = requests.Session()
    ref = imageref.parse(reg.ref("team/app", "oci-index"))
    url = reg.url("/v2/team/app/manifests/oci-index")
    options = RegistryOptions()
    expected = resolve(ref, options, session=session).digest
    headers = {"Accept": ACCEPT}
    if reg.token_service is not None:  # the bare HEAD gets a token for free
        headers["Authorization"] = "Bearer " + reg.token_service.issue(None, ["repository:team/app:pull"])

    def bare() -> None:
        response = session.head(url, headers=headers, timeout=10)
        assert response.headers["Docker-Content-Digest"] == expected

    def ours() -> None:
        assert resolve(ref, options, session=session).digest == expected

    bare_ms: list[float] = []
    ours_ms: list[float] = []
    for _ in range(5):
        bare_ms.append(median_ms(bare, n // 5))
        ours_ms.append(median_ms(ours, n // 5))
    return {"bare_head_ms": statistics.median(bare_ms), "resolve_ms": statistics.median(ours_ms)}


def request_counts(reg: LocalRegistry, label: str, n: int) -> tuple[dict[str, object], list[tuple[str, ...]]]:
    refs = [reg.ref("team/app", tag) for tag in TAGS]

    def skopeo_each() -> None:
        for ref in refs:
            run(skopeo_cmd(ref))

    def in_one_process() -> None:
        clear_cache()
        session = requests.Session()
        for i in range(n):
            resolve(imageref.parse(refs[i % len(refs)]), RegistryOptions(), session=session)

    ours_one = count(reg, lambda: run(autodeploy_cmd(refs[:1])))
    ours_all = count(reg, lambda: run(autodeploy_cmd(refs)))
    theirs_one = count(reg, lambda: run(skopeo_cmd(refs[0])))
    theirs_all = count(reg, skopeo_each)
    in_proc = count(reg, in_one_process)
    figures: dict[str, object] = {
        "autodeploy_process_1_image": ours_one,
        "autodeploy_process_5_tags": ours_all,
        "skopeo_1_image": theirs_one,
        "skopeo_5_tags": theirs_all,
        f"autodeploy_in_process_{n}": in_proc,
    }
    rows = [
        (f"{label}: 1 image, 1 process", _fmt(ours_one), _fmt(theirs_one)),
        (f"{label}: 5 tags of a repo", f"{_fmt(ours_all)} (1 process)", f"{_fmt(theirs_all)} (5 processes)"),
        (f"{label}: {n} in one process", f"{_fmt(in_proc)} = {sum(in_proc) / n:.3f}/resolution", "-"),
    ]
    return figures, rows


def process_ms(reg: LocalRegistry, repeat: int) -> dict[str, float]:
    ref = reg.ref("team/app", "oci-index")
    return {
        "autodeploy": median_ms(lambda: run(autodeploy_cmd([ref])), repeat),
        "skopeo": median_ms(lambda: run(skopeo_cmd(ref)), repeat),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", type=int, default=300, help="in-process resolutions (default 300)")
    parser.add_argument(
        "--processes", type=int, default=20, help="whole-process runs of each tool (default 20)"
    )
    parser.add_argument("--json", type=Path, help="also write the figures to this file")
    args = parser.parse_args(argv)
    for tool in ("docker-registry", "skopeo"):
        if shutil.which(tool) is None:
            parser.error(f"{tool} is not installed: apt-get install {tool}")

    results: dict[str, dict[str, object]] = {}
    rows: list[tuple[str, ...]] = []
    timing: dict[str, dict[str, float]] = {}
    with (
        tempfile.TemporaryDirectory(prefix="bench-resolve-") as tmp,
        start_registry(Path(tmp) / "anonymous") as anon,
        start_registry(Path(tmp) / "token", auth="token") as tok,
    ):
        for reg, label in ((anon, "anonymous"), (tok, "bearer")):
            seed_images(reg)
            results[label], label_rows = request_counts(reg, label, args.n)
            rows += label_rows
        for reg, label in ((anon, "anonymous"), (tok, "bearer")):
            timing[label] = {**in_process(reg, args.n), **process_ms(reg, args.processes)}
            results[label]["timing_ms"] = timing[label]

    print(f"HTTP requests counted at the server (registry + token service), python {sys.version.split()[0]}")
    _table(("scenario", "autodeploy", "skopeo inspect --raw"), rows)
    print()
    print("time, median (bearer: token already cached, as after the first resolution)")
    a, b = timing["anonymous"], timing["bearer"]
    _table(
        ("measure", "anonymous", "bearer"),
        [
            (
                "bare requests HEAD, same connection",
                f"{a['bare_head_ms']:.3f} ms",
                f"{b['bare_head_ms']:.3f} ms",
            ),
            (
                "autodeploy resolve(), same connection",
                f"{a['resolve_ms']:.3f} ms ({a['resolve_ms'] / a['bare_head_ms']:.2f}x)",
                f"{b['resolve_ms']:.3f} ms ({b['resolve_ms'] / b['bare_head_ms']:.2f}x)",
            ),
            (
                "python -m autodeploy resolve (process)",
                f"{a['autodeploy']:.0f} ms",
                f"{b['autodeploy']:.0f} ms",
            ),
            ("skopeo inspect --raw (process)", f"{a['skopeo']:.0f} ms", f"{b['skopeo']:.0f} ms"),
        ],
    )
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(results, indent=2) + "\n")
    return 0


def _fmt(counts: tuple[int, int]) -> str:
    registry_requests, tokens = counts
    return f"{registry_requests + tokens}" + (f" ({registry_requests} + {tokens} token)" if tokens else "")


def _table(header: tuple[str, ...], rows: list[tuple[str, ...]]) -> None:
    widths = [max(len(row[i]) for row in (header, *rows)) for i in range(len(header))]
    for row in (header, tuple("-" * w for w in widths), *rows):
        print("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip())


if __name__ == "__main__":
    raise SystemExit(main())
