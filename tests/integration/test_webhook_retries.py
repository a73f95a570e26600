"""Each way a webhook delivery fails, against a real receiver (or none), as the owner sees it on
`GET /subscriptions/{id}`: the error recorded, the failures counted, the next attempt pushed
back by the growing backoff; and once the receiver is back, everything it missed, from the
cursor. A target the operator no longer allows parks the subscription at once."""

from __future__ import annotations

import time
import uuid
from datetime import UTC, datetime
from typing import Any

import asyncpg
import httpx

from events.store import EventStore
from events.subscriptions import SubscriptionFilter
from services.api.app import create_app
from services.domain.delivery import RetryPolicy
from services.domain.subscription import CreateSubscription
from services.handlers import subscriptions
from services.handlers.auth import actor_of
from services.handlers.command_path import CommandContext, execute
from services.handlers.webhooks import AllowList
from services.ops.demo import load_demo
from services.runtime.config import load_settings
from tests.http import api_client
from tests.integration.test_live_http import free_port
from tests.integration.test_webhooks import (
    LOOPBACK,
    SECRET,
    feed,
    keep_delivering,
    state_of,
    subscribe,
)
from tests.org import bearer, make_user
from tests.receiver import RECEIVERS, Receiver
from workers.webhooks import Clients, DeliveryConfig, deliver

BASE = 0.4
"""Seconds of the first backoff: long enough to measure, short enough to wait out."""


def settings(
    timeout: float = 2.0, max_failures: int = 10, allowed: str = RECEIVERS
) -> DeliveryConfig:
    return DeliveryConfig(
        AllowList.parse(allowed.split(",")), RetryPolicy(BASE, 60.0, max_failures), timeout, 100
    )


async def attempt(
    store: EventStore,
    client: httpx.AsyncClient,
    token: str,
    config: DeliveryConfig,
    subscription: uuid.UUID,
) -> dict[str, Any]:
    """What the worker does once the subscription is due: one attempt (waiting out the backoff
    of the last one); the subscription as its owner then reads it."""
    before = (await state_of(client, token, subscription))["last_attempt_at"]
    deadline = time.monotonic() + 30
    async with Clients(config.timeout) as http:
        while True:
            await deliver(store, http, config, subscription)
            state = await state_of(client, token, subscription)
            if state["last_attempt_at"] != before or state["status"] != "active":
                return state
            assert time.monotonic() < deadline, "the subscription never came due"


def backoff_of(state: dict[str, Any]) -> float:
    """Seconds from the last attempt to the next one, as the subscription shows them."""
    last = datetime.fromisoformat(state["last_attempt_at"])
    return (datetime.fromisoformat(state["next_attempt_at"]) - last).total_seconds()


def assert_retrying(state: dict[str, Any], failures: int, error: str) -> None:
    """Active, `failures` in a row, the next attempt after base·2^(n-1), up to half taken off."""
    assert state["status"] == "active"
    assert (state["failures"], state["last_error"]) == (failures, error)
    ceiling = BASE * 2 ** (failures - 1)
    assert ceiling / 2 <= backoff_of(state) <= ceiling, backoff_of(state)
    assert state["parked_reason"] is None and state["in_flight"] is False


def assert_caught_up(state: dict[str, Any], expected: list[dict[str, Any]]) -> None:
    assert state["status"] == "active"
    assert (state["failures"], state["last_error"], state["next_attempt_at"]) == (0, None, None)
    assert state["cursor"] == expected[-1]["cursor"]
    assert state["delivered"] == len(expected)  # each event counted once, however often sent


async def test_a_receiver_that_is_down_is_retried_with_backoff_and_caught_up_once_back(
    domain_store: EventStore, pool: asyncpg.Pool[Any]
) -> None:
    await load_demo(domain_store)
    _, admin = await make_user(domain_store, "admin")
    port = free_port()  # nothing listens there yet: connections are refused
    url = f"http://127.0.0.1:{port}/hooks/campaign"
    async with api_client(create_app(load_settings(LOOPBACK), pool=pool)) as client:
        subscription, _ = await subscribe(
            client, admin, url, secret=SECRET, filter={"categories": ["plan"]}
        )
        expected = await feed(client, admin, category="plan")
        down = "could not connect, or no answer within 2 s"
        first = await attempt(domain_store, client, admin, settings(), subscription)
        second = await attempt(domain_store, client, admin, settings(), subscription)
        with Receiver(port=port) as receiver:
            await keep_delivering(
                domain_store,
                settings(),
                subscription,
                lambda: len(receiver.accepted_events()) >= len(expected),
            )
            back = await state_of(client, admin, subscription)
    assert_retrying(first, 1, down)
    assert_retrying(second, 2, down)
    assert first["cursor"] is second["cursor"] is None and second["delivered"] == 0
    assert receiver.accepted_events() == expected
    assert [d.status for d in receiver.deliveries] == [204]  # one batch, sent once
    assert_caught_up(back, expected)


