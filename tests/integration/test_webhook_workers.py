"""Webhook delivery by `campaign worker` processes on real Redis and PostgreSQL: a worker
killed with SIGKILL mid-delivery leaves no gap (the batch goes again), two workers keep one
delivery in flight per subscription, and events appended later are pushed as they come."""

from __future__ import annotations

import signal
import time
from pathlib import Path
from typing import Any

import asyncpg
import pytest

from events.cursor import Cursor
from events.store import EventStore
from services.api.app import create_app
from services.ops.demo import load_demo
from services.runtime.config import load_settings
from tests.http import api_client
from tests.org import bearer, make_user
from tests.processes import start_campaign, stop
from tests.receiver import RECEIVERS, Receiver
from tests.waiting import until

pytestmark = pytest.mark.slow

SECRET = "s3cret-of-the-department-0123456789"


def start_worker(dsn: str, redis_url: str, name: str, log: Path, **env: str) -> Any:
    settings = {
        "DATABASE_URL": dsn,
        "REDIS_URL": redis_url,
        "WEBHOOK_ALLOWED_TARGETS": RECEIVERS,
        "WEBHOOK_TIMEOUT_SECONDS": "2",
        "WEBHOOK_BACKOFF_SECONDS": "0.2",
        **env,
    }
    return start_campaign(log, "worker", "--name", name, "--tick", "60", **settings)


async def test_a_worker_killed_mid_delivery_leaves_no_gap(
    domain_store: EventStore, pool: asyncpg.Pool[Any], dsn: str, redis_url: str, tmp_path: Path
) -> None:
    await load_demo(domain_store)
    _, admin = await make_user(domain_store, "admin")
    app = create_app(load_settings({"WEBHOOK_ALLOWED_TARGETS": RECEIVERS}), pool=pool)
    with Receiver() as receiver:
        async with api_client(app) as client:
            created = await client.post(
                "/subscriptions",
                headers=bearer(admin),
                json={
                    "url": receiver.url,
                    "secret": SECRET,
                    "start": "beginning",
                    # Not the deadline steps the worker records as it starts.
                    "filter": {"categories": ["plan", "unit", "user"]},
                },
            )
            assert created.status_code == 201
            subscription = created.json()["id"]
            receiver.held.clear()  # the first delivery gets no answer
            first = start_worker(dsn, redis_url, "doomed", tmp_path / "w1.log", WEBHOOK_BATCH="10")
            await until(receiver.arrived.is_set, 30)
            first.send_signal(signal.SIGKILL)
            first.wait(10)
            receiver.held.set()  # it is answered, but nobody is there to move the cursor
            killed_at = time.monotonic()
            second = start_worker(dsn, redis_url, "heir", tmp_path / "w2.log", WEBHOOK_BATCH="10")
            try:
                expected = (
                    await client.get(
                        "/events",
                        headers=bearer(admin),
                        params={"limit": 1000, "category": ["plan", "unit", "user"]},
                    )
                ).json()["events"]
                await until(lambda: len(receiver.accepted_events()) >= len(expected), 60)
                redelivered_after = time.monotonic() - killed_at
                # An event appended now is pushed as it comes (the worker follows wake-ups).
                await make_user(domain_store, None)
                later = (
                    await client.get(
                        "/events",
                        headers=bearer(admin),
                        params={
                            "limit": 1000,
                            "after": expected[-1]["cursor"],
                            "category": ["plan", "unit", "user"],
                        },
                    )
                ).json()["events"]
                await until(
                    lambda: len(receiver.accepted_events()) >= len(expected) + len(later), 10
                )
                state = (
                    await client.get(f"/subscriptions/{subscription}", headers=bearer(admin))
                ).json()
            finally:
                assert stop(second) == 0
    got = receiver.accepted_events()
    assert [e["event_id"] for e in got] == [e["event_id"] for e in expected + later]
    first_batch = receiver.deliveries[0].events
    assert len(first_batch) == 10
    # The batch in flight at the kill went again: at least once, no gap.
    assert [d.events[0]["event_id"] for d in receiver.deliveries[:2]] == [
        first_batch[0]["event_id"]
    ] * 2
    # Delivered through the last event (or, having found nothing more, looked past it).
    assert Cursor.decode(state["cursor"]) >= Cursor.decode(got[-1]["cursor"])
    assert state["lag"]["events"] == 0
    assert redelivered_after < 45


async def test_two_workers_keep_one_delivery_in_flight_per_subscription(
    domain_store: EventStore, pool: asyncpg.Pool[Any], dsn: str, redis_url: str, tmp_path: Path
) -> None:
    await load_demo(domain_store)
    _, admin = await make_user(domain_store, "admin")
    app = create_app(load_settings({"WEBHOOK_ALLOWED_TARGETS": RECEIVERS}), pool=pool)
    with Receiver() as receiver:
        receiver.delay = 0.05
        async with api_client(app) as client:
            await client.post(
                "/subscriptions",
                headers=bearer(admin),
                json={
                    "url": receiver.url,
                    "secret": SECRET,
                    "start": "beginning",
                    "filter": {"categories": ["plan", "unit"]},
                },
            )
            expected = (
                await client.get(
                    "/events",
                    headers=bearer(admin),
                    params={"limit": 1000, "category": ["plan", "unit"]},
                )
            ).json()["events"]
        workers = [
            start_worker(dsn, redis_url, f"w{n}", tmp_path / f"w{n}.log", WEBHOOK_BATCH="3")
            for n in range(2)
        ]
        try:
            await until(lambda: len(receiver.accepted_events()) >= len(expected), 60)
        finally:
            assert [stop(w) for w in workers] == [0, 0]
    assert [e["event_id"] for e in receiver.accepted_events()] == [e["event_id"] for e in expected]
    assert receiver.most_in_flight == 1
    assert len(receiver.deliveries) == -(-len(expected) // 3)  # each batch once
