"""After a restore (a copy of the database: `campaign migrate` opens a new epoch), what a
consumer holding a position from before sees: every read that takes a cursor (the feed, a
plan's history, a read waiting for the projection, the live feed's `Last-Event-ID`) answers
410 `cursor-epoch-gone` naming the new epoch, to restart from the beginning; a webhook
subscription is parked with the reason and delivers again once reset and resumed."""

from __future__ import annotations

from typing import Any

import asyncpg
import httpx

from events.cursor import Cursor
from events.migrate import migrate
from events.store import EventStore
from services.api.app import create_app
from services.ops.demo import demo_id, load_demo
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
from tests.org import bearer, make_user
from tests.receiver import Receiver
from workers.webhooks import Clients, deliver


async def restore(pool: asyncpg.Pool[Any], dsn: str) -> None:
    """As if this database were restored from a dump made in another one."""
    await pool.execute("UPDATE store_epochs SET db_oid = 0")
    assert (await migrate(dsn)).new_epoch


def assert_gone(answer: httpx.Response, epoch: str) -> None:
    assert answer.status_code == 410, answer.text
    problem = answer.json()
    assert problem["type"] == "/problems/cursor-epoch-gone"
    assert problem["restart_from"] is None and problem["current_epoch"] == epoch


async def test_positions_from_before_a_restore_are_refused_with_the_new_epoch(
    domain_store: EventStore, pool: asyncpg.Pool[Any], dsn: str
) -> None:
    await load_demo(domain_store)
    _, token = await make_user(domain_store, "admin")
    admin = bearer(token)
    plan = demo_id("plan:334")
    async with api_client(create_app(load_settings(LOOPBACK), pool=pool)) as client:
        before = await feed(client, token)
        old = before[len(before) // 2]["cursor"]
        await restore(pool, dsn)
        # The reads waiting for the projection first: before any other read of the running
        # API has looked at the store since the restore.
        answers = {
            "read after a command": await client.get(
                f"/plans/{plan}/compliance", headers=admin, params={"after": old}
            ),
            "consistency token": await client.get(
                f"/plans/{plan}/compliance", headers={**admin, "Consistency-Token": old}
            ),
            "feed": await client.get("/events", headers=admin, params={"after": old}),
            "history": await client.get(
                f"/plans/{plan}/history", headers=admin, params={"after": old}
            ),
            "live": await client.get("/events/live", headers={**admin, "Last-Event-ID": old}),
            "live after": await client.get("/events/live", headers=admin, params={"after": old}),
        }
        after = await feed(client, token)
        epoch = Cursor.decode(after[0]["cursor"]).epoch
        from_new = await client.get(
            "/events", headers=admin, params={"after": after[len(after) // 2]["cursor"]}
        )
    assert epoch != Cursor.decode(old).epoch
    for name, answer in answers.items():
        assert answer.status_code == 410, name
        assert_gone(answer, epoch)
    # The events are all there, under the new epoch's cursors; those read on.
    assert [e["event_id"] for e in after] == [e["event_id"] for e in before]
    assert {Cursor.decode(e["cursor"]).epoch for e in after} == {epoch}
    assert from_new.status_code == 200
    assert len(from_new.json()["events"]) == len(after) - len(after) // 2 - 1


async def test_a_webhook_from_before_a_restore_is_parked_until_reset_and_resumed(
    domain_store: EventStore, pool: asyncpg.Pool[Any], dsn: str
) -> None:
    await load_demo(domain_store)
    _, admin = await make_user(domain_store, "admin")
    with Receiver() as receiver:
        async with api_client(create_app(load_settings(LOOPBACK), pool=pool)) as client:
            subscription, _ = await subscribe(
                client, admin, receiver.url, secret=SECRET, filter={"categories": ["plan"]}
            )
            planned = await feed(client, admin, category="plan")
            await keep_delivering(
                domain_store,
                config(),
                subscription,
                lambda: len(receiver.accepted_events()) >= len(planned),
            )
            sent_before = len(receiver.deliveries)
            await restore(pool, dsn)
            async with Clients(2.0) as http:
                await deliver(domain_store, http, config(), subscription)
            parked = await state_of(client, admin, subscription)
            reset = await client.post(
                f"/subscriptions/{subscription}/reset",
                headers=bearer(admin),
                json={"to": "beginning"},
            )
            resumed = await client.post(
                f"/subscriptions/{subscription}/resume", headers=bearer(admin)
            )
            await keep_delivering(
                domain_store,
                config(),
                subscription,
                lambda: (
                    len(receiver.accepted()) > sent_before
                    and receiver.accepted()[-1].events[-1]["event_id"] == planned[-1]["event_id"]
                ),
            )
            again = await state_of(client, admin, subscription)
            now_planned = await feed(client, admin, category="plan")
    reason = "the cursor is from before the store was restored: reset the subscription"
    assert parked["status"] == "parked"
    assert (parked["parked_reason"], parked["last_error"]) == (reason, reason)
    assert parked["lag"] is None  # what it would still receive cannot be told
    assert parked["cursor"] == planned[-1]["cursor"]  # kept, as it was
    assert len(receiver.deliveries) > sent_before  # delivered again after the reset only
    assert reset.status_code == 200 and resumed.status_code == 200
    redelivered = [e for d in receiver.accepted()[sent_before:] for e in d.events]
    assert [e["event_id"] for e in redelivered] == [e["event_id"] for e in planned]
    assert [e["cursor"] for e in redelivered] == [e["cursor"] for e in now_planned]
    assert again["status"] == "active" and again["failures"] == 0
    assert Cursor.decode(again["cursor"]).epoch == Cursor.decode(now_planned[0]["cursor"]).epoch
    assert again["lag"]["events"] == 0
