"""Webhook delivery throughput: one subscription catching up on a backlog, signed batches POSTed
to a receiver on loopback, beside a raw asyncpg read of the same rows in the same run.

    python tests/benchmarks/bench_webhooks.py            # full size: 200,000 events
    python tests/benchmarks/bench_webhooks.py --smoke    # seconds, for CI

The delivery runs the worker's own `deliver` in this process (claim the lease, read a page of
what the owner may see, sign, POST, move the cursor), batch after batch, until the receiver has
every event; the receiver is a minimal asyncio HTTP server answering 204, in a process of its
own. Prints figures and the ratio to the raw read; asserts nothing.
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import os
import sys
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import asyncpg

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

import events.domain  # noqa: F401 - registers every domain event
from events.envelope import Metadata, NewEvent, StreamWrite
from events.store import EventStore, create_pool
from events.subscriptions import SubscriptionFilter
from services.domain.delivery import RetryPolicy
from services.domain.subscription import CreateSubscription
from services.handlers import subscriptions
from services.handlers.auth import OPERATOR
from services.handlers.command_path import CommandContext, execute
from services.handlers.webhooks import AllowList
from services.ops.migrate import migrate_and_rebuild
from tests.benchmarks.scratch import scratch_database
from tests.org import make_user
from tests.receiver import RECEIVERS
from tests.support import Noted, test_catalog
from workers.webhooks import Clients, DeliveryConfig, deliver

COLUMNS = (
    "event_id, stream_id, version, position, tx_id, type, schema_version, data, metadata, "
    "category, plan_id, units, recorded_at, prev_hash, hash"
)


class Receiver:
    """HTTP/1.1 keep-alive, reads each body, answers 204, counts events by their `"event_id"`;
    in a process of its own, as a receiver would be, counting into shared memory."""

    def __init__(self, events: Any, requests: Any) -> None:
        self.events = events
        self.requests = requests

    async def serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                length = 0
                for line in head.split(b"\r\n"):
                    if line.lower().startswith(b"content-length:"):
                        length = int(line.split(b":", 1)[1])
                body = await reader.readexactly(length)
                self.events.value += body.count(b'"event_id"')
                self.requests.value += 1
                writer.write(b"HTTP/1.1 204 No Content\r\nContent-Length: 0\r\n\r\n")
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            writer.close()


def run_receiver(events: Any, requests: Any, ports: Any) -> None:
    async def serve() -> None:
        server = await asyncio.start_server(Receiver(events, requests).serve, "127.0.0.1", 0)
        ports.put(server.sockets[0].getsockname()[1])
        await server.serve_forever()

    asyncio.run(serve())


async def raw_read(pool: asyncpg.Pool[Any], page: int) -> tuple[int, float]:
    started = time.perf_counter()
    rows, after = 0, (0, 0)
    while True:
        found = await pool.fetch(
            f"SELECT {COLUMNS} FROM events WHERE (tx_id, position) > ($1::bigint, $2::bigint) "
            f"ORDER BY tx_id, position LIMIT {page}",
            *after,
        )
        rows += len(found)
        if len(found) < page:
            return rows, time.perf_counter() - started
        after = (found[-1]["tx_id"], found[-1]["position"])


async def bench(dsn: str, events: int, batch: int) -> None:
    pool = await create_pool(dsn, min_size=2, max_size=8)
    notes = EventStore(pool, catalog=test_catalog)
    store = EventStore(pool)
    print(f"appending {events:,} events ...", flush=True)
    for start in range(0, events, 2000):
        await notes.append(
            [
                StreamWrite(
                    f"note-{uuid.uuid4()}",
                    0,
                    [NewEvent(Noted(text=f"{n}")) for n in range(start, min(events, start + 2000))],
                )
            ],
            Metadata(),
        )
    owner, _ = await make_user(store, "admin")
    total = int(await pool.fetchval("SELECT count(*) FROM events"))
    received, requests, ports = (
        multiprocessing.Value("q", 0, lock=False),
        multiprocessing.Value("q", 0, lock=False),
        multiprocessing.Queue(),
    )
    receiver = multiprocessing.Process(
        target=run_receiver, args=(received, requests, ports), daemon=True
    )
    receiver.start()
    port = ports.get(timeout=30)
    subscription = uuid.uuid4()
    now = datetime.now(UTC)
    secret = "benchmark-secret-0123456789"
    command = CreateSubscription(
        subscription,
        owner,
        "bench",
        f"http://127.0.0.1:{port}/hook",
        secret,
        SubscriptionFilter(),
        None,
        now,
    )
    await execute(
        store, CommandContext(OPERATOR, now), subscriptions.handler(command, OPERATOR, secret)
    )
    total += 1  # SubscriptionCreated is in the feed too (the owner is an admin)
    await pool.execute("VACUUM ANALYZE events")
    await raw_read(pool, batch)  # warm the cache for both
    raw_rows, raw_seconds = await raw_read(pool, batch)
    config = DeliveryConfig(AllowList.parse(RECEIVERS.split(",")), RetryPolicy(), 5.0, batch)
    started = time.perf_counter()
    async with Clients(5.0) as client:
        while received.value < total:
            await deliver(store, client, config, subscription)
    seconds = time.perf_counter() - started
    raw_rate, rate = raw_rows / raw_seconds, received.value / seconds
    print(f"webhook catch-up of {total:,} events, batches of {batch:,}")
    print(f"  raw asyncpg read    {raw_rows:10,} rows    {raw_rate:12,.0f} rows/s")
    print(
        f"  signed deliveries   {received.value:10,} events  {rate:12,.0f} events/s"
        f"   ({requests.value:,} POSTs, {requests.value / seconds:,.0f}/s)"
        f"   ratio {rate / raw_rate:.2f}"
    )
    receiver.terminate()
    receiver.join()
    await store.close()
    await notes.close()
    await pool.close()


async def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--smoke", action="store_true", help="seconds, for CI")
    parser.add_argument("--events", type=int, default=200_000)
    parser.add_argument("--batch", type=int, default=1000)
    args = parser.parse_args()
    if args.smoke:
        args.events = 5_000
    async with scratch_database(migrate_and_rebuild) as (dsn, _):
        await bench(dsn, args.events, args.batch)


if __name__ == "__main__":
    os.environ.setdefault("LOG_FORMAT", "console")
    asyncio.run(main())
