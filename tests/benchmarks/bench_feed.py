"""The feed for departments: catch-up over HTTP NDJSON beside a raw asyncpg read of the same
rows, and Server-Sent Events append-to-receipt latency at 1,000 clients.

    python tests/benchmarks/bench_feed.py            # full size: 1,000,000 events
    python tests/benchmarks/bench_feed.py --smoke    # seconds, for CI

`campaign serve` runs as its own process; the clients run in this one. Catch-up: pages of
10,000 events (`GET /events`, `Accept: application/x-ndjson`) until the end, as an admin.
Raw: the same rows and columns in feed order, 10,000 a query, not decoded. SSE: the clients
follow `/events/live`; events are appended at a steady rate and each client's receipt of each
event is timed from the append's commit. Prints figures and ratios; asserts nothing.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import socket
import statistics
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import asyncpg
import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

import events.domain  # noqa: F401 - registers every domain event
from events.envelope import Metadata, NewEvent, StreamWrite
from events.store import EventStore, create_pool
from services.ops.migrate import migrate_and_rebuild
from tests.benchmarks.bench_projections import generate, load
from tests.benchmarks.scratch import scratch_database
from tests.org import bearer, make_user
from tests.support import Noted, test_catalog

COLUMNS = (
    "event_id, stream_id, version, position, tx_id, type, schema_version, data, metadata, "
    "category, plan_id, units, recorded_at, prev_hash, hash"
)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


async def raw_read(pool: asyncpg.Pool[Any]) -> tuple[int, float]:
    started = time.perf_counter()
    rows, after = 0, (0, 0)
    while True:
        found = await pool.fetch(
            f"SELECT {COLUMNS} FROM events WHERE (tx_id, position) > ($1::bigint, $2::bigint) "
            "ORDER BY tx_id, position LIMIT 10000",
            *after,
        )
        rows += len(found)
        if len(found) < 10_000:
            return rows, time.perf_counter() - started
        after = (found[-1]["tx_id"], found[-1]["position"])


async def http_catch_up(url: str, headers: dict[str, str]) -> tuple[int, float]:
    started = time.perf_counter()
    count, after = 0, None
    async with httpx.AsyncClient(base_url=url, timeout=120) as client:
        while True:
            params = {"limit": "10000", **({"after": after} if after else {})}
            tail = b""
            got = 0
            async with client.stream(
                "GET",
                "/events",
                params=params,
                headers={**headers, "Accept": "application/x-ndjson"},
            ) as response:
                # Count lines as the bytes arrive (the consumer's parsing is its own affair);
                # keep the end to continue from the last event's cursor.
                async for chunk in response.aiter_raw():
                    got += chunk.count(b"\n")
                    tail = (tail + chunk)[-4096:]
            count += got
            if got < 10_000:
                return count, time.perf_counter() - started
            last = tail.rstrip(b"\n").rsplit(b"\n", 1)[-1]
            after = json.loads(last)["cursor"]


async def sse_latency(
    url: str, headers: dict[str, str], store: EventStore, clients: int, seconds: float, rate: int
) -> list[float]:
    head = await store.head()
    appended: dict[str, float] = {}
    lags: list[float] = []
    ready = 0

    host, port = url.removeprefix("http://").split(":")
    request = (
        f"GET /events/live HTTP/1.1\r\nHost: {host}\r\n"
        f"Authorization: {headers['Authorization']}\r\nLast-Event-ID: {head or ''}\r\n\r\n"
    ).encode()

    async def follow(expected: int) -> None:
        # A bare socket, not an HTTP client library: 1,000 of them in one process must cost
        # little, or the benchmark measures its own clients.
        nonlocal ready
        reader, writer = await asyncio.open_connection(host, int(port), limit=2**20)
        writer.write(request)
        got = 0
        try:
            while got < expected:
                line = await reader.readline()
                if not line or line.startswith(b"HTTP/1.1 4"):
                    return
                if line.startswith(b": connected"):
                    ready += 1
                elif line.startswith(b"id: "):
                    now = time.perf_counter()
                    sent = appended.get(line[4:].strip().decode())
                    if sent is not None:
                        lags.append((now - sent) * 1000)
                    got += 1
        finally:
            writer.close()

    total = int(seconds * rate)
    followers = [asyncio.create_task(follow(total)) for _ in range(clients)]
    for _ in range(6000):
        if ready + sum(f.done() for f in followers) >= clients:  # connected or turned away
            break
        await asyncio.sleep(0.05)
    stream = f"note-{uuid.uuid4()}"
    started = time.perf_counter()
    for n in range(total):
        due = started + n / rate
        if due > time.perf_counter():
            await asyncio.sleep(due - time.perf_counter())
        result = await store.append(
            [StreamWrite(stream, n, [NewEvent(Noted(text=f"{n}"))])], Metadata()
        )
        appended[result.events[0].cursor] = time.perf_counter()
    await asyncio.wait_for(asyncio.gather(*followers), 120)
    return sorted(lags)


async def bench(dsn: str, events: int, clients: int, seconds: float, rate: int) -> None:
    pool = await create_pool(dsn, min_size=2, max_size=8)
    domain = EventStore(pool)
    notes = EventStore(pool, catalog=test_catalog)
    port = free_port()
    env = {
        **os.environ,
        "DATABASE_URL": dsn,
        "HTTP_PORT": str(port),
        "LOG_FORMAT": "json",
        "LOG_LEVEL": "warning",
        # Every client follows as the one admin: the per-user limit (20) would turn the rest
        # away with 429 and the benchmark would wait for them to connect.
        "LIVE_CONNECTIONS_PER_USER": str(clients + 10),
    }
    server = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "services.ops.cli",
        "serve",
        env=env,
        stdout=asyncio.subprocess.DEVNULL,
    )
    try:
        print(f"appending about {events:,} task events ...", flush=True)
        appended = await load(domain, generate(events, 7), 2000)
        _, token = await make_user(domain, "admin")
        headers = bearer(token)
        url = f"http://127.0.0.1:{port}"
        async with httpx.AsyncClient(base_url=url) as client:
            for _ in range(200):
                try:
                    if (await client.get("/health/ready")).status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                await asyncio.sleep(0.1)
        await pool.execute("VACUUM ANALYZE events")
        await raw_read(pool)  # warm the cache for both
        raw_rows, raw_seconds = await raw_read(pool)
        http_rows, http_seconds = await http_catch_up(url, headers)
        raw_rate, http_rate = raw_rows / raw_seconds, http_rows / http_seconds
        print(f"catch-up of {appended:,} events")
        print(f"  raw asyncpg read   {raw_rows:10,} rows    {raw_rate:12,.0f} rows/s")
        print(
            f"  HTTP NDJSON        {http_rows:10,} events  {http_rate:12,.0f} events/s"
            f"   ratio {http_rate / raw_rate:.2f}   (target >= 100,000 events/s)"
        )
        lags = await sse_latency(url, headers, notes, clients, seconds, rate)
        print(f"SSE at {clients:,} clients, {rate} events/s for {seconds:.0f} s")
        print(
            f"  {len(lags):,} receipts   p50 {statistics.median(lags):.1f} ms"
            f"   p99 {lags[max(0, int(len(lags) * 0.99) - 1)]:.1f} ms   max {lags[-1]:.1f} ms"
            "   (target p99 < 500 ms)"
        )
    finally:
        server.send_signal(signal.SIGTERM)
        await asyncio.wait_for(server.wait(), 30)
        await domain.close()
        await pool.close()


async def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--smoke", action="store_true", help="seconds, for CI")
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--clients", type=int, default=1000)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--rate", type=int, default=20)
    args = parser.parse_args()
    if args.smoke:
        args.events, args.clients, args.seconds = 20_000, 50, 2.0
    async with scratch_database(migrate_and_rebuild) as (dsn, _):
        await bench(dsn, args.events, args.clients, args.seconds, args.rate)


if __name__ == "__main__":
    os.environ.setdefault("LOG_FORMAT", "console")
    asyncio.run(main())
