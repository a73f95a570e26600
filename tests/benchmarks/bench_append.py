"""Append throughput against raw asyncpg INSERTs of the same rows, in one run, one database.

    python tests/benchmarks/bench_append.py            # full size
    python tests/benchmarks/bench_append.py --smoke    # a few seconds, for CI

Raw: INSERT into a copy of the events table (same columns, same indexes, no guarantees):
one row per transaction from 16 connections, and 100 rows per transaction (one unnest INSERT).
Store: `EventStore.append` with every guarantee on (stream heads and versions, hash chain,
clock check, tags, wake-up signal): 1 event per call from 16 concurrent callers, and 100-event
batches. Prints every paired round, then the medians and their ratio; asserts nothing about speed.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import os
import statistics
import sys
import time
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from events.codec import canonical
from events.envelope import Metadata, NewEvent, StreamWrite
from events.migrate import migrate
from events.store import EventStore, create_pool
from tests.benchmarks.scratch import scratch_database
from tests.support import Noted, test_catalog

RAW_INSERT = """
INSERT INTO raw_events (tx_id, event_id, stream_id, version, type, schema_version, data,
                        metadata, category, plan_id, units, recorded_at, prev_hash, hash)
VALUES (pg_current_xact_id()::text::bigint, $1, $2, $3, 'Noted', 1, $4, $5, 'note', $6, $7,
        $8, $9, $10)
"""
RAW_BATCH = """
INSERT INTO raw_events (tx_id, event_id, stream_id, version, type, schema_version, data,
                        metadata, category, plan_id, units, recorded_at, prev_hash, hash)
SELECT pg_current_xact_id()::text::bigint, e.id, $1, e.version, 'Noted', 1, e.data, $2, 'note',
       $3, $4, $5, NULL, e.hash
