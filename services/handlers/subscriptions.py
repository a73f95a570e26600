"""Webhook subscriptions through the command path, the `subscriptions` table kept in the same
transaction, and what their owners read of them.

Only the owner (or an admin) sees or acts on a subscription; to anyone else it does not exist.
"""

from __future__ import annotations

import secrets
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any
from uuid import UUID

import asyncpg
import httpx
from prometheus_client import Gauge

from events.domain import catalog
from events.errors import CursorFromAnotherEpoch
from events.store import DbConnection, EventStore
from events.subscriptions import (
    SubscriptionFilter,
)
from projections import subscriptions as subscription_rows
from projections.change import Change
from services.domain import refusal_codes as codes
from services.domain import subscription as subscription_decider
from services.domain.refusal import Decision, Refused
from services.domain.subscription import (
    CreateSubscription,
    ParkSubscription,
    ResetSubscription,
    SubscriptionCommand,
)
from services.domain.user import Grant
from services.handlers.auth import Actor, Forbidden, actor_of
from services.handlers.command_path import (
    Answer,
    CommandContext,
    Handler,
    Outcome,
    Session,
    execute,
)
from services.handlers.reach import FeedScope, feed_scope, reach
from services.handlers.streams import load_subscription, subscription_stream
from services.handlers.webhooks import AllowList, TargetRefused, resolve_and_check

SUBSCRIPTIONS = Gauge(
    "campaign_webhook_subscriptions",
    "Webhook subscriptions, by status",
    ["status"],
    multiprocess_mode="mostrecent",  # measured by every API process alike
)
LAG_EVENTS = Gauge(
    "campaign_webhook_lag_events_max",
    "Events waiting for the furthest-behind active subscription (counted up to 10,000)",
    multiprocess_mode="mostrecent",  # measured by every API process alike
)
LAG_SECONDS = Gauge(
    "campaign_webhook_lag_seconds_max",
    "Age of the oldest event waiting for an active subscription",
    multiprocess_mode="mostrecent",  # measured by every API process alike
)
MEASURE_EVERY = 15.0

DELIVERY_WORKER = Actor(None, (Grant("admin", None),), label="webhook-worker")


def new_secret() -> str:
    return "whsec_" + secrets.token_urlsafe(32)


async def may_subscribe(pool: asyncpg.Pool[Any], actor: Actor) -> None:
    if actor.user_id is None:
        raise Forbidden("a subscription belongs to a user")
    if not actor.is_admin and not await reach(pool, actor):
        raise Forbidden("you may read no unit's events, so a subscription would receive nothing")


class LeaseLost(Exception):
    """The delivery that would park the subscription no longer holds its lease."""


def handler(
    command: SubscriptionCommand,
    actor: Actor,
    secret: str = "",
    *,
    lease_token: UUID | None = None,
) -> Handler:
    """`secret`: the signing secret of a subscription being created (kept out of events);
    `lease_token`: the delivery lease a parking worker must still hold."""

    async def decide(session: Session) -> Outcome:
        stream = subscription_stream(command.subscription_id)
        state = await load_subscription(session, command.subscription_id)
        owned_by_actor = actor.is_admin or state.owner_user_id == actor.user_id
        if not isinstance(command, CreateSubscription | ParkSubscription) and not owned_by_actor:
            raise Refused(
                codes.UNKNOWN_SUBSCRIPTION,
                f"subscription {state.id} does not exist",
            )
        known = subscription_decider.Context(known_types=catalog.type_names())
        decision: Decision = subscription_decider.decide(command, state, known)
        status = 201 if isinstance(command, CreateSubscription) else 200
        outcome = Outcome(str(command.subscription_id), stream, status=status)
        outcome.add(stream, decision)
        version = session.versions.get(stream, 0)
        changes = [
            Change(event, stream, version + n, command.now)
            for n, event in enumerate(decision.events, 1)
        ]

        async def write(connection: DbConnection) -> None:
            if lease_token is not None and not await subscription_rows.lease_held(
                connection, command.subscription_id, lease_token
            ):
                raise LeaseLost(str(command.subscription_id))  # rolls the append back
            await subscription_rows.write(connection, changes, secret, command.now)

        outcome.after = write
        return outcome

    return decide


@dataclass(frozen=True)
class NewSubscription:
    """A subscription as asked for. `keyed`: the request carries an Idempotency-Key. Without a
    secret one is generated; without a name the URL's host names it."""

    subscription_id: UUID
    url: str
    filter: SubscriptionFilter
    start: str
    now: datetime
    name: str | None = None
    secret: str | None = None
    keyed: bool = False


async def create(
    store: EventStore,
    actor: Actor,
    asked: NewSubscription,
    targets: AllowList,
    send: Callable[[Handler], Awaitable[Answer]],
) -> Answer:
    """Create a subscription, by the rules of creation: a user who may read something subscribes
    a URL the operator's allow-list admits, from a start that exists; a generated secret is shown
    once, in this answer (never kept with an answer for an Idempotency-Key: such requests must
    bring their own secret). `send` is how the caller sends a command (with its headers)."""
    await may_subscribe(store.pool, actor)
    if asked.secret is None and asked.keyed:
        raise Refused(
            codes.SECRET_REQUIRED,
            "with an Idempotency-Key, send the secret: a generated one could not be shown to a "
            "retry of this request",
        )
    try:
        await resolve_and_check(asked.url, targets)
        httpx.URL(asked.url)  # what the delivery will parse
    except TargetRefused as refused:
        raise Refused(codes.TARGET_REFUSED, str(refused)) from None
    except httpx.InvalidURL as invalid:
        raise Refused(codes.TARGET_REFUSED, f"not a URL deliveries can use: {invalid}") from None
    start = await start_position(store, asked.start)
    secret = asked.secret if asked.secret is not None else new_secret()
    command = CreateSubscription(
        asked.subscription_id,
        actor.user_id or uuid.UUID(int=0),
        asked.name or asked.url.split("//", 1)[-1].split("/", 1)[0],
        asked.url,
        secret,
        asked.filter,
        start,
        asked.now,
    )
    answer = await send(handler(command, actor, secret))
    if asked.secret is None:
        stored = await subscription_rows.secret_of(store.pool, command.subscription_id)
        if stored == secret:
            answer = replace(answer, extra={**answer.extra, "secret": secret})
    return answer


