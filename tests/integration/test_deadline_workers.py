"""`campaign worker` processes on real Redis and PostgreSQL: one event for five jobs of one
step across two workers, arq's deferral to a step's instant, and a worker killed mid-job."""

from __future__ import annotations

import signal
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import pytest

from events.store import EventStore
from services.domain.assignment import IssueAssignment
from services.handlers import assignments
from services.handlers.auth import OPERATOR
from services.handlers.command_path import CommandContext, execute
from services.ops.demo import demo_id, load_demo
from tests.processes import start_campaign, stop
from tests.waiting import until
from workers import queue

pytestmark = pytest.mark.slow


def start_worker(dsn: str, redis_url: str, name: str, log: Path, tick: int = 2) -> Any:
    return start_campaign(
        log, "worker", "--name", name, "--tick", str(tick), DATABASE_URL=dsn, REDIS_URL=redis_url
    )


async def issue(store: EventStore, count: int, due: datetime) -> list[uuid.UUID]:
    now = datetime.now(UTC)
    ids = [uuid.uuid4() for _ in range(count)]
    commands = [
        IssueAssignment(
            task, demo_id("plan:334"), f"9.{n}", "Báo cáo", demo_id("unit:sl-t1"), due, now, now
        )
        for n, task in enumerate(ids)
    ]
    await execute(
        store, CommandContext(OPERATOR, now), assignments.issue_handler(commands, OPERATOR)
    )
    return ids


async def no_steps_left(redis_url: str) -> bool:
    """Whether no deadline step is queued or running in arq."""
    redis = await queue.connect(redis_url)
    try:
        running = await redis.keys("arq:in-progress:deadline-step:*")
        queued = [j for j in await redis.zrange("arq:queue", 0, -1) if b"deadline-step:" in j]
    finally:
        await redis.aclose()
    return not running and not queued


async def misses(pool: asyncpg.Pool[Any], ids: list[uuid.UUID]) -> list[asyncpg.Record]:
    return await pool.fetch(
        "SELECT stream_id, recorded_at FROM events WHERE type = 'DeadlineMissed' "
        "AND stream_id = ANY($1::text[])",
        [f"assignment-{i}" for i in ids],
    )


async def test_five_jobs_of_one_step_on_two_workers_record_one_event(
    domain_store: EventStore, pool: asyncpg.Pool[Any], dsn: str, redis_url: str, tmp_path: Path
) -> None:
    await load_demo(domain_store)
    due = datetime.now(UTC) + timedelta(seconds=1)
    (task,) = await issue(domain_store, 1, due)
    await until(lambda: datetime.now(UTC) > due, 10, "the due")  # its miss may be recorded now
    redis = await queue.connect(redis_url)
    for n in range(5):  # distinct job ids: arq's de-duplication does not help
        await redis.enqueue_job("deadline_step", str(task), 1, "0", _job_id=f"dup-{n}")
    workers = [
        start_worker(dsn, redis_url, f"w{n}", tmp_path / f"w{n}.log", tick=60) for n in range(2)
    ]
    try:

        async def all_ran() -> bool:
            return all([await queue.finished(redis, f"dup-{n}") for n in range(5)])

        await until(all_ran, 20)
        assert len(await misses(pool, [task])) == 1
    finally:
        await redis.aclose()
        assert [stop(w) for w in workers] == [0, 0]


async def test_a_step_waits_in_redis_for_its_instant(
    domain_store: EventStore, pool: asyncpg.Pool[Any], dsn: str, redis_url: str, tmp_path: Path
) -> None:
    await load_demo(domain_store)
    worker = start_worker(dsn, redis_url, "deferring", tmp_path / "w.log")
    try:
        due = datetime.now(UTC) + timedelta(seconds=5)
        (task,) = await issue(domain_store, 1, due)

        async def missed() -> bool:
            return bool(await misses(pool, [task]))

        await until(missed, 15)
        (row,) = await misses(pool, [task])
        # Recorded by its deferred job, not before the due, well within the reconciler's grace.
        assert due <= row["recorded_at"] < due + timedelta(seconds=4)
    finally:
        assert stop(worker) == 0


async def test_a_worker_killed_mid_job_records_every_step_once(
    domain_store: EventStore, pool: asyncpg.Pool[Any], dsn: str, redis_url: str, tmp_path: Path
) -> None:
    await load_demo(domain_store)
    ids = await issue(domain_store, 300, datetime.now(UTC) + timedelta(seconds=3))
    first = start_worker(dsn, redis_url, "first", tmp_path / "first.log")

    async def some() -> bool:
        return len(await misses(pool, ids)) > 0

    await until(some, 20)
    first.send_signal(signal.SIGKILL)  # jobs in flight die with it
    first.wait(timeout=10)
    at_kill = len(await misses(pool, ids))
    second = start_worker(dsn, redis_url, "second", tmp_path / "second.log")
    try:

        async def every() -> bool:
            return len(await misses(pool, ids)) >= len(ids)

        await until(every, 60)
        # Every job has run, the killed worker's too (retried once their lease ran out): a
        # step recorded twice would show now.
        await until(lambda: no_steps_left(redis_url), 120, "the queued and running steps")
        found = await misses(pool, ids)
        assert len(found) == len({r["stream_id"] for r in found}) == 300  # each exactly once
        assert at_kill < 300
    finally:
        assert stop(second) == 0


async def test_campaign_worker_check_reports_a_live_worker(
    domain_store: EventStore, dsn: str, redis_url: str, tmp_path: Path
) -> None:
    from tests.cli import campaign

    worker = start_worker(dsn, redis_url, "checked", tmp_path / "w.log")
    try:

        async def healthy() -> bool:
            return await queue.healthy(redis_url, "checked")

        await until(healthy, 20)
        env = {"REDIS_URL": redis_url}
        ok = campaign(dsn, "worker", "--name", "checked", "--check", env=env)
        assert ok.returncode == 0, ok.stdout + ok.stderr
        unknown = campaign(dsn, "worker", "--name", "nobody", "--check", env=env)
        assert unknown.returncode == 1 and "no recent health report" in unknown.stdout
    finally:
        assert stop(worker) == 0
