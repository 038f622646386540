"""Load on two `bbscout serve` replicas sharing PostgreSQL and Redis (a script, not a test).

    .venv/bin/python benchmarks/bench_service.py [--questions 50] [--latency-ms 100]

Everything runs on loopback: the sandbox Bitbucket (with added latency), one PostgreSQL, one Redis and
two replicas. Wave 1 asks `--questions` questions at once, alternating replicas, each in a new thread;
wave 2 asks every thread a follow-up at once on the *other* replica. Prints p50/p95 latency, errors,
lost thread messages and Bitbucket requests per question. Bounded: two waves, 180 s per request.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import time
from datetime import datetime
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bbscout.agent.connections import Connection, save_connection
from bbscout.agent.service.keys import ApiKey, digest
from bbscout.sandbox.app import SandboxSettings, create_app
from bbscout.sandbox.faults import FaultProfile
from bbscout.sandbox.server import LoopbackServer
from bbscout.sandbox.world import build_world
from tests.service.replicas import Replica, replica_env, stack

NOW = "2026-11-29T16:20:00+00:00"
KEY = "bbs_bench-0123456789abcdef0123456789"
QUESTIONS = [
    "What pipelines failed in the last 24 hours?",
    "show me recent pull requests for checkout-service",
    "which PRs are awaiting review?",
    "what commits were merged to main yesterday?",
    "stale branches in web-frontend",
    "what changed in the last production deployment of checkout-service?",
    "list repositories",
    "failed pipelines in api-gateway this week",
    "open pull requests in payments-service",
    "recent commits on main in notification-service",
]
FOLLOW_UPS = ["which of those were on main?", "show me the first one", "and in the last 7 days?"]


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


async def wave(client: httpx.AsyncClient, jobs: list[tuple[str, str, str]]) -> tuple[list[float], int]:
    """(latencies of the successful ones, errors) for (origin, thread, question) jobs run at once."""

    async def one(origin: str, thread: str, question: str) -> float | None:
        started = time.perf_counter()
        response = await client.post(
            f"{origin}/v1/threads/{thread}/messages", json={"question": question, "now": NOW}
        )
        if response.status_code != 200:
            print(f"  error {response.status_code}: {response.text[:200]}", file=sys.stderr)
            return None
        return time.perf_counter() - started

    results = await asyncio.gather(*(one(*job) for job in jobs))
    return [r for r in results if r is not None], sum(r is None for r in results)


async def load(a: str, b: str, questions: int, request_log: list[object]) -> None:
    headers = {"Authorization": f"Bearer {KEY}"}
    limits = httpx.Limits(max_connections=2 * questions)
    async with httpx.AsyncClient(headers=headers, timeout=180, limits=limits) as client:
        threads = []
        for i in range(questions):
            made = await client.post(f"{(a, b)[i % 2]}/v1/threads", json={"title": f"load {i}"})
            threads.append(made.json()["id"])
        before = len(request_log)
        first_jobs = [((a, b)[i % 2], t, QUESTIONS[i % len(QUESTIONS)]) for i, t in enumerate(threads)]
        started = time.perf_counter()
        first, first_errors = await wave(client, first_jobs)
        first_wall = time.perf_counter() - started
        sent_first = len(request_log) - before
        follow_jobs = [((b, a)[i % 2], t, FOLLOW_UPS[i % len(FOLLOW_UPS)]) for i, t in enumerate(threads)]
        started = time.perf_counter()
        second, second_errors = await wave(client, follow_jobs)
        second_wall = time.perf_counter() - started
        sent = len(request_log) - before
        lost = 0
        for thread in threads:
            history = (await client.get(f"{a}/v1/threads/{thread}")).json()
            lost += 2 - len(history["messages"])
    total = first + second
    distinct = min(questions, len(QUESTIONS))
    print(
        f"two replicas, {questions} concurrent questions per wave, sandbox latency {args.latency_ms:.0f} ms"
    )
    for name, values, errors, wall, sent_now in (
        ("wave 1 (new threads)", first, first_errors, first_wall, sent_first),
        ("wave 2 (follow-ups on the other replica)", second, second_errors, second_wall, sent - sent_first),
    ):
        if values:
            print(
                f"{name}: p50 {statistics.median(values):.2f} s, p95 {percentile(values, 0.95):.2f} s, "
                f"wall {wall:.1f} s, errors {errors}, Bitbucket requests/question {sent_now / questions:.1f}"
            )
    print(
        f"all: {len(total)} answered, {first_errors + second_errors} errors, {lost} lost thread messages, "
        f"p50 {statistics.median(total):.2f} s, p95 {percentile(total, 0.95):.2f} s, "
        f"Bitbucket requests/question {sent / (2 * questions):.1f} "
        f"({distinct} distinct first questions: {sent_first / distinct:.1f} requests each; "
        "identical ones share one set across replicas)"
    )


def main() -> None:
    world = build_world("default", seed=7, anchor=datetime.fromisoformat("2026-11-29T16:00:00+00:00"))
    app = create_app(world, SandboxSettings(faults=FaultProfile(latency_ms=args.latency_ms)))
    with LoopbackServer(app) as sandbox, stack() as made:
        root = made.root
        made.postgres.create()
        made.redis.start()
        token = world.token("demo")
        config = root / "config.toml"
        connection = Connection(
            name="bench",
            workspace="acme",
            base_url=sandbox.base_url,
            email=token.email,
            api_token=token.secret,
        )
        save_connection(connection, config)
        env = replica_env(
            {"BBSCOUT_CONFIG": str(config)},
            root / "data",
            made.postgres.url,
            made.redis.url,
            {"bench": ApiKey(hash=digest(KEY), quota_per_hour=100_000).model_dump()},
        )
        made.replicas[:] = [Replica(env | {"BBSCOUT_DATA_DIR": str(root / f"data-{n}")}) for n in "ab"]
        asyncio.run(
            load(made.replicas[0].origin, made.replicas[1].origin, args.questions, app.state.request_log)
        )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--questions", type=int, default=50)
    parser.add_argument("--latency-ms", type=float, default=100.0)
    args = parser.parse_args()
    print(json.dumps({"questions": args.questions, "latency_ms": args.latency_ms}))
    main()
