"""Projection speed: a rebuild of the task facts beside a raw sequential read of the same rows,
and the live projector's lag while tasks are recorded at a steady 1,000 events/s.

    python tests/benchmarks/bench_projections.py            # full size: 1,000,000 events
    python tests/benchmarks/bench_projections.py --smoke    # seconds, for CI

Events: random valid task histories (issue, acknowledge, progress, submissions, reviews,
extensions, obstacles, reassignments, withdrawals, through the task decider), appended
interleaved across plans in batches. Raw: the same rows read in feed order with asyncpg, page
by page, not decoded. Rebuild: `rebuild_beside` (decode, fold, COPY, index, swap).
Lag: a `campaign project` process follows while writers append 1-3 event commands at the
target rate; lag is from an append's commit to the checkpoint passing it (polled every 2 ms).
Prints figures and ratios; asserts nothing about speed.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import signal
import statistics
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import asyncpg

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

import events.domain  # noqa: F401 - registers every domain event
from events.envelope import Metadata, NewEvent, StreamWrite
from events.migrate import migrate
from events.store import EventStore, create_pool
from projections import task_facts
from projections.rebuild import rebuild_beside
from tests.benchmarks.scratch import scratch_database
from tests.task_histories import History, random_history

METADATA = Metadata()


def generate(events: int, seed: int) -> list[History]:
    rng = random.Random(seed)
    histories: list[History] = []
    count = 0
    while count < events:
        history = random_history(rng, 10, 150)
        histories.append(history)
        count += sum(len(e) for writes in history.appends for _, _, e in writes)
    return histories


def interleaved(histories: list[History]) -> list[tuple[uuid.UUID, Any]]:
    """Every append of the histories, one plan after another in turn, each plan's in order."""
    queues = [(h.plan_id, list(h.appends)) for h in histories]
    order = []
    depth = max((len(a) for _, a in queues), default=0)
    for step in range(depth):
        order += [(plan_id, appends[step]) for plan_id, appends in queues if step < len(appends)]
    return order


async def load(store: EventStore, histories: list[History], batch: int) -> int:
    """Append the histories interleaved: each batch takes the next append of many plans."""
    queues = [(h.plan_id, list(h.appends)) for h in histories]
    appended = 0
    while queues:
        writes: list[StreamWrite] = []
        size = 0
        next_round = []
        for plan_id, appends in queues:
            if size < batch:
                for stream, version, decided in appends.pop(0):
                    writes.append(
                        StreamWrite(
                            stream, version, [NewEvent(e, plan_id=plan_id) for e in decided]
                        )
                    )
                    size += len(decided)
            if appends:
                next_round.append((plan_id, appends))
        queues = next_round
        await store.append(writes, METADATA)
        appended += size
    return appended


async def raw_read(pool: asyncpg.Pool[Any], page: int) -> tuple[int, float]:
    started = time.perf_counter()
    rows, after = 0, (0, 0)
    while True:
        found = await pool.fetch(
            "SELECT tx_id, position, stream_id, type, schema_version, data FROM events "
            "WHERE category = 'assignment' AND (tx_id, position) > ($1::bigint, $2::bigint) "
            "ORDER BY tx_id, position LIMIT $3",
            after[0],
            after[1],
            page,
        )
        rows += len(found)
        if len(found) < page:
            return rows, time.perf_counter() - started
        after = (found[-1]["tx_id"], found[-1]["position"])


async def bench_rebuild(dsn: str, events: int, seed: int) -> None:
    print(f"generating about {events:,} task events ...", flush=True)
    histories = generate(events, seed)
    pool = await create_pool(dsn, min_size=2, max_size=4)
    store = EventStore(pool)
    try:
        started = time.perf_counter()
        appended = await load(store, histories, 2000)
        took = time.perf_counter() - started
        print(f"appended {appended:,} events in {took:.1f} s ({appended / took:,.0f} events/s)")
        await pool.execute("VACUUM ANALYZE events")
        raw_rows, raw_seconds = await raw_read(pool, 10_000)  # warm the cache for both
        raw_rows, raw_seconds = await raw_read(pool, 10_000)
        done = await rebuild_beside(task_facts.MODEL, store)
        raw_rate = raw_rows / raw_seconds
        print("rebuild of the task facts")
        print(f"  raw sequential read  {raw_rows:10,} rows    {raw_rate:12,.0f} rows/s")
        print(
            f"  rebuild              {done.events:10,} events  {done.rate:12,.0f} events/s"
            f"   ({done.rows:,} tasks, {done.seconds:.1f} s)   ratio {done.rate / raw_rate:.2f}"
            "   (target >= 50,000 events/s)"
        )
    finally:
        await store.close()
        await pool.close()


