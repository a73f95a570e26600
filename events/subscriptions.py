"""Events of webhook subscriptions, on the subscription's stream: how it is configured and
what its owner or the delivery worker did to it. The secret is never in an event (only a
fingerprint); the delivery cursor and attempt state live in the `subscriptions` table.
"""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

import msgspec

from events.catalog import Event, catalog


class SubscriptionFilter(msgspec.Struct, frozen=True, kw_only=True):
    """As the feed's: filters combine with AND, values of one filter with OR."""

    types: tuple[str, ...] = ()
    categories: tuple[str, ...] = ()
    streams: tuple[str, ...] = ()
    plan_id: UUID | None = None
    units: tuple[UUID, ...] = ()


@catalog.register()
class SubscriptionCreated(Event, frozen=True, kw_only=True):
    subscription_id: UUID
    owner_user_id: UUID
    name: str
    url: str
    filter: SubscriptionFilter
    secret_fingerprint: str
    """The first 16 hex digits of sha256(secret): which secret signs, never the secret."""
    start_after: str | None
    """The feed cursor delivery starts after; None for the beginning of the feed."""
    effective_at: datetime


@catalog.register()
class SubscriptionPaused(Event, frozen=True, kw_only=True):
    subscription_id: UUID
    reason: str | None
    effective_at: datetime


@catalog.register()
class SubscriptionResumed(Event, frozen=True, kw_only=True):
    subscription_id: UUID
    from_parked: bool
    effective_at: datetime


@catalog.register()
class SubscriptionReset(Event, frozen=True, kw_only=True):
    subscription_id: UUID
    after: str | None
    """The feed cursor delivery continues after; None for the beginning of the feed."""
    effective_at: datetime


@catalog.register()
class SubscriptionParked(Event, frozen=True, kw_only=True):
    """Delivery stopped after repeated failures (or a failure retrying cannot cure)."""

    subscription_id: UUID
    failures: int
    reason: str
    cursor: str | None
    """Delivered through this cursor; resuming continues after it."""
    effective_at: datetime
