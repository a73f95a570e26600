"""Routes of webhook subscriptions: /subscriptions.

A subscription receives, by signed POSTs, what its owner may read of the feed, filtered as the
feed is. Its owner (or an admin) reads it, pauses, resumes (also a parked one) and resets it
to a cursor; to anyone else it does not exist.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any
from uuid import UUID

import asyncpg
import msgspec
from litestar import Response, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath, JSONBody, QueryParameter

from events.store import EventStore
from events.subscriptions import SubscriptionFilter
from projections import subscriptions as subscription_rows
from services.api.commanding import Commands, answer_response, new_id
from services.api.dependencies import Injected, Pool
from services.domain.subscription import (
    PauseSubscription,
    ResumeSubscription,
)
from services.handlers import subscriptions
from services.handlers.auth import Actor
from services.handlers.webhooks import AllowList

Position = Annotated[str, msgspec.Meta(min_length=1, max_length=200)]
"""`beginning`, `now`, or a feed cursor: delivery goes on after it."""
ShortText = Annotated[str, msgspec.Meta(min_length=1, max_length=200)]


class FilterBody(msgspec.Struct, forbid_unknown_fields=True):
    types: Annotated[list[ShortText], msgspec.Meta(max_length=50)] = []
    categories: Annotated[list[ShortText], msgspec.Meta(max_length=20)] = []
    streams: Annotated[list[ShortText], msgspec.Meta(max_length=100)] = []
    plan_id: UUID | None = None
    units: Annotated[list[UUID], msgspec.Meta(max_length=100)] = []


class CreateSubscriptionRequest(msgspec.Struct, forbid_unknown_fields=True):
    url: Annotated[str, msgspec.Meta(min_length=1, max_length=2000)]
    name: ShortText | None = None
    secret: Annotated[str, msgspec.Meta(max_length=200)] | None = None
    """At least 16 characters; left out, one is generated and shown once in the answer."""
    filter: FilterBody = msgspec.field(default_factory=FilterBody)
    start: Position = "now"
    id: UUID | None = None


class PauseRequest(msgspec.Struct, forbid_unknown_fields=True):
    reason: Annotated[str, msgspec.Meta(max_length=500)] | None = None


class ResumeRequest(msgspec.Struct, forbid_unknown_fields=True):
    pass


class ResetRequest(msgspec.Struct, forbid_unknown_fields=True):
    to: Position


class LagView(msgspec.Struct):
    events: int
    """Events waiting, counted up to 10,000."""
    oldest_at: datetime | None
    seconds: float


class SubscriptionView(msgspec.Struct):
    id: UUID
    name: str
    url: str
    owner_user_id: UUID
    filter: SubscriptionFilter
    status: str
    cursor: str | None
    delivered: int
    failures: int
    in_flight: bool
    next_attempt_at: datetime | None
    last_attempt_at: datetime | None
    last_delivered_at: datetime | None
    last_error: str | None
    parked_reason: str | None
    created_at: datetime
    version: int
    lag: LagView | None = None
    """Null in lists; null in a read when the cursor is from before a restore of the store."""


class SubscriptionList(msgspec.Struct):
    items: list[SubscriptionView]
    next: str | None = None


def _finite(moment: datetime | None) -> datetime | None:
    return None if moment is None or moment.year in (1, 9999) else moment


def _view(row: asyncpg.Record, at: datetime, lag: LagView | None = None) -> SubscriptionView:
    lease = row["lease_until"]
    return SubscriptionView(
        id=row["subscription_id"],
        name=row["name"],
        url=row["url"],
        owner_user_id=row["owner_user_id"],
        filter=SubscriptionFilter(
            types=tuple(row["types"]),
            categories=tuple(row["categories"]),
            streams=tuple(row["streams"]),
            plan_id=row["plan_id"],
            units=tuple(row["units"]),
        ),
        status=row["status"],
        cursor=row["cursor"],
        delivered=row["delivered"],
        failures=row["failures"],
        in_flight=lease is not None and lease > at,
        next_attempt_at=_finite(row["next_attempt_at"]) if row["status"] == "active" else None,
        last_attempt_at=row["last_attempt_at"],
        last_delivered_at=row["last_delivered_at"],
        last_error=row["last_error"],
        parked_reason=row["parked_reason"] if row["status"] == "parked" else None,
        created_at=row["created_at"],
        version=row["version"],
        lag=lag,
    )


@post("/subscriptions", status_code=201)
async def create_subscription(
    commands: Injected[Commands],
    targets: Injected[AllowList],
    data: JSONBody[CreateSubscriptionRequest],
) -> Response[Any]:
    """Subscribe a webhook URL (it must match the operator's allow-list) to the feed."""
    given = data.filter
    asked = subscriptions.NewSubscription(
        subscription_id=new_id(data.id),
        url=data.url,
        filter=SubscriptionFilter(
            types=tuple(given.types),
            categories=tuple(given.categories),
            streams=tuple(given.streams),
            plan_id=given.plan_id,
            units=tuple(given.units),
        ),
        start=data.start,
        now=commands.now,
        name=data.name,
        secret=data.secret,
        keyed=commands.keyed,
    )
    answer = await subscriptions.create(
        commands.store, commands.actor, asked, targets, commands.execute
    )
    return answer_response(answer)


@get("/subscriptions")
async def list_subscriptions(
    pool: Injected[Pool],
    actor: NamedDependency[Actor],
    now: Injected[datetime],
    limit: Annotated[int, QueryParameter(ge=1, le=1000)] = 200,
) -> SubscriptionList:
    """The reader's subscriptions (an admin's: everyone's), newest first."""
    rows = await subscriptions.listing(pool, actor, limit)
    return SubscriptionList([_view(row, now) for row in rows])


@get("/subscriptions/{subscription_id:uuid}")
async def read_subscription(
    store: Injected[EventStore],
    actor: NamedDependency[Actor],
    subscription_id: FromPath[UUID],
) -> SubscriptionView:
    """State, cursor, lag (what the owner would still receive) and the last error."""
    row = await subscriptions.row_of(store.pool, actor, subscription_id)
    behind = await subscriptions.lag(store, row)
    at = await subscription_rows.database_now(store.pool)
    lag = None
    if behind is not None:
        seconds = (at - behind.oldest_at).total_seconds() if behind.oldest_at else 0.0
        lag = LagView(behind.events, behind.oldest_at, max(0.0, seconds))
    return _view(row, at, lag)


@post("/subscriptions/{subscription_id:uuid}/pause")
async def pause_subscription(
    commands: Injected[Commands],
    subscription_id: FromPath[UUID],
    data: JSONBody[PauseRequest | None] = None,
) -> Response[Any]:
    """Stop delivering until resumed (a delivery in flight finishes)."""
    reason = data.reason if data is not None else None
    command = PauseSubscription(subscription_id, reason, commands.now)
    return await commands.run(subscriptions.handler(command, commands.actor))


@post("/subscriptions/{subscription_id:uuid}/resume")
async def resume_subscription(
    commands: Injected[Commands],
    subscription_id: FromPath[UUID],
    data: JSONBody[ResumeRequest | None] = None,
) -> Response[Any]:
    """Deliver again from the cursor, failures forgotten (a parked subscription too)."""
    command = ResumeSubscription(subscription_id, commands.now)
    return await commands.run(subscriptions.handler(command, commands.actor))


@post("/subscriptions/{subscription_id:uuid}/reset")
async def reset_subscription(
    commands: Injected[Commands],
    subscription_id: FromPath[UUID],
    data: JSONBody[ResetRequest],
) -> Response[Any]:
    """Deliver from another place: `beginning`, `now`, or after a cursor."""
    return await commands.run(
        await subscriptions.reset(
            commands.store, commands.actor, subscription_id, data.to, commands.now
        )
    )


ROUTES = [
    create_subscription,
    list_subscriptions,
    read_subscription,
    pause_subscription,
    resume_subscription,
    reset_subscription,
]