async def until(pool: asyncpg.Pool[Any], query: str, timeout: float = 120) -> None:
    deadline = time.perf_counter() + timeout
    while not await pool.fetchval(query):
        assert time.perf_counter() < deadline, f"timed out waiting for: {query}"
        await asyncio.sleep(0.05)


async def bench_lag(dsn: str, seconds: float, rate: int, seed: int, workers: int = 4) -> None:
    histories = generate(int(seconds * rate * 1.2) + 500, seed + 1)
    pool = await create_pool(dsn, min_size=2, max_size=workers + 4)
    store = EventStore(pool)
    env = {**os.environ, "DATABASE_URL": dsn, "LOG_FORMAT": "json", "LOG_LEVEL": "warning"}
    projector = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "services.ops.cli",
        "project",
        "--owner",
        "bench",
        env=env,
        stdout=asyncio.subprocess.DEVNULL,
    )
    lags: list[float] = []
    pending: list[tuple[float, tuple[int, int]]] = []
    try:
        await until(
            pool,
            "SELECT owner = 'bench' FROM projector_checkpoints WHERE name = 'task_facts'",
        )
        await until(  # caught up with what the rebuild left
            pool,
            "SELECT count(*) = 0 FROM events e, projector_checkpoints c "
            "WHERE c.name = 'task_facts' AND e.category = 'assignment' "
            "AND (e.tx_id, e.position) > (c.tx_id, c.position)",
        )
        stop = asyncio.Event()

        async def observe() -> None:
            while not stop.is_set() or pending:
                row = await pool.fetchrow(
                    "SELECT tx_id, position FROM projector_checkpoints WHERE name = 'task_facts'"
                )
                now = time.perf_counter()
                at = (row["tx_id"], row["position"])
                still = [p for p in pending if p[1] > at]
                lags.extend((now - t) * 1000 for t, position in pending if position <= at)
                pending[:] = still
                await asyncio.sleep(0.002)

        sent = 0

        async def write(mine: list[History]) -> None:
            # A writer owns its plans, so each plan's appends stay in order.
            nonlocal sent
            queue = interleaved(mine)
            start = time.perf_counter()
            mine_sent = 0
            for plan_id, writes in queue:
                due = start + mine_sent / (rate / workers)
                if due > time.perf_counter():
                    await asyncio.sleep(due - time.perf_counter())
                if time.perf_counter() - start > seconds:
                    return
                result = await store.append(
                    [
                        StreamWrite(s, v, [NewEvent(e, plan_id=plan_id) for e in decided])
                        for s, v, decided in writes
                    ],
                    METADATA,
                )
                last = result.events[-1]
                pending.append((time.perf_counter(), (last.tx_id, last.position)))
                size = sum(len(e) for _, _, e in writes)
                mine_sent += size
                sent += size

        observer = asyncio.create_task(observe())
        started = time.perf_counter()
        await asyncio.gather(*(write(histories[w::workers]) for w in range(workers)))
        elapsed = time.perf_counter() - started
        stop.set()
        await asyncio.wait_for(observer, 30)
        lags.sort()
        print(f"projection lag while appending ({len(lags):,} appends, {sent:,} events)")
        print(
            f"  rate {sent / elapsed:,.0f} events/s   p50 {statistics.median(lags):.1f} ms"
            f"   p99 {lags[max(0, int(len(lags) * 0.99) - 1)]:.1f} ms   max {lags[-1]:.1f} ms"
            "   (target p99 < 100 ms)"
        )
    finally:
        projector.send_signal(signal.SIGTERM)
        await asyncio.wait_for(projector.wait(), 20)
        await store.close()
        await pool.close()


async def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--smoke", action="store_true", help="seconds, for CI")
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--lag-seconds", type=float, default=30.0)
    parser.add_argument("--rate", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=2022)
    args = parser.parse_args()
    if args.smoke:
        args.events, args.lag_seconds = 20_000, 3.0
    async with scratch_database(migrate) as (dsn, _):
        await bench_rebuild(dsn, args.events, args.seed)
        await bench_lag(dsn, args.lag_seconds, args.rate, args.seed)


if __name__ == "__main__":
    os.environ.setdefault("LOG_FORMAT", "console")
    asyncio.run(main())
