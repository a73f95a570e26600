"""A delivery whose database connection dies after the receiver accepted the batch, before the
cursor moved: nothing is lost, and only that batch goes twice (at least once; receivers
de-duplicate by `event_id`)."""

from __future__ import annotations

import asyncio
from typing import Any

import asyncpg

from events.cursor import Cursor
from events.store import EventStore
from services.api.app import create_app
from services.ops.demo import load_demo
from services.runtime.config import load_settings
from tests.http import api_client
from tests.integration.test_webhooks import (
    LOOPBACK,
    SECRET,
    config,
    feed,
    keep_delivering,
    state_of,
    subscribe,
)
from tests.org import make_user
from tests.receiver import Receiver
from tests.waiting import until
from workers.webhooks import Clients, deliver

WORKER = "webhook-worker-under-test"

BLOCKED = (
    "SELECT pid FROM pg_stat_activity WHERE application_name = $1 "
    "AND datname = current_database() AND wait_event_type = 'Lock'"
)


async def test_a_connection_lost_before_the_cursor_moved_sends_that_batch_again_and_no_other(
    domain_store: EventStore, pool: asyncpg.Pool[Any], dsn: str
) -> None:
    await load_demo(domain_store)
    _, admin = await make_user(domain_store, "admin")
    worker_pool = await asyncpg.create_pool(
        dsn, min_size=1, max_size=4, server_settings={"application_name": WORKER}
    )
    worker_store = EventStore(worker_pool)
    try:
        with Receiver() as receiver:
            async with api_client(create_app(load_settings(LOOPBACK), pool=pool)) as client:
                subscription, _ = await subscribe(
                    client, admin, receiver.url, secret=SECRET, filter={"categories": ["plan"]}
                )
                expected = await feed(client, admin, category="plan")
                receiver.held.clear()
                async with Clients(2.0) as http:
                    delivering = asyncio.create_task(
                        deliver(worker_store, http, config(batch=4), subscription)
                    )
                    assert await asyncio.to_thread(receiver.arrived.wait, 30)
                    # The row held, so the cursor's move waits; then its connection dies.
                    async with pool.acquire() as holder, holder.transaction():
                        await holder.execute(
                            "SELECT 1 FROM subscriptions WHERE subscription_id = $1 FOR UPDATE",
                            subscription,
                        )
                        receiver.held.set()  # the receiver accepts the first batch

                        async def moving() -> bool:
                            return bool(await pool.fetch(BLOCKED, WORKER))

                        await until(moving, 30, "the cursor's move to wait on the row")
                        await pool.execute(
                            f"SELECT pg_terminate_backend(pid) FROM ({BLOCKED}) AS blocked",
                            WORKER,
                        )
                    (failed,) = await asyncio.gather(delivering, return_exceptions=True)
                after_error = await state_of(client, admin, subscription)
                await keep_delivering(
                    worker_store,
                    config(batch=4),
                    subscription,
                    lambda: len(receiver.accepted_events()) >= len(expected),
                )
                caught_up = await state_of(client, admin, subscription)
    finally:
        await worker_store.close()
        await worker_pool.close()
    assert isinstance(failed, asyncpg.PostgresError | asyncpg.InterfaceError), failed
    # Nothing was recorded of the accepted batch, and no one holds the subscription.
    assert (after_error["cursor"], after_error["delivered"]) == (None, 0)
    assert after_error["in_flight"] is False
    batches = [[e["event_id"] for e in d.events] for d in receiver.deliveries]
    first = [e["event_id"] for e in expected[:4]]
    assert batches[:2] == [first, first]  # the batch whose answer was not recorded went again
    rest = [event for batch in batches[2:] for event in batch]
    assert rest == [e["event_id"] for e in expected[4:]]  # the rest once each
    assert {d.status for d in receiver.deliveries} == {204}
    # Delivered through the last event (or, having found nothing more, looked past it).
    assert Cursor.decode(caught_up["cursor"]) >= Cursor.decode(expected[-1]["cursor"])
    assert caught_up["delivered"] == len(expected) and caught_up["lag"]["events"] == 0
