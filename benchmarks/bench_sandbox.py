"""Requests/second against the sandbox over loopback HTTP (a script, not a test).

    .venv/bin/python benchmarks/bench_sandbox.py [--seconds 5] [--concurrency 8] [--world default|tiny]

Uses the default generated world when `sandbox.world.generator` is importable, else the tiny test
world. Mixes the endpoint families the evals hit most (lists with BBQL/fields, single objects, logs).
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import multiprocessing
import sys
import time
from urllib.parse import quote

import httpx

from bbscout.sandbox.app import SandboxSettings, create_app
from bbscout.sandbox.server import LoopbackServer
from bbscout.sandbox.world.model import World


def load_world(name: str) -> World:
    if name != "tiny":
        try:
            from bbscout.sandbox.world.generator import build_world  # type: ignore[import-not-found]

            return build_world(name)  # type: ignore[no-any-return]
        except ImportError:
            print("generator not available; using the tiny world", file=sys.stderr)
    from tests.sandbox.fixtures import tiny_world

    return tiny_world()


def paths(world: World) -> list[str]:
    ws = world.workspace["slug"]
    out = ["/user", f"/repositories/{ws}"]
    for slug, rd in list(world.repos.items())[:3]:
        r = f"/repositories/{ws}/{slug}"
        out += [
            r,
            f"{r}/pullrequests?state=MERGED&pagelen=50",
            f"{r}/pullrequests?q=title%20~%20%22fix%22",
            f"{r}/commits?pagelen=30",
            f"{r}/pipelines?sort=-created_on&pagelen=20",
            f"{r}/refs/branches?sort=-target.date",
            f"{r}/deployments/",
            f"{r}/src/{quote(rd.main_branch)}/",
            f"{r}/diffstat/{rd.branches[rd.main_branch]}",
        ]
        if rd.pipelines:
            p = rd.pipelines[-1]
            out += [f"{r}/pipelines/{p['build_number']}", f"{r}/pipelines/{quote(p['uuid'])}/steps"]
        if rd.pullrequests:
            out.append(f"{r}/pullrequests/{max(rd.pullrequests)}")
    return out


async def run(
    base_url: str,
    headers: dict[str, str],
    urls: list[str],
    seconds: float,
    concurrency: int,
    app: object = None,
) -> tuple[int, int]:
    done = errors = 0
    deadline = time.perf_counter() + seconds
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    transport = httpx.ASGITransport(app=app) if app is not None else None  # type: ignore[arg-type]
    async with httpx.AsyncClient(
        base_url=base_url, headers=headers, limits=limits, transport=transport
    ) as client:

        async def worker(offset: int) -> None:
            nonlocal done, errors
            i = offset
            while time.perf_counter() < deadline:
                r = await client.get(urls[i % len(urls)])
                i += 1
                done += 1
                errors += r.status_code >= 400

        await asyncio.gather(*(worker(k) for k in range(concurrency)))
    return done, errors


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seconds", type=float, default=5)
    ap.add_argument("--concurrency", type=int, default=8)
    ap.add_argument("--world", default="default")
    ap.add_argument("--asgi", action="store_true", help="in-process ASGITransport, no sockets")
    ap.add_argument(
        "--client-procs",
        type=int,
        default=0,
        help="drive the load from N separate processes (default: same process as the server)",
    )
    args = ap.parse_args()
    world = load_world(args.world)
    token = world.token("demo")
    headers = {
        "Authorization": "Basic " + base64.b64encode(f"{token.email}:{token.secret}".encode()).decode()
    }
    app = create_app(world, SandboxSettings(rate_limit_per_hour=10**9))
    urls = paths(world)
    if args.asgi:
        base = "http://sandbox.local/2.0"
        asyncio.run(run(base, headers, urls, 1.0, args.concurrency, app))
        n, errors = asyncio.run(run(base, headers, urls, args.seconds, args.concurrency, app))
        print(
            f"world={world.name} endpoints={len(urls)} requests={n} errors={errors} "
            f"rps={n / args.seconds:.0f} (ASGITransport in-process, concurrency "
            f"{args.concurrency}, {args.seconds:.0f}s)"
        )
        return
    with LoopbackServer(app) as server:
        asyncio.run(run(server.base_url, headers, urls, 1.0, args.concurrency))  # warm caches
        if args.client_procs:
            job = (server.base_url, headers, urls, args.seconds, args.concurrency)
            with multiprocessing.get_context("spawn").Pool(args.client_procs) as pool:
                results = pool.map(_client_proc, [job] * args.client_procs)
            n, errors = sum(r[0] for r in results), sum(r[1] for r in results)
        else:
            n, errors = asyncio.run(run(server.base_url, headers, urls, args.seconds, args.concurrency))
    where = f"{args.client_procs} client processes" if args.client_procs else "in-process client"
    print(
        f"world={world.name} endpoints={len(urls)} requests={n} errors={errors} "
        f"rps={n / args.seconds:.0f} ({where}, concurrency {args.concurrency} each, {args.seconds:.0f}s)"
    )


def _client_proc(job: tuple[str, dict[str, str], list[str], float, int]) -> tuple[int, int]:
    return asyncio.run(run(*job))


if __name__ == "__main__":
    main()