async def test_a_receiver_too_slow_to_answer_times_out_and_gets_the_batch_again(
    domain_store: EventStore, pool: asyncpg.Pool[Any]
) -> None:
    await load_demo(domain_store)
    _, admin = await make_user(domain_store, "admin")
    with Receiver() as receiver:
        receiver.held.clear()  # it takes the request and says nothing
        async with api_client(create_app(load_settings(LOOPBACK), pool=pool)) as client:
            subscription, _ = await subscribe(
                client, admin, receiver.url, secret=SECRET, filter={"categories": ["plan"]}
            )
            expected = await feed(client, admin, category="plan")
            started = time.monotonic()
            slow = await attempt(domain_store, client, admin, settings(timeout=1.0), subscription)
            waited = time.monotonic() - started
            receiver.held.set()  # answers again (the late answer finds nobody listening)
            await keep_delivering(
                domain_store,
                settings(timeout=1.0),
                subscription,
                lambda: len(receiver.deliveries) >= 2,
            )
            back = await state_of(client, admin, subscription)
    assert_retrying(slow, 1, "could not connect, or no answer within 1 s")
    assert slow["cursor"] is None
    assert waited >= 1.0  # it waited the whole timeout for an answer
    # At least once: the batch it timed out on went again, whole.
    first, again = receiver.deliveries[:2]
    assert first.body.split(b'"next"')[0] == again.body.split(b'"next"')[0]
    assert receiver.accepted_events() == expected
    assert_caught_up(back, expected)


async def test_a_receiver_answering_4xx_is_retried_with_growing_backoff_until_it_accepts(
    domain_store: EventStore, pool: asyncpg.Pool[Any]
) -> None:
    await load_demo(domain_store)
    _, admin = await make_user(domain_store, "admin")
    with Receiver() as receiver:
        receiver.answers.extend([404, 429, 410])
        async with api_client(create_app(load_settings(LOOPBACK), pool=pool)) as client:
            subscription, _ = await subscribe(
                client, admin, receiver.url, secret=SECRET, filter={"categories": ["plan"]}
            )
            expected = await feed(client, admin, category="plan")
            states = [
                await attempt(domain_store, client, admin, settings(), subscription)
                for _ in range(3)
            ]
            back = await attempt(domain_store, client, admin, settings(), subscription)
    assert_retrying(states[0], 1, "answered 404 Not Found")
    assert_retrying(states[1], 2, "answered 429 Too Many Requests")
    assert_retrying(states[2], 3, "answered 410 Gone")
    assert {s["cursor"] for s in states} == {None}
    assert [d.status for d in receiver.deliveries] == [404, 429, 410, 204]
    assert receiver.accepted_events() == expected
    assert_caught_up(back, expected)


async def test_a_host_that_stopped_resolving_is_retried_then_parked(
    domain_store: EventStore, pool: asyncpg.Pool[Any]
) -> None:
    admin_id, admin = await make_user(domain_store, "admin")
    url = "http://hooks.invalid:8080/campaign"  # .invalid never resolves (RFC 6761)
    named = "hooks.invalid:8080"
    async with api_client(
        create_app(load_settings({"WEBHOOK_ALLOWED_TARGETS": named}), pool=pool)
    ) as client:
        refused_now = await client.post(
            "/subscriptions", headers=bearer(admin), json={"url": url, "secret": SECRET}
        )
        # As if it had resolved when subscribed: created past the shell's DNS check.
        actor = await actor_of(pool, admin_id)
        assert actor is not None
        now = datetime.now(UTC)
        subscription = uuid.uuid4()
        command = CreateSubscription(
            subscription, admin_id, "hooks", url, SECRET, SubscriptionFilter(), None, now
        )
        await execute(
            domain_store, CommandContext(actor, now), subscriptions.handler(command, actor, SECRET)
        )
        config = settings(max_failures=2, allowed=named)
        first = await attempt(domain_store, client, admin, config, subscription)
        parked = await attempt(domain_store, client, admin, config, subscription)
    unresolved = "hooks.invalid does not resolve (now)"
    assert refused_now.status_code == 422
    assert refused_now.json()["type"] == "/problems/target-refused"
    assert_retrying(first, 1, unresolved)
    assert parked["status"] == "parked"
    assert (parked["failures"], parked["parked_reason"]) == (2, unresolved)
    assert parked["last_error"] == unresolved and parked["next_attempt_at"] is None


async def test_a_target_the_operator_no_longer_allows_is_parked_at_once_and_sent_nothing(
    domain_store: EventStore, pool: asyncpg.Pool[Any]
) -> None:
    await load_demo(domain_store)
    _, admin = await make_user(domain_store, "admin")
    with Receiver() as receiver:
        async with api_client(create_app(load_settings(LOOPBACK), pool=pool)) as client:
            subscription, _ = await subscribe(
                client, admin, receiver.url, secret=SECRET, filter={"categories": ["plan"]}
            )
            expected = await feed(client, admin, category="plan")
            # The workers' allow-list no longer names loopback (accepted when subscribed).
            narrowed = settings(allowed="hooks.example.org")
            parked = await attempt(domain_store, client, admin, narrowed, subscription)
            async with Clients(2.0) as http:
                await deliver(domain_store, http, settings(), subscription)  # parked: nothing
            sent_while_parked = len(receiver.deliveries)
            resumed = await client.post(
                f"/subscriptions/{subscription}/resume", headers=bearer(admin)
            )
            await keep_delivering(
                domain_store,
                settings(),
                subscription,
                lambda: len(receiver.accepted_events()) >= len(expected),
            )
            back = await state_of(client, admin, subscription)
    refused = "target refused: 127.0.0.1 is not in the operator's allow-list"
    assert parked["status"] == "parked"
    assert (parked["failures"], parked["parked_reason"], parked["last_error"]) == (
        1,
        refused,
        refused,
    )
    assert parked["cursor"] is None and parked["next_attempt_at"] is None
    assert sent_while_parked == 0
    assert resumed.status_code == 200
    assert receiver.accepted_events() == expected
    assert_caught_up(back, expected)
