"""A subscription that is behind has its next page read while the receiver answers the one in
flight (issue 20), and every page is still read once and delivered once, in order."""

from __future__ import annotations

import asyncio
from typing import Any

import asyncpg

from events.store import EventStore, create_pool
from services.api.app import create_app
from services.ops.demo import load_demo
from services.runtime.config import load_settings
from tests.http import api_client
from tests.integration.test_webhooks import LOOPBACK, SECRET, config, feed, subscribe
from tests.org import make_user
from tests.receiver import Receiver
from tests.waiting import until
from workers.webhooks import Clients, deliver


async def test_the_next_page_is_read_while_the_receiver_answers(
    domain_store: EventStore, pool: asyncpg.Pool[Any], dsn: str
) -> None:
    await load_demo(domain_store)
    _, admin = await make_user(domain_store, "admin")
    # The worker's store on a connection whose every statement is seen.
    logged = await create_pool(dsn, min_size=1, max_size=1)
    statements: list[str] = []
    async with logged.acquire() as connection:
        connection.add_query_logger(lambda record: statements.append(record.query))
    worker_store = EventStore(logged)

    def page_reads() -> int:
        return sum("row_to_json(w)" in s for s in statements)

    try:
        with Receiver() as receiver:
            receiver.held.clear()  # the first batch waits for its answer
            async with api_client(create_app(load_settings(LOOPBACK), pool=pool)) as client:
                subscription, _ = await subscribe(client, admin, receiver.url, secret=SECRET)
                expected = await feed(client, admin)
                async with Clients(30.0) as http:
                    running = asyncio.create_task(
                        deliver(worker_store, http, config(batch=5, timeout=30.0), subscription)
                    )
                    assert await asyncio.to_thread(receiver.arrived.wait, 30)
                    await until(lambda: page_reads() >= 2, 30, "the second page to be read")
                    assert len(receiver.deliveries) == 0  # while the first was unanswered
                    receiver.held.set()
                    delivered, more = await asyncio.wait_for(running, 60)
    finally:
        await worker_store.close()
        await logged.close()
    assert more is None and delivered == len(expected)
    assert receiver.accepted_events() == expected  # in order, nothing twice, nothing missed
    batches = len(receiver.accepted())
    # Each page read once: one a batch, and one more only if the last batch was full.
    assert page_reads() == batches + (1 if len(expected) % 5 == 0 else 0)
