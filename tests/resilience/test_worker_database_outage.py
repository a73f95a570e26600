"""`campaign worker` rides out a PostgreSQL outage (issue 18): its database stopped for ~10 s
while deadline steps fall due. The process keeps running, waits, and records every step once
when the database returns."""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

import events.domain  # noqa: F401 - registers every domain event
from events.store import EventStore, create_pool
from services.ops.demo import load_demo
from tests.processes import start_campaign, stop
from tests.resilience.private_servers import PrivatePostgres, PrivateRedis, migrated
from tests.resilience.test_worker_redis_outage import TASKS, issue, misses
from workers import queue

pytestmark = pytest.mark.slow

OUTAGE = 10.0


@pytest.fixture
def servers() -> Iterator[tuple[PrivatePostgres, PrivateRedis]]:
    database, redis = PrivatePostgres(), PrivateRedis()
    try:
        migrated(database)
        redis.start()
        yield database, redis
    finally:
        redis.close()
        database.close()


async def test_a_worker_rides_out_a_database_outage(
    servers: tuple[PrivatePostgres, PrivateRedis], tmp_path: Path
) -> None:
    database, redis = servers
    pool = await create_pool(database.url, min_size=1, max_size=4)
    store = EventStore(pool)
    await load_demo(store)
    log = tmp_path / "worker.log"
    worker = start_campaign(
        log, "worker", "--name", "patient", "--tick", "2",
        DATABASE_URL=database.url, REDIS_URL=redis.url,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 60
        while not await queue.healthy(redis.url, "patient"):
            assert time.monotonic() < deadline, "the worker did not start"
            await asyncio.sleep(0.2)
        due = datetime.now(UTC) + timedelta(seconds=4)
        tasks = await issue(store, due)
        await store.close()
        await pool.close()
        await asyncio.to_thread(database.stop, "fast")
        stopped = time.monotonic()
        await asyncio.sleep(OUTAGE)
        assert worker.poll() is None, "the worker exited on the database outage"
        await asyncio.to_thread(database.start)
        restarted = time.monotonic()
        pool = await create_pool(database.url, min_size=1, max_size=2)
        deadline = time.monotonic() + 90
        while len(rows := await misses(pool, tasks)) < TASKS:
            assert time.monotonic() < deadline, "the steps due during the outage were not recorded"
            await asyncio.sleep(0.5)
        resumed = time.monotonic() - restarted
        await asyncio.sleep(3)  # a step recorded twice would show now
        rows = await misses(pool, tasks)
        await pool.close()
        assert worker.poll() is None, "the worker exited on the database outage"
    finally:
        code = stop(worker)
    assert code == 0
    lateness = sorted(round((row["recorded_at"] - due).total_seconds(), 1) for row in rows)
    print(
        f"\ndatabase away {restarted - stopped:.1f} s; the steps recorded {resumed:.1f} s after "
        f"it returned; lateness (s): {lateness}"
    )
    assert sorted(Counter(row["stream_id"] for row in rows).values()) == [1] * TASKS
