"""`campaign worker` rides out a Redis outage (issue 18): Redis killed for ~15 s while
deadline steps fall due and a webhook subscription has events waiting. The worker process
keeps running, records the steps and delivers the events from PostgreSQL alone while Redis is
away (each step once, no event twice), and hands back to arq when Redis returns."""

from __future__ import annotations

import asyncio
import os
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import pytest

from events import sealing
from events.store import EventStore
from services.api.app import create_app
from services.domain.assignment import IssueAssignment
from services.handlers import assignments
from services.handlers.auth import OPERATOR
from services.handlers.command_path import CommandContext, execute
from services.ops.demo import demo_id, load_demo
from services.runtime.config import load_settings
from tests.http import api_client
from tests.org import bearer, make_user
from tests.processes import start_campaign, stop
from tests.receiver import RECEIVERS, Receiver
from tests.resilience.private_servers import PrivateRedis
from workers import queue

pytestmark = pytest.mark.slow

OUTAGE = 30.0 if os.environ.get("RESILIENCE_BIG") == "1" else 15.0
TASKS = 5


@pytest.fixture
def redis() -> Iterator[PrivateRedis]:
    server = PrivateRedis()
    server.start()
    try:
        yield server
    finally:
        server.close()


async def until(check: Any, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not await check():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        await asyncio.sleep(0.2)


async def issue(store: EventStore, due: datetime) -> list[uuid.UUID]:
    """TASKS tasks (one lead unit per task and command), each with its miss at `due`."""
    ids = []
    for n in range(TASKS):
        now = datetime.now(UTC)
        task = uuid.uuid4()
        command = IssueAssignment(
            task, demo_id("plan:334"), f"8.{n}", "Báo cáo", demo_id("unit:sl-t1"), due, now, now
        )
        await execute(
            store, CommandContext(OPERATOR, now), assignments.issue_handler([command], OPERATOR)
        )
        ids.append(task)
    return ids


async def misses(pool: asyncpg.Pool[Any], ids: list[uuid.UUID]) -> list[asyncpg.Record]:
    return await pool.fetch(
        "SELECT stream_id, recorded_at FROM events WHERE type = 'DeadlineMissed' "
        "AND stream_id = ANY($1::text[])",
        [f"assignment-{i}" for i in ids],
    )


async def test_a_worker_rides_out_a_redis_outage_from_postgresql_alone(
    domain_store: EventStore,
    pool: asyncpg.Pool[Any],
    dsn: str,
    redis: PrivateRedis,
    tmp_path: Path,
) -> None:
    await load_demo(domain_store)
    _, admin = await make_user(domain_store, "admin")
    app = create_app(load_settings({"WEBHOOK_ALLOWED_TARGETS": RECEIVERS}), pool=pool)
    log = tmp_path / "worker.log"
    with Receiver() as receiver:
        async with api_client(app) as client:
            created = await client.post(
                "/subscriptions",
                headers=bearer(admin),
                json={
                    "url": receiver.url,
                    "secret": "s3cret-of-the-department-0123456789",
                    "start": "now",
                    "filter": {"categories": ["user", "assignment"]},
                },
            )
            assert created.status_code == 201, created.text
            worker = start_campaign(
                log, "worker", "--name", "survivor", "--tick", "2",
                DATABASE_URL=dsn, REDIS_URL=redis.url, WEBHOOK_ALLOWED_TARGETS=RECEIVERS,
                WEBHOOK_TIMEOUT_SECONDS="2", WEBHOOK_BACKOFF_SECONDS="0.2",
                SEAL_EVERY_EVENTS="1",
            )  # fmt: skip
            try:

                async def delivered(user: uuid.UUID) -> bool:
                    return any(e["stream_id"] == f"user-{user}" for e in receiver.accepted_events())

                before, _ = await make_user(domain_store, None)
                await until(lambda: delivered(before), 60, "a delivery through arq")
                await until(lambda: queue.healthy(redis.url, "survivor"), 60, "the worker's health")

                due = datetime.now(UTC) + timedelta(seconds=6)
                tasks = await issue(domain_store, due)
                redis.kill()
                killed = time.monotonic()
                during = []
                for _ in range(3):
                    user, _ = await make_user(domain_store, None)
                    during.append(user)
                    await asyncio.sleep(1)

                async def all_missed() -> bool:
                    return len(await misses(pool, tasks)) >= TASKS

                async def all_delivered() -> bool:
                    return all([await delivered(u) for u in during])

                await until(all_missed, 45, "the steps due during the outage")
                await until(all_delivered, 45, "the events appended during the outage")
                appended = await domain_store.count_events()

                async def sealed() -> bool:
                    seal = await sealing.latest(pool)
                    return seal is not None and seal.total >= appended

                await until(sealed, 45, "the log sealed during the outage")
                recorded_within = time.monotonic() - killed
                assert worker.poll() is None, "the worker exited on the Redis outage"
                await asyncio.sleep(max(0.0, OUTAGE - (time.monotonic() - killed)))
                assert worker.poll() is None, "the worker exited on the Redis outage"
                redis.start()
                restarted = time.monotonic()
                print(
                    f"\nRedis away {restarted - killed:.1f} s; steps and deliveries of the "
                    f"outage done {recorded_within:.1f} s after the kill"
                )
                await until(
                    lambda: queue.healthy(redis.url, "survivor"), 60, "arq to take over again"
                )
                after, _ = await make_user(domain_store, None)
                await until(lambda: delivered(after), 60, "a delivery after Redis returned")
                rows = await misses(pool, tasks)
                assert worker.poll() is None
            finally:
                code = stop(worker)
    assert code == 0
    lateness = sorted((row["recorded_at"] - due).total_seconds() for row in rows)
    print(f"lateness of the {len(rows)} steps due during the outage (s): {lateness}")
    # Each step recorded once, while Redis was away (the restart came after all of them).
    assert sorted(Counter(row["stream_id"] for row in rows).values()) == [1] * TASKS
    # No event delivered twice, and every event of the outage delivered.
    ids = [e["event_id"] for d in receiver.accepted() for e in d.events]
    assert len(ids) == len(set(ids)), "an event was delivered twice"
    streams = {e["stream_id"] for e in receiver.accepted_events()}
    assert {f"user-{u}" for u in [before, *during, after]} <= streams
    assert {f"assignment-{t}" for t in tasks} <= streams
    text = log.read_text()
    assert "PostgreSQL alone" in text and "handing back to arq" in text
