"""CPU per request of a server's ASGI app, in one process, without a network.

``python -m benchmarks.inprocess [--requests N] [--concurrency C]`` seeds a database of
10,000 events, then calls afisha's app (the one ``afisha serve`` runs, built by
:func:`afisha_server.asgi.create_app`) and the baseline's directly with ASGI messages:
the first page of ``GET /v1/events`` and ``GET /v1/events/{id}`` with a bearer token,
``N`` requests each from ``C`` concurrent tasks, on uvloop. It prints the process CPU
time and the wall time per request. With no sockets, no HTTP parser and no load driver
in the way, this isolates what the app and its database adapter cost per request, and
repeats within a few percent where the HTTP scenarios vary by 10-20 %. ``--gc`` tunes
the garbage collector as ``afisha serve`` does, for either app.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import os
import tempfile
import time
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

import psycopg

from benchmarks import seed
from benchmarks.run import bench_database

__all__ = ["main", "measure"]

App = Callable[
    [
        MutableMapping[str, Any],
        Callable[[], Awaitable[MutableMapping[str, Any]]],
        Callable[[MutableMapping[str, Any]], Awaitable[None]],
    ],
    Awaitable[None],
]


async def _call(app: App, path: str, headers: list[tuple[bytes, bytes]]) -> int:
    status = 0

    async def receive() -> MutableMapping[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: MutableMapping[str, Any]) -> None:
        nonlocal status
        if message["type"] == "http.response.start":
            status = message["status"]

    scope: dict[str, Any] = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": headers,
        "client": ("127.0.0.1", 50000),
        "server": ("127.0.0.1", 80),
    }
    await app(scope, receive, send)
    return status


async def _started(app: App) -> Callable[[], Awaitable[None]]:
    """Run the app's lifespan start-up; return how to shut it down."""
    inbox: asyncio.Queue[MutableMapping[str, Any]] = asyncio.Queue()
    outbox: asyncio.Queue[MutableMapping[str, Any]] = asyncio.Queue()
    await inbox.put({"type": "lifespan.startup"})
    scope: dict[str, Any] = {"type": "lifespan", "asgi": {"version": "3.0"}, "state": {}}

    async def lifespan() -> None:
        await app(scope, inbox.get, outbox.put)

    task = asyncio.create_task(lifespan())
    started = await outbox.get()
    if started["type"] != "lifespan.startup.complete":
        raise RuntimeError(f"the app did not start: {started}")

    async def stop() -> None:
        await inbox.put({"type": "lifespan.shutdown"})
        await task

    return stop


def _app(which: str, url: str, data_dir: str) -> App:
    if which == "afisha":
        from afisha_server.asgi import create_app  # noqa: PLC0415
        from afisha_server.config import ServerConfig  # noqa: PLC0415

        config = ServerConfig(
            database_url=url,
            storage_url="memory://",
            data_dir=data_dir,
            redis_url=os.environ.get("AFISHA_BENCH_REDIS_URL", "redis://127.0.0.1:6379/12"),
        )
        afisha: App = create_app(config)
        return afisha
    from benchmarks.baseline_app import create_app as baseline_app  # noqa: PLC0415

    baseline: App = baseline_app(url, span_bound=True)
    return baseline


async def measure(
    which: str, url: str, spec: seed.SeedSpec, requests: int, concurrency: int
) -> dict[str, tuple[float, float]]:
    """``{case: (cpu ms, wall ms)}`` per request for ``which`` (``afisha``/``baseline``)."""
    async with await psycopg.AsyncConnection.connect(url) as conn:
        cursor = await conn.execute(
            "SELECT id FROM events WHERE ends_at > now() AND rejected_at IS NULL"
            " ORDER BY starts_at, id LIMIT 1"
        )
        row = await cursor.fetchone()
    if row is None:
        raise RuntimeError("no upcoming event in the seeded database")
    token = seed.token_for(spec.seed, 5)
    cases = {
        "first page": ("/v1/events", []),
        "event with token": (
            f"/v1/events/{row[0]}",
            [(b"authorization", f"Bearer {token}".encode())],
        ),
    }
    results: dict[str, tuple[float, float]] = {}
    with tempfile.TemporaryDirectory(prefix="afisha-bench-inprocess-") as data_dir:
        app = _app(which, url, data_dir)
        stop = await _started(app)
        try:
            for case, (path, headers) in cases.items():
                status = await _call(app, path, headers)
                if status != 200:
                    raise RuntimeError(f"{which} answered {status} to {path}")
                for _ in range(200):  # warm-up: prepared statements, caches
                    await _call(app, path, headers)

                async def worker(count: int, path: str = path, headers: Any = headers) -> None:
                    for _ in range(count):
                        await _call(app, path, headers)

                cpu, wall = time.process_time(), time.perf_counter()
                per = max(1, requests // concurrency)
                await asyncio.gather(*(worker(per) for _ in range(concurrency)))
                n = per * concurrency
                results[case] = (
                    (time.process_time() - cpu) * 1000 / n,
                    (time.perf_counter() - wall) * 1000 / n,
                )
        finally:
            await stop()
    return results


async def _main(requests: int, concurrency: int, tune_gc: bool) -> None:
    spec = seed.SeedSpec(events=10_000, users=2_000)
    async with bench_database(str(os.getpid()), "inprocess", spec) as (url, _report):
        for which in ("afisha", "baseline"):
            if tune_gc:
                from afisha_server.gc_tuning import tune_garbage_collector  # noqa: PLC0415

                tune_garbage_collector()
            for case, (cpu, wall) in (
                await measure(which, url, spec, requests, concurrency)
            ).items():
                print(f"{which:8} {case:17} cpu {cpu:.3f} ms/req  wall {wall:.3f} ms/req")
            gc.unfreeze()
            gc.set_threshold(700, 10, 10)


def main(argv: list[str] | None = None) -> int:
    """Print CPU and wall time per request of afisha's app and the baseline's."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks.inprocess")
    parser.add_argument("--requests", type=int, default=3000)
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--gc", action="store_true", help="tune the collector, for both apps")
    args = parser.parse_args(argv)
    import uvloop  # noqa: PLC0415 - the servers' loop

    uvloop.run(_main(args.requests, args.concurrency, args.gc))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
