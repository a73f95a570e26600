"""A delivery keeps its connection to the receiver from batch to batch, whatever the receiver
answers, and stops within one batch of a pause (issue 20)."""

from __future__ import annotations

import asyncio
from typing import Any

import asyncpg

from events.store import EventStore
from services.api.app import create_app
from services.ops.demo import load_demo
from services.runtime.config import load_settings
from tests.http import api_client
from tests.integration.test_webhooks import LOOPBACK, SECRET, config, feed, state_of, subscribe
from tests.org import bearer, make_user
from tests.receiver import Receiver
from workers.webhooks import DRAIN_LIMIT, Clients, deliver


async def test_consecutive_batches_go_over_one_connection(
    domain_store: EventStore, pool: asyncpg.Pool[Any]
) -> None:
    await load_demo(domain_store)
    _, admin = await make_user(domain_store, "admin")
    with Receiver(keep_alive=True) as receiver:
        receiver.answer_body = b'{"ok": true}'
        async with api_client(create_app(load_settings(LOOPBACK), pool=pool)) as client:
            subscription, _ = await subscribe(client, admin, receiver.url, secret=SECRET)
            expected = await feed(client, admin)
            async with Clients(10.0) as http:
                delivered, more = await deliver(
                    domain_store, http, config(batch=5, timeout=10.0), subscription
                )
    assert more is None and delivered == len(expected)
    assert receiver.accepted_events() == expected
    assert len(receiver.deliveries) >= 3
    assert receiver.connections == 1  # used to be one connection a batch


async def test_a_long_answer_is_left_unread_and_its_batch_still_counts(
    domain_store: EventStore, pool: asyncpg.Pool[Any]
) -> None:
    await load_demo(domain_store)
    _, admin = await make_user(domain_store, "admin")
    with Receiver(keep_alive=True) as receiver:
        receiver.answer_body = b"x" * (4 * DRAIN_LIMIT)
        async with api_client(create_app(load_settings(LOOPBACK), pool=pool)) as client:
            subscription, _ = await subscribe(client, admin, receiver.url, secret=SECRET)
            expected = await feed(client, admin)
            async with Clients(10.0) as http:
                delivered, _ = await deliver(
                    domain_store, http, config(batch=10, timeout=10.0), subscription
                )
    assert delivered == len(expected)
    assert receiver.accepted_events() == expected
    assert len(receiver.deliveries) == -(-len(expected) // 10)  # each batch once, none again
    assert receiver.connections == len(receiver.deliveries)  # a long answer ends its connection


async def test_an_answer_whose_body_stalls_still_delivers_its_batch(
    domain_store: EventStore, pool: asyncpg.Pool[Any]
) -> None:
    await load_demo(domain_store)
    _, admin = await make_user(domain_store, "admin")
    with Receiver(keep_alive=True) as receiver:
        receiver.answer_stalls = True  # 200 and its headers, then a body that never ends
        async with api_client(create_app(load_settings(LOOPBACK), pool=pool)) as client:
            subscription, _ = await subscribe(
                client, admin, receiver.url, secret=SECRET, filter={"types": ["PlanIssued"]}
            )
            expected = await feed(client, admin, type="PlanIssued")
            async with Clients(3.0) as http:
                delivered, _ = await deliver(
                    domain_store, http, config(batch=100, timeout=3.0), subscription
                )
            state = await state_of(client, admin, subscription)
    assert delivered == len(expected)
    assert len(receiver.deliveries) == 1  # answered 2xx in time: not sent again
    assert state["delivered"] == len(expected) and state["failures"] == 0


async def test_a_pause_during_a_post_stops_the_delivery_after_that_batch(
    domain_store: EventStore, pool: asyncpg.Pool[Any]
) -> None:
    await load_demo(domain_store)
    _, admin = await make_user(domain_store, "admin")
    with Receiver(keep_alive=True) as receiver:
        receiver.held.clear()  # the first batch waits for its answer
        async with api_client(create_app(load_settings(LOOPBACK), pool=pool)) as client:
            subscription, _ = await subscribe(client, admin, receiver.url, secret=SECRET)
            expected = await feed(client, admin)
            assert len(expected) > 10
            async with Clients(30.0) as http:
                running = asyncio.create_task(
                    deliver(domain_store, http, config(batch=5, timeout=30.0), subscription)
                )
                assert await asyncio.to_thread(receiver.arrived.wait, 30)
                paused = await client.post(
                    f"/subscriptions/{subscription}/pause", headers=bearer(admin), json={}
                )
                receiver.held.set()
                delivered, more = await asyncio.wait_for(running, 60)
            state = await state_of(client, admin, subscription)
    assert paused.status_code == 200, paused.text
    assert (delivered, more) == (5, None)
    assert len(receiver.deliveries) == 1  # nothing after the batch in flight at the pause
    assert state["status"] == "paused" and state["delivered"] == 5  # that batch counted
