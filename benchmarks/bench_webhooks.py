"""A flood of incident webhooks on `bbscout serve` (a script, not a test).

    .venv/bin/python benchmarks/bench_webhooks.py [--alerts 100] [--concurrency 4] [--latency-ms 100]

Everything runs on loopback: the sandbox Bitbucket (with added latency), a callback receiver, and
`bbscout serve` twice over: one process on SQLite, then two replicas on one PostgreSQL and one Redis.
Each setup gets `--alerts` Alertmanager alerts at once (distinct groups, so distinct incidents), every
one delivered twice — on two replicas once to each — as a redelivery storm. Prints how fast the
webhooks answered (202), how long until every finding was delivered, how many investigations ran at
once per process, investigations started per incident, lost or doubled deliveries, and Bitbucket
requests per investigation; then how fast a webhook answers on an idle process. Bounded: one flood
per setup, 600 s at most.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import sys
import time
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx

os.environ["PYTHON_KEYRING_BACKEND"] = "keyring.backends.null.Keyring"  # tokens in the temp config file
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bbscout.agent.connections import Connection, save_connection
from bbscout.agent.service.keys import ApiKey, digest
from bbscout.sandbox.app import SandboxSettings, create_app
from bbscout.sandbox.faults import FaultProfile
from bbscout.sandbox.server import LoopbackServer
from bbscout.sandbox.world import build_world
from tests.service.replicas import Replica, replica_env, stack
from tests.surfaces.incident_payloads import AM_TOKEN, Callbacks, alertmanager_body, signed

NOW = "2026-11-29T16:20:00+00:00"
KEY = "bbs_bench-0123456789abcdef0123456789"


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


async def flood(origins: list[str], alerts: int, callbacks: Callbacks, request_log: list[Any]) -> None:
    """Send every alert to each origin (a redelivery storm), then wait for every finding."""
    deliveries = [(origins[(i + k) % len(origins)], i) for i in range(alerts) for k in range(2)]
    before_log, before_cb = len(request_log), len(callbacks.received)
    limits = httpx.Limits(max_connections=len(deliveries))
    async with httpx.AsyncClient(timeout=60, limits=limits) as client:

        async def deliver(origin: str, i: int) -> tuple[float, dict[str, Any]]:
            raw, headers = signed("alertmanager", alertmanager_body(group=f"bench-{i}", service="flood-api"))
            started = time.perf_counter()
            response = await client.post(f"{origin}/v1/webhooks/alertmanager", content=raw, headers=headers)
            assert response.status_code == 202, response.text
            return time.perf_counter() - started, response.json()["investigations"][0]

        started = time.perf_counter()
        answers = await asyncio.gather(*(deliver(o, i) for o, i in deliveries))
        accepted_wall = time.perf_counter() - started
        await asyncio.to_thread(callbacks.wait_for, before_cb + alerts, 600)
        delivered_wall = time.perf_counter() - started
        workers = [(await client.get(f"{o}/readyz")).json()["investigations"] for o in origins]
        quiet = [(await deliver(origins[0], i))[0] for i in range(20)]  # idle: redeliveries, one at a time
    latencies = [seconds for seconds, _ in answers]
    created = sum(not answer["duplicate"] for _, answer in answers)
    ids = [json.loads(body)["investigation"] for body, _ in callbacks.received[before_cb:]]
    sent = len(request_log) - before_log
    print(
        f"  202s: {len(answers)} webhooks ({alerts} incidents, each delivered twice) answered in "
        f"{accepted_wall:.2f} s; p50 {statistics.median(latencies) * 1000:.0f} ms, "
        f"p95 {percentile(latencies, 0.95) * 1000:.0f} ms, max {max(latencies) * 1000:.0f} ms"
    )
    print(
        f"  idle, one at a time: p50 {statistics.median(quiet) * 1000:.1f} ms, max {max(quiet) * 1000:.1f} ms"
    )
    print(
        f"  investigations started: {created} for {alerts} incidents; findings delivered: {len(ids)} "
        f"({len(set(ids))} distinct, {alerts - len(set(ids))} lost) after {delivered_wall:.1f} s"
    )
    print(
        "  at once per process (workers / peak): "
        + ", ".join(f"{w['workers']} / {w['peak']}" for w in workers)
        + f"; Bitbucket requests per investigation {sent / alerts:.1f}"
    )


def setup(root: Path, sandbox_url: str, world: Any, hook: str) -> dict[str, str]:
    token = world.token("demo")
    config = root / "config.toml"
    connection = Connection(
        name="bench", workspace="acme", base_url=sandbox_url, email=token.email, api_token=token.secret
    )
    save_connection(connection, config)
    with config.open("a", encoding="utf-8") as handle:
        handle.write(
            f'\n[incidents]\nconcurrency = {args.concurrency}\npoll_seconds = 0.5\nconnection = "bench"\n'
            f'\n[incidents.services.flood]\nrepos = ["checkout-service"]\naliases = ["flood-api"]\n'
            f'callback_url = "{hook}"\n'
        )
    return {"BBSCOUT_CONFIG": str(config), "BBSCOUT_ALERTMANAGER_TOKEN": AM_TOKEN}


def main() -> None:
    world = build_world("default", seed=7, anchor=datetime.fromisoformat("2026-11-29T16:00:00+00:00"))
    app = create_app(world, SandboxSettings(faults=FaultProfile(latency_ms=args.latency_ms)))
    callbacks = Callbacks()
    keys = {"bench": ApiKey(hash=digest(KEY), quota_per_hour=100_000).model_dump()}
    with LoopbackServer(app) as sandbox, LoopbackServer(callbacks.app) as receiver, stack() as made:
        root = made.root
        base = setup(root, sandbox.base_url, world, f"{receiver.origin}/hook")
        clean = {
            k: v for k, v in os.environ.items() if not k.startswith(("BITBUCKET_", "OPENAI_", "BBSCOUT_"))
        }
        single = (
            clean | base | {"BBSCOUT_DATA_DIR": str(root / "single"), "BBSCOUT_API_KEYS": json.dumps(keys)}
        )
        made.replicas[:] = [Replica(single, "--now", NOW)]
        print(f"one process on SQLite, {args.concurrency} workers, sandbox latency {args.latency_ms:.0f} ms")
        asyncio.run(flood([made.replicas[0].origin], args.alerts, callbacks, app.state.request_log))
        made.replicas.pop().stop()
        made.postgres.create()
        made.redis.start()
        env = replica_env(base, root / "data", made.postgres.url, made.redis.url, keys)
        made.replicas[:] = [
            Replica(env | {"BBSCOUT_DATA_DIR": str(root / f"data-{n}")}, "--now", NOW) for n in "ab"
        ]
        print(f"two replicas on PostgreSQL + Redis, {args.concurrency} workers each")
        asyncio.run(flood([r.origin for r in made.replicas], args.alerts, callbacks, app.state.request_log))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--alerts", type=int, default=100)
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument("--latency-ms", type=float, default=100.0)
    args = parser.parse_args()
    print(json.dumps({"alerts": args.alerts, "concurrency": args.concurrency, "latency_ms": args.latency_ms}))
    main()
