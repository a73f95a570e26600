"""The deadline engine under a wave: 100,000 open tasks, 10,000 of them due in the same minute.

    python tests/benchmarks/bench_deadlines.py            # full size
    python tests/benchmarks/bench_deadlines.py --smoke    # seconds, for CI

The tasks are issued through the command path (each with its schedule); two `campaign worker`
processes (scheduler and reconciler every 5 s) run against real PostgreSQL and Redis. Prints
the time from the due until every miss is recorded, steps/s, duplicates (must be 0) and the
peak Redis memory seen; a raw PostgreSQL baseline of the same number of single-row INSERT
transactions in the same run. Asserts nothing about speed.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import sys
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
from redis.asyncio import Redis

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

import events.domain  # noqa: F401 - registers every domain event
from events.store import EventStore, create_pool
from services.domain.assignment import IssueAssignment
from services.handlers import assignments
from services.handlers.auth import OPERATOR
from services.handlers.command_path import CommandContext, execute
from services.ops.demo import demo_id, load_demo
from services.ops.migrate import migrate_and_rebuild
from tests.benchmarks.scratch import scratch_database


async def issue(store: EventStore, count: int, due: datetime, batch: int = 500) -> None:
    plan, lead = demo_id("plan:334"), demo_id("unit:sl-t1")
    now = datetime.now(UTC)
    limit = asyncio.Semaphore(4)

    async def one(start: int, size: int) -> None:
        # One item names each lead once: an item per task.
        commands = [
            IssueAssignment(uuid.uuid4(), plan, f"9.{n}", "Báo cáo định kỳ", lead, due, now, now)
            for n in range(start, start + size)
        ]
        async with limit:
            await execute(
                store, CommandContext(OPERATOR, now), assignments.issue_handler(commands, OPERATOR)
            )

    await asyncio.gather(*(one(i, min(batch, count - i)) for i in range(0, count, batch)))


async def raw_baseline(pool: asyncpg.Pool[Any], count: int) -> float:
    await pool.execute("CREATE TABLE raw_steps (id bigserial PRIMARY KEY, at timestamptz)")
    limit = asyncio.Semaphore(16)

    async def one() -> None:
        async with limit, pool.acquire() as connection, connection.transaction():
            await connection.execute("INSERT INTO raw_steps (at) VALUES (now())")

    started = time.perf_counter()
    await asyncio.gather(*(one() for _ in range(count)))
    return count / (time.perf_counter() - started)


async def bench(
    dsn: str, redis_url: str, total: int, wave: int, lead_seconds: int, owns_redis: bool
) -> None:
    pool = await create_pool(dsn, min_size=2, max_size=20)
    store = EventStore(pool)
    redis = Redis.from_url(redis_url)
    workers: list[Any] = []
    try:
        await load_demo(store)
        started = time.perf_counter()
        await issue(store, total - wave, datetime.now(UTC) + timedelta(days=30))
        due = datetime.now(UTC) + timedelta(seconds=lead_seconds)
        await issue(store, wave, due)
        took = time.perf_counter() - started
        print(f"issued {total:,} open tasks ({wave:,} due at once) in {took:.1f} s")
        if datetime.now(UTC) >= due:
            print("  (issuing took longer than the lead time: raise --lead-seconds)")
        env = {
            **os.environ,
            "DATABASE_URL": dsn,
            "REDIS_URL": redis_url,
            "LOG_FORMAT": "json",
            "LOG_LEVEL": "warning",
        }
        for n in range(2):
            workers.append(
                await asyncio.create_subprocess_exec(
                    sys.executable,
                    "-m",
                    "services.ops.cli",
                    "worker",
                    "--name",
                    f"bench-{n}",
                    "--tick",
                    "5",
                    env=env,
                    stdout=asyncio.subprocess.DEVNULL,
                )
            )
        peak = 0
        counted = 0
        while True:
            info = await redis.info("memory")
            peak = max(peak, int(info["used_memory"]))
            counted = await pool.fetchval(
                "SELECT count(*) FROM events WHERE type = 'DeadlineMissed' "
                "AND (data->>'effective_at')::timestamptz = $1",
                due,
            )
            if counted >= wave or datetime.now(UTC) > due + timedelta(minutes=5):
                break
            await asyncio.sleep(0.05)
        done_at = datetime.now(UTC)
        distinct = await pool.fetchval(
            "SELECT count(DISTINCT stream_id) FROM events WHERE type = 'DeadlineMissed'"
        )
        all_misses = await pool.fetchval(
            "SELECT count(*) FROM events WHERE type = 'DeadlineMissed'"
        )
        seconds = (done_at - due).total_seconds()
        print("deadline wave")
        print(
            f"  {counted:,}/{wave:,} misses recorded {seconds:.1f} s after the due"
            f"   {counted / max(seconds, 0.001):,.0f} steps/s   duplicates {all_misses - distinct}"
            f"   peak Redis memory {peak / 2**20:.1f} MiB   (target: all within 60 s)"
        )
        rate = await raw_baseline(pool, wave)
        print(f"  raw PostgreSQL: {rate:,.0f} single-row INSERT transactions/s (16 connections)")
    finally:
        for worker in workers:
            worker.send_signal(signal.SIGTERM)
        for worker in workers:
            await asyncio.wait_for(worker.wait(), 40)
        if owns_redis:  # a Redis the benchmark started; one it was given is left as it is
            await redis.flushdb()
        await redis.aclose()
        await store.close()
        await pool.close()


async def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--smoke", action="store_true", help="seconds, for CI")
    parser.add_argument("--tasks", type=int, default=100_000)
    parser.add_argument("--wave", type=int, default=10_000)
    parser.add_argument(
        "--lead-seconds", type=int, default=90, help="from issuing the wave to its due"
    )
    args = parser.parse_args()
    if args.smoke:
        args.tasks, args.wave, args.lead_seconds = 1_000, 300, 20
    async with scratch_database(migrate_and_rebuild) as (dsn, servers):
        redis_url = servers.redis()  # a server of its own unless TEST_REDIS_URL names one
        await bench(dsn, redis_url, args.tasks, args.wave, args.lead_seconds, servers.owns_redis)


if __name__ == "__main__":
    os.environ.setdefault("LOG_FORMAT", "console")
    asyncio.run(main())