async def reset(
    store: EventStore, actor: Actor, subscription_id: UUID, to: str, now: datetime
) -> Handler:
    """The handler that delivers a subscription again from `to` (`beginning`, `now` or a
    cursor of this store's epoch), once the actor is found to own it."""
    await row_of(store.pool, actor, subscription_id)
    after = await start_position(store, to)
    return handler(ResetSubscription(subscription_id, after, now), actor)


async def start_position(store: EventStore, given: str) -> str | None:
    """Where delivery starts after: "beginning" (None), "now" (the feed's head) or a cursor
    of this store's epoch."""
    if given == "beginning":
        return None
    if given == "now":
        return await store.head()
    try:
        await store.backlog(after=given, cap=1)
    except CursorFromAnotherEpoch:
        raise Refused(
            codes.CURSOR_EPOCH_GONE,
            "the cursor was handed out before the store was restored; use beginning or now",
        ) from None
    return given


async def park(
    store: EventStore,
    subscription_id: UUID,
    failures: int,
    reason: str,
    cursor: str | None,
    now: datetime,
    *,
    lease_token: UUID | None = None,
) -> None:
    """Record that delivery stopped (the worker's command), only while the worker still holds
    the delivery lease (LeaseLost otherwise: nothing is recorded)."""
    command = ParkSubscription(subscription_id, failures, reason, cursor, now)
    await execute(
        store,
        CommandContext(DELIVERY_WORKER, now),
        handler(command, DELIVERY_WORKER, lease_token=lease_token),
    )


@dataclass(frozen=True)
class Lag:
    events: int
    """Events waiting for delivery, counted up to LAG_CAP."""
    oldest_at: datetime | None


LAG_CAP = 10_000


async def row_of(pool: asyncpg.Pool[Any], actor: Actor, subscription_id: UUID) -> asyncpg.Record:
    """The subscription as its owner (or an admin) reads it; to anyone else it does not exist."""
    row = await subscription_rows.get(pool, subscription_id)
    if row is None or not (actor.is_admin or row["owner_user_id"] == actor.user_id):
        raise Refused(
            codes.UNKNOWN_SUBSCRIPTION,
            f"subscription {subscription_id} does not exist",
        )
    return row


async def listing(pool: asyncpg.Pool[Any], actor: Actor, limit: int) -> list[asyncpg.Record]:
    """The actor's subscriptions, newest first (an admin's: every one)."""
    return await subscription_rows.listing(pool, None if actor.is_admin else actor.user_id, limit)


@dataclass(frozen=True)
class Eyes:
    """Whose eyes a subscription reads the feed with: its owner as they stand now (None when
    erased), and what the read rule shows them of the feed (`reach.feed_scope`)."""

    owner: Actor | None
    scope: FeedScope

    @property
    def blind(self) -> bool:
        return self.owner is None or self.scope.blind

    def filters(self, row: asyncpg.Record) -> dict[str, Any]:
        """The feed read (`EventStore.read_all`, `backlog`) of the subscription `row`."""
        return {
            "types": row["types"],
            "categories": row["categories"],
            "streams": row["streams"],
            "plan_id": row["plan_id"],
            **self.scope.store_filters(),
        }


async def eyes_of(pool: asyncpg.Pool[Any], row: asyncpg.Record) -> Eyes:
    owner = await actor_of(pool, row["owner_user_id"])
    return Eyes(owner, await feed_scope(pool, owner, list(row["units"])))


async def lag(store: EventStore, row: asyncpg.Record) -> Lag | None:
    """What the owner would still receive; None when the cursor is from another epoch."""
    eyes = await eyes_of(store.pool, row)
    if eyes.blind:
        return Lag(0, None)
    try:
        pending, oldest = await store.backlog(after=row["cursor"], cap=LAG_CAP, **eyes.filters(row))
    except CursorFromAnotherEpoch:
        return None
    return Lag(pending, oldest)


_measured_at = float("-inf")


async def measure(store: EventStore, *, force: bool = False) -> None:
    """Refresh the subscription gauges (at most every MEASURE_EVERY seconds)."""
    global _measured_at
    if not force and time.monotonic() - _measured_at < MEASURE_EVERY:
        return
    _measured_at = time.monotonic()
    counts = await subscription_rows.counts_by_status(store.pool)
    for status in ("active", "paused", "parked"):
        SUBSCRIPTIONS.labels(status).set(counts.get(status, 0))
    most_events, oldest = 0, None
    for row in await subscription_rows.active(store.pool, limit=1000):
        behind = await lag(store, row)
        if behind is None:
            continue
        most_events = max(most_events, behind.events)
        if behind.oldest_at is not None and (oldest is None or behind.oldest_at < oldest):
            oldest = behind.oldest_at
    LAG_EVENTS.set(most_events)
    now = await subscription_rows.database_now(store.pool)
    LAG_SECONDS.set((now - oldest).total_seconds() if oldest is not None else 0)
