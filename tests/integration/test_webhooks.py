"""Webhook subscriptions against a real receiver on loopback: what the owner may see, in order,
signed and verified with the README's snippet; retries with backoff, parking and resuming,
pausing and resetting; targets outside the operator's allow-list refused."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

import asyncpg
import httpx

from events.store import EventStore
from services.api.app import create_app
from services.domain.delivery import RetryPolicy
from services.handlers.webhooks import AllowList
from services.ops.demo import demo_id, load_demo
from services.runtime.config import load_settings
from tests.http import api_client
from tests.org import bearer, make_user
from tests.receiver import RECEIVERS, Receiver, readme_verify
from workers.webhooks import Clients, DeliveryConfig, deliver, dispatch

LOOPBACK = {"WEBHOOK_ALLOWED_TARGETS": RECEIVERS}
SECRET = "s3cret-of-the-department-0123456789"


def config(max_failures: int = 10, batch: int = 5, timeout: float = 2.0) -> DeliveryConfig:
    return DeliveryConfig(
        AllowList.parse(RECEIVERS.split(",")), RetryPolicy(0.2, 2.0, max_failures), timeout, batch
    )


async def keep_delivering(
    store: EventStore,
    settings: DeliveryConfig,
    subscription: uuid.UUID,
    done: Callable[[], bool],
    timeout: float = 20,
) -> None:
    """What the worker does, in this process: deliver whenever due, until `done`."""
    deadline = time.monotonic() + timeout
    async with Clients(settings.timeout) as client:
        while not done():
            assert time.monotonic() < deadline, "timed out"
            await deliver(store, client, settings, subscription)
            await asyncio.sleep(0.02)


async def state_of(
    client: httpx.AsyncClient, token: str, subscription: uuid.UUID
) -> dict[str, Any]:
    answer = await client.get(f"/subscriptions/{subscription}", headers=bearer(token))
    assert answer.status_code == 200, answer.text
    state: dict[str, Any] = answer.json()
    return state


async def feed(client: httpx.AsyncClient, token: str, **params: Any) -> list[dict[str, Any]]:
    answer = await client.get("/events", headers=bearer(token), params={"limit": 1000, **params})
    assert answer.status_code == 200, answer.text
    events: list[dict[str, Any]] = answer.json()["events"]
    return events


async def subscribe(
    client: httpx.AsyncClient, token: str, url: str, **body: Any
) -> tuple[uuid.UUID, str]:
    answer = await client.post(
        "/subscriptions",
        headers=bearer(token),
        json={"url": url, "start": "beginning", **body},
    )
    assert answer.status_code == 201, answer.text
    created = answer.json()
    assert [e["stream_id"] for e in created["events"]] == [f"subscription-{created['id']}"]
    return uuid.UUID(created["id"]), created.get("secret", body.get("secret", ""))


async def test_the_receiver_gets_what_the_owner_may_see_in_order_signed(
    domain_store: EventStore, pool: asyncpg.Pool[Any]
) -> None:
    await load_demo(domain_store)
    _, consumer = await make_user(domain_store, "consumer", demo_id("unit:sl-t1"))
    verify = readme_verify()
    with Receiver() as receiver:
        async with api_client(create_app(load_settings(LOOPBACK), pool=pool)) as client:
            subscription, secret = await subscribe(client, consumer, receiver.url)
            assert secret.startswith("whsec_")  # generated, shown once
            expected = await feed(client, consumer)
            await keep_delivering(
                domain_store,
                config(batch=5),
                subscription,
                lambda: len(receiver.accepted_events()) >= len(expected),
            )
            state = await state_of(client, consumer, subscription)
    got = receiver.accepted_events()
    group = demo_id("task:334-2b")
    names = {
        f"unit-{demo_id('unit:sl-t1')}": "unit party group 1",
        f"plan-{demo_id('plan:334')}": "plan 334-KH/CB",
        f"assignment-{group}": "task of party group 1",
    }

    def name(stream: str) -> str:
        kind = stream.split("-", 1)[0]
        return names.get(stream, {"model": "its model", "user": "its consumer"}.get(kind, stream))

    # Party group 1's consumer receives exactly what it may read of seed 003: the plan
    # addressed to it, its own task, its model, its own role; not the trade union's task
    # beside it, nor the cell's consolidated report, nor any subscription's events.
    assert [(name(e["stream_id"]), e["type"]) for e in got] == [
        ("unit party group 1", "UnitRegistered"),
        ("plan 334-KH/CB", "PlanDrafted"),
        ("plan 334-KH/CB", "PlanIssued"),
        ("task of party group 1", "AssignmentIssued"),
        ("task of party group 1", "DeadlineScheduled"),
        ("task of party group 1", "SubmissionFiled"),
        ("task of party group 1", "SubmissionReviewed"),
        ("task of party group 1", "ExtensionRequested"),
        ("task of party group 1", "ExtensionGranted"),
        ("task of party group 1", "DeadlineScheduled"),
        ("task of party group 1", "SubmissionFiled"),
        ("task of party group 1", "SubmissionReviewed"),
        ("task of party group 1", "AssignmentCompleted"),
        ("its model", "ModelRegistered"),
        ("its model", "ModelReported"),
        ("its model", "ModelCommended"),
        ("its consumer", "RoleGranted"),
    ]
    assert got == expected  # the feed's events, field for field, in feed order
    deliveries = receiver.accepted()
    assert len(deliveries) == 4  # batches of 5, nothing sent twice
    for delivery in deliveries:
        assert verify(secret, delivery.headers["Campaign-Signature"], delivery.body)
        assert not verify("another secret!!", delivery.headers["Campaign-Signature"], delivery.body)
        assert delivery.headers["Campaign-Subscription"] == str(subscription)
        assert delivery.headers["Content-Type"] == "application/json"
    assert len({d.headers["Campaign-Delivery"] for d in deliveries}) == 4
    assert state["status"] == "active"
    assert state["cursor"] == got[-1]["cursor"]
    assert state["delivered"] == len(got)
    assert state["lag"] == {"events": 0, "oldest_at": None, "seconds": 0.0}
    assert state["failures"] == 0 and state["last_error"] is None


async def test_a_receiver_failing_three_times_gets_everything_once_it_recovers(
    domain_store: EventStore, pool: asyncpg.Pool[Any]
) -> None:
    await load_demo(domain_store)
    _, admin = await make_user(domain_store, "admin")
    with Receiver() as receiver:
        receiver.answers.extend([500, 503, 302])
        async with api_client(create_app(load_settings(LOOPBACK), pool=pool)) as client:
            subscription, _ = await subscribe(
                client, admin, receiver.url, secret=SECRET, filter={"categories": ["plan"]}
            )
            failures_seen: list[dict[str, Any]] = []

            async def watch() -> None:
                while len(failures_seen) < 3:
                    state = await state_of(client, admin, subscription)
                    if state["failures"] > len(failures_seen):
                        failures_seen.append(state)
                    await asyncio.sleep(0.01)

            watcher = asyncio.create_task(watch())
            expected = await feed(client, admin, category="plan")
            started = time.monotonic()
            await keep_delivering(
                domain_store,
                config(batch=1000),
                subscription,
                lambda: bool(receiver.accepted()),
            )
            took = time.monotonic() - started
            await asyncio.wait_for(watcher, 5)
            state = await state_of(client, admin, subscription)
    assert [d.status for d in receiver.deliveries] == [500, 503, 302, 204]
    # The same batch each time: the cursor moved only after the 2xx.
    assert len({d.body.split(b'"next"')[0] for d in receiver.deliveries}) == 1
    assert receiver.accepted_events() == expected
    assert [s["failures"] for s in failures_seen] == [1, 2, 3]
    assert failures_seen[0]["last_error"] == "answered 500 Internal Server Error"
    assert failures_seen[2]["last_error"] == "answered 302 Found (redirects are not followed)"
    # Backoff 0.2 s doubling, up to half taken off: at least 0.1 + 0.2 + 0.4 s.
    assert took >= 0.7
    assert state["failures"] == 0 and state["status"] == "active"
    assert state["cursor"] == expected[-1]["cursor"]


async def test_a_parked_subscription_resumes_from_its_cursor(
    domain_store: EventStore, pool: asyncpg.Pool[Any]
) -> None:
    await load_demo(domain_store)
    _, admin = await make_user(domain_store, "admin")
    _, other = await make_user(domain_store, "consumer", demo_id("unit:sl-t1"))
    with Receiver() as receiver:
        async with api_client(create_app(load_settings(LOOPBACK), pool=pool)) as client:
            subscription, _ = await subscribe(
                client, admin, receiver.url, secret=SECRET, filter={"categories": ["plan"]}
            )
            everything = await feed(client, admin, category="plan")
            # The first batch goes through; then the receiver goes down.
            receiver.answers.extend([204] + [500] * 10)

            async def parked() -> bool:
                state = await state_of(client, admin, subscription)
                return bool(state["status"] == "parked")

            deadline = time.monotonic() + 20
            async with Clients(2.0) as http:
                while not await parked():
                    assert time.monotonic() < deadline
                    await deliver(domain_store, http, config(max_failures=3, batch=4), subscription)
                    await asyncio.sleep(0.05)
            state = await state_of(client, admin, subscription)
            history = (
                await client.get(
                    "/events",
                    headers=bearer(admin),
                    params={"stream": f"subscription-{subscription}"},
                )
            ).json()["events"]
            # Nothing is tried while parked.
            tried = len(receiver.deliveries)
            await deliver(domain_store, Clients(2.0), config(), subscription)
            assert len(receiver.deliveries) == tried
            # Only the owner (or an admin) may resume it; to another reader it does not exist.
            refused = await client.post(
                f"/subscriptions/{subscription}/resume", headers=bearer(other), json={}
            )
            receiver.answers.clear()
            resumed = await client.post(
                f"/subscriptions/{subscription}/resume", headers=bearer(admin), json={}
            )
            again = await client.post(
                f"/subscriptions/{subscription}/resume", headers=bearer(admin), json={}
            )
            await keep_delivering(
                domain_store,
                config(batch=4),
                subscription,
                lambda: len(receiver.accepted_events()) >= len(everything),
            )
    assert state["status"] == "parked"
    assert state["failures"] == 3
    assert state["parked_reason"] == "answered 500 Internal Server Error"
    assert state["cursor"] == everything[3]["cursor"]  # the first batch of 4 went through
    assert [e["type"] for e in history] == ["SubscriptionCreated", "SubscriptionParked"]
    assert history[1]["data"]["reason"] == "answered 500 Internal Server Error"
    assert history[1]["data"]["cursor"] == everything[3]["cursor"]
    assert "secret" not in history[0]["data"]
    assert refused.status_code == 404
    assert resumed.status_code == 200 and len(resumed.json()["events"]) == 1
    assert again.status_code == 200 and again.json()["events"] == []  # already active
    assert receiver.accepted_events() == everything  # resumed from its cursor: no gap
    failed = [d for d in receiver.deliveries if d.status == 500]
    assert len(failed) == 3 and {d.events[0]["cursor"] for d in failed} == {everything[4]["cursor"]}


async def test_pause_holds_deliveries_and_reset_replays_from_a_cursor(
    domain_store: EventStore, pool: asyncpg.Pool[Any]
) -> None:
    await load_demo(domain_store)
    _, admin = await make_user(domain_store, "admin")
    with Receiver() as receiver:
        async with api_client(create_app(load_settings(LOOPBACK), pool=pool)) as client:
            subscription, _ = await subscribe(
                client, admin, receiver.url, secret=SECRET, filter={"types": ["PlanIssued"]}
            )
            issued = await feed(client, admin, type="PlanIssued")
            paused = await client.post(
                f"/subscriptions/{subscription}/pause",
                headers=bearer(admin),
                json={"reason": "bảo trì máy chủ"},
            )
            waiting = await state_of(client, admin, subscription)
            async with Clients(2.0) as http:
                await deliver(domain_store, http, config(), subscription)
            assert receiver.deliveries == []  # paused: nothing goes
            await client.post(f"/subscriptions/{subscription}/resume", headers=bearer(admin))
            await keep_delivering(
                domain_store,
                config(),
                subscription,
                lambda: len(receiver.accepted_events()) == len(issued),
            )
            reset = await client.post(
                f"/subscriptions/{subscription}/reset",
                headers=bearer(admin),
                json={"to": issued[1]["cursor"]},
            )
            before = len(receiver.accepted())
            await keep_delivering(
                domain_store,
                config(),
                subscription,
                lambda: len(receiver.accepted()) > before,
            )
            bad_reset = await client.post(
                f"/subscriptions/{subscription}/reset", headers=bearer(admin), json={"to": "nope"}
            )
            listed = (await client.get("/subscriptions", headers=bearer(admin))).json()
    assert paused.status_code == 200
    assert paused.json()["events"][0]["stream_id"] == f"subscription-{subscription}"
    assert waiting["status"] == "paused"
    assert waiting["lag"]["events"] == len(issued)  # what it would still receive
    assert waiting["lag"]["seconds"] > 0
    assert reset.status_code == 200
    replayed = receiver.accepted()[-1].events
    assert [e["event_id"] for e in replayed] == [e["event_id"] for e in issued[2:]]
    assert bad_reset.status_code == 400
    assert bad_reset.json()["type"].endswith("invalid-cursor")
    assert [item["id"] for item in listed["items"]] == [str(subscription)]


async def test_targets_outside_the_allow_list_are_refused(
    domain_store: EventStore, pool: asyncpg.Pool[Any]
) -> None:
    _, admin = await make_user(domain_store, "admin")
    _, nobody = await make_user(domain_store, None)
    refused: dict[str, tuple[int, str]] = {}
    async with api_client(create_app(load_settings({}), pool=pool)) as client:
        for url in [
            "http://127.0.0.1:9/hook",  # loopback, not named by the operator
            "https://10.1.2.3/hook",  # private
            "https://[::1]/hook",
            "https://169.254.169.254/latest/meta-data",  # link-local (cloud metadata)
            "https://hooks.example.org/campaign",  # a host the operator did not name
            "ftp://hooks.example.org/",
            "https://user:pw@hooks.example.org/",
        ]:
            answer = await client.post(
                "/subscriptions", headers=bearer(admin), json={"url": url, "secret": SECRET}
            )
            refused[url] = (answer.status_code, answer.json()["type"].rsplit("/", 1)[-1])
        no_reach = await client.post(
            "/subscriptions", headers=bearer(nobody), json={"url": "http://127.0.0.1:9/"}
        )
    async with api_client(create_app(load_settings(LOOPBACK), pool=pool)) as client:
        allowed = await client.post(
            "/subscriptions", headers=bearer(admin), json={"url": "http://127.0.0.1:9/hook"}
        )
        short_allowed = await client.post(
            "/subscriptions",
            headers=bearer(admin),
            json={"url": "http://127.0.0.1:9/", "secret": "short"},
        )
        unknown_allowed = await client.post(
            "/subscriptions",
            headers=bearer(admin),
            json={"url": "http://127.0.0.1:9/", "filter": {"types": ["PlanBurned"]}},
        )
    assert set(refused.values()) == {(422, "target-refused")}
    assert allowed.status_code == 201
    assert short_allowed.status_code == 422
    assert short_allowed.json()["type"].endswith("invalid-secret")
    assert unknown_allowed.status_code == 422
    assert unknown_allowed.json()["type"].endswith("unknown-event-type")
    assert no_reach.status_code == 403


async def test_the_dispatcher_queues_each_due_subscription_once(
    domain_store: EventStore, pool: asyncpg.Pool[Any], redis_url: str
) -> None:
    from workers import queue

    _, admin = await make_user(domain_store, "admin")
    async with api_client(create_app(load_settings(LOOPBACK), pool=pool)) as client:
        ids = [
            (await subscribe(client, admin, f"http://127.0.0.1:9/{n}", secret=SECRET))[0]
            for n in range(3)
        ]
        await client.post(f"/subscriptions/{ids[2]}/pause", headers=bearer(admin))
    redis = await queue.connect(redis_url)
    try:
        first = await dispatch(domain_store, redis)
        second = await dispatch(domain_store, redis)  # the same jobs are still queued
        queued = await redis.queued_jobs()
    finally:
        await redis.aclose()
    assert (first, second) == (2, 0)
    assert sorted(job.args[0] for job in queued) == sorted(str(i) for i in ids[:2])


async def test_a_filtered_subscription_that_found_nothing_new_is_not_woken_again(
    domain_store: EventStore,
    pool: asyncpg.Pool[Any],
    redis_url: str,
    lose_redis: Callable[[], Awaitable[None]],
) -> None:
    from events.cursor import Cursor
    from workers import queue

    await load_demo(domain_store)
    _, admin = await make_user(domain_store, "admin")
    with Receiver() as receiver:
        async with api_client(create_app(load_settings(LOOPBACK), pool=pool)) as client:
            subscription, _ = await subscribe(
                client, admin, receiver.url, secret=SECRET, filter={"types": ["PlanIssued"]}
            )
            issued = await feed(client, admin, type="PlanIssued")
            await keep_delivering(
                domain_store,
                config(),
                subscription,
                lambda: len(receiver.accepted_events()) == len(issued),
            )
            await make_user(domain_store, "consumer", demo_id("unit:sl-t1"))  # not for it
            redis = await queue.connect(redis_url)
            try:
                woken = await dispatch(domain_store, redis)  # something new in the feed
                async with Clients(2.0) as http:
                    await deliver(domain_store, http, config(), subscription)
                await lose_redis()
                again = await dispatch(domain_store, redis)
            finally:
                await redis.aclose()
            state = await state_of(client, admin, subscription)
    assert (woken, again) == (1, 0)
    assert len(receiver.deliveries) == 1  # nothing was sent for the new events
    head = await domain_store.head()
    assert head is not None and Cursor.decode(state["cursor"]) >= Cursor.decode(head)
    assert state["lag"]["events"] == 0 and state["delivered"] == len(issued)


async def test_a_subscription_whose_owner_was_erased_is_parked_and_sends_nothing(
    domain_store: EventStore, pool: asyncpg.Pool[Any]
) -> None:
    from datetime import UTC, datetime

    from projections import user_roles

    await load_demo(domain_store)
    owner, consumer = await make_user(domain_store, "consumer", demo_id("unit:sl-t1"))
    _, admin = await make_user(domain_store, "admin")
    with Receiver() as receiver:
        async with api_client(create_app(load_settings(LOOPBACK), pool=pool)) as client:
            subscription, _ = await subscribe(client, consumer, receiver.url, secret=SECRET)
            await user_roles.erase_person(pool, owner, datetime.now(UTC))
            async with Clients(2.0) as http:
                await deliver(domain_store, http, config(), subscription)
            state = await state_of(client, admin, subscription)
    assert receiver.deliveries == []
    assert state["status"] == "parked"
    assert state["parked_reason"] == "the owner's account no longer exists"


async def test_a_delivery_connects_to_the_address_it_checked_and_keeps_the_host_name(
    domain_store: EventStore, pool: asyncpg.Pool[Any]
) -> None:
    _, admin = await make_user(domain_store, "admin")
    named = {"WEBHOOK_ALLOWED_TARGETS": "localhost:1024-65535"}  # a name, with its addresses
    with Receiver(host="localhost") as receiver:
        async with api_client(create_app(load_settings(named), pool=pool)) as client:
            subscription, _ = await subscribe(client, admin, receiver.url, secret=SECRET)
        settings = DeliveryConfig(
            AllowList.parse(["localhost:1024-65535"]), RetryPolicy(), 2.0, 100
        )
        await keep_delivering(
            domain_store, settings, subscription, lambda: bool(receiver.accepted())
        )
    (delivery,) = receiver.accepted()
    assert delivery.headers["Host"] == f"localhost:{receiver.server.server_address[1]}"


async def test_bad_urls_are_problems_and_a_generated_secret_is_shown_once(
    domain_store: EventStore, pool: asyncpg.Pool[Any]
) -> None:
    _, admin = await make_user(domain_store, "admin")
    async with api_client(create_app(load_settings(LOOPBACK), pool=pool)) as client:
        bad = {}
        for url in [
            "http://[::1",
            "http://127.0.0.1/a\x01b",
            " http://127.0.0.1/",
            "http://ex℀ample.com/",
        ]:
            answer = await client.post(
                "/subscriptions", headers=bearer(admin), json={"url": url, "secret": SECRET}
            )
            bad[url] = (answer.status_code, answer.json()["type"].rsplit("/", 1)[-1])
        generated = await client.post(
            "/subscriptions", headers=bearer(admin), json={"url": "http://127.0.0.1:9/a"}
        )
        once = {**bearer(admin), "Idempotency-Key": "make-hook-1"}
        body = {"url": "http://127.0.0.1:9/b"}
        # A generated secret could not be shown to a retry: with a key, the caller brings one.
        unkeyed = await client.post("/subscriptions", headers=once, json=body)
        first = await client.post("/subscriptions", headers=once, json={**body, "secret": SECRET})
        replay = await client.post("/subscriptions", headers=once, json={**body, "secret": SECRET})
    assert set(bad.values()) == {(422, "target-refused")}
    secret = generated.json()["secret"]
    stored = await pool.fetchval(
        "SELECT secret FROM subscriptions WHERE subscription_id = $1",
        uuid.UUID(generated.json()["id"]),
    )
    assert secret.startswith("whsec_") and stored == secret
    assert unkeyed.status_code == 422 and unkeyed.json()["type"].endswith("secret-required")
    assert first.status_code == replay.status_code == 201
    assert replay.json()["id"] == first.json()["id"] and "secret" not in replay.json()
    kept = await pool.fetchval(
        "SELECT count(*) FROM idempotency WHERE answer::text LIKE '%whsec_%'"
    )
    assert kept == 0


async def test_only_admins_read_subscription_events_in_the_feeds(
    domain_store: EventStore, pool: asyncpg.Pool[Any]
) -> None:
    await load_demo(domain_store)
    _, admin = await make_user(domain_store, "admin")
    _, auditor = await make_user(domain_store, "auditor", demo_id("unit:sl-t1"))
    async with api_client(create_app(load_settings(LOOPBACK), pool=pool)) as client:
        subscription, _ = await subscribe(
            client, auditor, "http://127.0.0.1:9/hook?token=abc", secret=SECRET
        )
        stream = {"stream": f"subscription-{subscription}"}
        by_auditor = (await client.get("/events", headers=bearer(auditor), params=stream)).json()
        by_admin = (await client.get("/events", headers=bearer(admin), params=stream)).json()
        owner_reads = await client.get(f"/subscriptions/{subscription}", headers=bearer(auditor))
    assert by_auditor["events"] == []
    assert [e["type"] for e in by_admin["events"]] == ["SubscriptionCreated"]
    assert owner_reads.status_code == 200
    assert owner_reads.json()["url"] == "http://127.0.0.1:9/hook?token=abc"


async def test_pausing_stops_a_delivery_under_way_after_the_batch_in_flight(
    domain_store: EventStore, pool: asyncpg.Pool[Any]
) -> None:
    await load_demo(domain_store)
    _, admin = await make_user(domain_store, "admin")
    with Receiver() as receiver:
        receiver.held.clear()  # the first batch is answered only once the pause is in
        async with api_client(create_app(load_settings(LOOPBACK), pool=pool)) as client:
            subscription, _ = await subscribe(client, admin, receiver.url, secret=SECRET)
            async with Clients(2.0) as http:
                # Time enough for the pause to go in while the first batch waits.
                patient = config(batch=1, timeout=30.0)
                running = asyncio.create_task(deliver(domain_store, http, patient, subscription))
                assert await asyncio.to_thread(receiver.arrived.wait, 10)
                await client.post(f"/subscriptions/{subscription}/pause", headers=bearer(admin))
                receiver.held.set()
                delivered, more = await asyncio.wait_for(running, 30)
            state = await state_of(client, admin, subscription)
    assert delivered == 1 and more is None
    assert len(receiver.deliveries) == 1
    assert state["status"] == "paused"
    assert state["cursor"] == receiver.deliveries[0].events[0]["cursor"]  # that batch counted


async def test_a_subscription_whose_owner_can_read_nothing_is_parked(
    domain_store: EventStore, pool: asyncpg.Pool[Any]
) -> None:
    from datetime import UTC, datetime

    from services.handlers import users
    from services.handlers.auth import OPERATOR
    from services.handlers.command_path import CommandContext, execute

    await load_demo(domain_store)
    owner, consumer = await make_user(domain_store, "consumer", demo_id("unit:sl-t1"))
    _, admin = await make_user(domain_store, "admin")
    role = await pool.fetchval("SELECT role_id FROM user_roles WHERE user_id = $1", owner)
    with Receiver() as receiver:
        async with api_client(create_app(load_settings(LOOPBACK), pool=pool)) as client:
            subscription, _ = await subscribe(client, consumer, receiver.url, secret=SECRET)
            now = datetime.now(UTC)
            await execute(
                domain_store,
                CommandContext(OPERATOR, now),
                users.revoke_handler(owner, role, OPERATOR),
            )
            async with Clients(2.0) as http:
                await deliver(domain_store, http, config(), subscription)
            state = await state_of(client, admin, subscription)
    assert receiver.deliveries == []
    assert state["status"] == "parked"
    assert state["parked_reason"] == (
        "the owner may no longer read the events this subscription asks for"
    )
