"""Print how long the sandbox world generator takes for the default and a 50-repo x 90-day world.

Run: .venv/bin/python benchmarks/bench_world.py [--repeat N]
Wall time is noisy on a shared machine; CPU time (process_time) is the steadier number.
"""

from __future__ import annotations

import argparse
import time
from datetime import UTC, datetime

from bbscout.sandbox.world import build_world
from bbscout.sandbox.world.generator import _build

ANCHOR = datetime(2026, 11, 27, 15, 42, tzinfo=UTC)
CASES = {"default (10 repos x 30 days)": {}, "large (50 repos x 90 days)": {"repos": 50, "days": 90}}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    for label, kw in CASES.items():
        walls, cpus = [], []
        for _ in range(args.repeat):
            _build.cache_clear()
            t0, c0 = time.perf_counter(), time.process_time()
            w = build_world(anchor=ANCHOR, **kw)
            walls.append(time.perf_counter() - t0)
            cpus.append(time.process_time() - c0)
        commits = sum(len(r.commits) for r in w.repos.values())
        prs = sum(len(r.pullrequests) for r in w.repos.values())
        pipes = sum(len(r.pipelines) for r in w.repos.values())
        deps = sum(len(r.deployments) for r in w.repos.values())
        print(
            f"{label}: wall min {min(walls):.2f}s, cpu min {min(cpus):.2f}s "
            f"({commits} commits, {prs} PRs, {pipes} pipelines, {deps} deployments)"
        )
        del w
        _build.cache_clear()


if __name__ == "__main__":
    main()
