"""Hostile Bitbucket servers vs the `bbscout` CLI: time to exit and peak memory (a script, not a test).

    .venv/bin/python benchmarks/bench_hostile.py [--scenario NAME]... [--cap 200] [--orig SITE_DIR]

Each scenario serves the sandbox world over loopback HTTP with some paths sabotaged, runs
`bbscout ask` in a child process and prints its wall time, exit code and maximum RSS (from
`wait4`). `--orig` puts another copy of the package first on PYTHONPATH, to measure a build from
before a fix; `--cap` kills a run that has not exited after that many seconds.
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bbscout.sandbox.app import create_app
from bbscout.sandbox.server import LoopbackServer
from bbscout.sandbox.world import build_world
from tests.hostile.servers import gzip_bomb, hang, hostile, huge_listing, trickle

NOW = "2026-11-29T16:20:00+00:00"
ANCHOR = datetime(2026, 11, 29, 16, 0, tzinfo=UTC)
FAILED = "What pipelines failed in the last 24 hours?"
REPOS = "list repositories"

# name -> (rules, question)
SCENARIOS: dict[str, tuple[Callable[[], dict[str, Any]], str]] = {
    "never-answers": (lambda: {r".": hang()}, REPOS),
    "hangs-every-pipelines-listing": (lambda: {r"/pipelines/?\?": hang()}, FAILED),
    "trickles-1-byte-per-2s": (
        lambda: {r"^/2\.0/repositories/acme/?(\?|$)": trickle(b'{"values": []}' + b" " * 186, every=2.0)},
        REPOS,
    ),
    "gzip-bomb-1GB": (lambda: {r"^/2\.0/repositories/acme/?(\?|$)": gzip_bomb()}, REPOS),
    "ten-50MB-listings": (lambda: {r"/pipelines/?\?": huge_listing(50)}, FAILED),
}


def run(name: str, cap: float, orig: str | None) -> dict[str, Any]:
    rules, question = SCENARIOS[name]
    world = build_world("default", anchor=ANCHOR)
    token = world.token("demo")
    app = hostile(create_app(world), rules())
    with LoopbackServer(app) as server:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("BITBUCKET_", "OPENAI_", "BBSCOUT_"))}
        env.update(
            BITBUCKET_BASE_URL=server.base_url,
            BITBUCKET_WORKSPACE="acme",
            BITBUCKET_EMAIL=token.email or "",
            BITBUCKET_API_TOKEN=token.secret,
            BBSCOUT_DATA_DIR="/tmp/bbscout-bench-data",
            BBSCOUT_CONFIG="/nonexistent/config.toml",
        )
        if orig:
            env["PYTHONPATH"] = orig
        cmd = [
            sys.executable,
            "-c",
            "from bbscout.agent.cli import app; app()",
            "ask",
            question,
            "--now",
            NOW,
        ]
        started = time.monotonic()
        proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        killed = False
        while True:
            pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
            if pid:
                break
            if time.monotonic() - started > cap:
                proc.send_signal(signal.SIGKILL)
                killed = True
                pid, status, usage = os.wait4(proc.pid, 0)
                break
            time.sleep(0.05)
        seconds = time.monotonic() - started
        proc.returncode = os.waitstatus_to_exitcode(status)
        stderr = proc.stderr.read().decode(errors="replace") if proc.stderr else ""
    return {
        "scenario": name,
        "seconds": round(seconds, 1),
        "exit": "killed at cap" if killed else proc.returncode,
        "max_rss_mb": round(usage.ru_maxrss / 1024),
        "traceback": "Traceback" in stderr,
        "last_stderr": stderr.strip().splitlines()[-1][:160] if stderr.strip() else "",
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scenario", action="append", choices=sorted(SCENARIOS))
    parser.add_argument("--cap", type=float, default=200.0)
    parser.add_argument("--orig", help="a site dir holding another build of bbscout (measured instead)")
    args = parser.parse_args()
    for name in args.scenario or list(SCENARIOS):
        row = run(name, args.cap, args.orig)
        print(
            f"{row['scenario']:32} {row['seconds']:>7.1f} s  exit {row['exit']!s:14} "
            f"max RSS {row['max_rss_mb']:>5} MB  traceback={row['traceback']}  | {row['last_stderr']}",
            flush=True,
        )


if __name__ == "__main__":
    main()