FROM unnest($6::uuid[], $7::int[], $8::jsonb[], $9::bytea[]) AS e(id, version, data, hash)
"""


def event_payload(n: int) -> Noted:
    return Noted(text=f"Báo cáo kết quả thực hiện nhiệm vụ số {n}: hoàn thành 60/85", count=n)


async def run_workers(
    concurrency: int, calls: int, call: Callable[[int, int], Awaitable[Any]]
) -> float:
    async def worker(w: int) -> None:
        for i in range(w, calls, concurrency):
            await call(w, i)

    started = time.perf_counter()
    await asyncio.gather(*(worker(w) for w in range(concurrency)))
    return time.perf_counter() - started


async def bench(dsn: str, singles: int, batches: int, batch_size: int, concurrency: int) -> None:
    pool = await create_pool(dsn, min_size=concurrency, max_size=concurrency + 2)
    store = EventStore(pool, catalog=test_catalog)
    await pool.execute("CREATE TABLE raw_events (LIKE events INCLUDING ALL)")
    metadata = Metadata(correlation_id="bench")
    metadata_json = canonical(metadata)
    plan, unit = uuid.uuid4(), uuid.uuid4()
    units_param = [unit]
    fake_hash = hashlib.sha256(b"x").digest()

    # -- one event per transaction ---------------------------------------------------------
    raw_versions = [0] * concurrency

    async def raw_single(w: int, i: int) -> None:
        raw_versions[w] += 1
        await pool.execute(
            RAW_INSERT,
            uuid.uuid4(),
            f"raw-{w}",
            raw_versions[w],
            canonical(event_payload(i)),
            metadata_json,
            plan,
            units_param,
            datetime.now(UTC),
            fake_hash,
            fake_hash,
        )

    store_versions = [0] * concurrency
    streams = [f"note-{uuid.uuid4()}" for _ in range(concurrency)]

    async def append_single(w: int, i: int) -> None:
        await store.append(
            [
                StreamWrite(
                    streams[w],
                    store_versions[w],
                    [NewEvent(event_payload(i), plan_id=plan, units=units_param)],
                )
            ],
            metadata,
        )
        store_versions[w] += 1

    # -- batches ---------------------------------------------------------------------------
    async def raw_batch(w: int, i: int) -> None:
        n = batch_size
        await pool.execute(
            RAW_BATCH,
            f"rawb-{w}-{i}-{uuid.uuid4().hex[:8]}",
            metadata_json,
            plan,
            units_param,
            datetime.now(UTC),
            [uuid.uuid4() for _ in range(n)],
            list(range(1, n + 1)),
            [canonical(event_payload(i * n + k)) for k in range(n)],
            [fake_hash] * n,
        )

    async def append_batch(w: int, i: int) -> None:
        n = batch_size
        await store.append(
            [
                StreamWrite(
                    f"note-b{w}-{i}-{uuid.uuid4().hex[:8]}",
                    0,
                    [
                        NewEvent(event_payload(i * n + k), plan_id=plan, units=units_param)
                        for k in range(n)
                    ],
                )
            ],
            metadata,
        )

    # Warm up both paths (prepared statements, caches), then measure alternately.
    await run_workers(concurrency, concurrency * 4, raw_single)
    await run_workers(concurrency, concurrency * 4, append_single)
    results: dict[str, list[float]] = {k: [] for k in ("raw1", "app1", "rawB", "appB")}
    rounds = 3
    print(
        f"append benchmark: {concurrency} concurrent callers, {rounds} paired rounds, "
        f"PostgreSQL at {dsn.rsplit('@', maxsplit=1)[-1]}"
    )
    for number in range(1, rounds + 1):
        results["raw1"].append(singles / await run_workers(concurrency, singles, raw_single))
        results["app1"].append(singles / await run_workers(concurrency, singles, append_single))
        results["rawB"].append(
            batches * batch_size / await run_workers(concurrency, batches, raw_batch)
        )
        results["appB"].append(
            batches * batch_size / await run_workers(concurrency, batches, append_batch)
        )
        print(
            f"  round {number}: single raw {results['raw1'][-1]:,.0f}/s, store "
            f"{results['app1'][-1]:,.0f}/s ({results['app1'][-1] / results['raw1'][-1]:.2f}); "
            f"batch raw {results['rawB'][-1]:,.0f}/s, store {results['appB'][-1]:,.0f}/s "
            f"({results['appB'][-1] / results['rawB'][-1]:.2f})"
        )
    await store.close()
    await pool.close()

    def median(key: str) -> float:
        return statistics.median(results[key])

    print(f"medians of {rounds} rounds")
    print(f"  1 event per transaction ({singles} per round)")
    print(f"    raw INSERT      {median('raw1'):10,.0f} events/s")
    ratio = median("app1") / median("raw1")
    print(
        f"    store.append    {median('app1'):10,.0f} events/s   ratio {ratio:.2f}"
        "  (target >= 0.80)"
    )
    print(f"  {batch_size} events per transaction ({batches} batches per round)")
    print(f"    raw INSERT      {median('rawB'):10,.0f} events/s")
    ratio = median("appB") / median("rawB")
    print(
        f"    store.append    {median('appB'):10,.0f} events/s   ratio {ratio:.2f}"
        "  (target >= 0.70)"
    )


async def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--smoke", action="store_true", help="a few seconds, for CI")
    parser.add_argument("--singles", type=int, default=20_000)
    parser.add_argument("--batches", type=int, default=400)
    parser.add_argument("--batch-size", type=int, default=100)
    parser.add_argument("--concurrency", type=int, default=16)
    args = parser.parse_args()
    if args.smoke:
        args.singles, args.batches = 800, 32
    async with scratch_database(migrate) as (dsn, _):
        await bench(dsn, args.singles, args.batches, args.batch_size, args.concurrency)


if __name__ == "__main__":
    os.environ.setdefault("LOG_FORMAT", "console")
    asyncio.run(main())
