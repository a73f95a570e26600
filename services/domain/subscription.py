"""Webhook subscriptions: created by a reader, paused, resumed and reset by its owner (or an
admin), parked by the delivery worker after repeated failures.

Pausing what is paused or resuming what is active records nothing: scripts may repeat them.
"""

from __future__ import annotations

import hashlib
from collections.abc import Set as AbstractSet
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Literal
from uuid import UUID

from events.catalog import Event
from events.subscriptions import (
    SubscriptionCreated,
    SubscriptionFilter,
    SubscriptionParked,
    SubscriptionPaused,
    SubscriptionReset,
    SubscriptionResumed,
)
from services.domain import refusal_codes as codes
from services.domain.refusal import Decision, Refused
from services.domain.rules import text

Status = Literal["unknown", "active", "paused", "parked"]
CATEGORIES = ("unit", "user", "plan", "assignment", "model", "subscription")
MIN_SECRET_LENGTH = 16


@dataclass(frozen=True)
class Subscription:
    id: UUID
    status: Status = "unknown"
    owner_user_id: UUID | None = None


def initial(subscription_id: UUID) -> Subscription:
    """A subscription before any event: unknown."""
    return Subscription(subscription_id)


def evolve(state: Subscription, event: Event) -> Subscription:
    match event:
        case SubscriptionCreated():
            return Subscription(event.subscription_id, "active", event.owner_user_id)
        case SubscriptionPaused():
            return replace(state, status="paused")
        case SubscriptionResumed():
            return replace(state, status="active")
        case SubscriptionParked():
            return replace(state, status="parked")
    return state


@dataclass(frozen=True)
class CreateSubscription:
    subscription_id: UUID
    owner_user_id: UUID
    name: str
    url: str
    """Already checked against the operator's allow-list by the shell (it needs DNS)."""
    secret: str
    filter: SubscriptionFilter
    start_after: str | None
    now: datetime


@dataclass(frozen=True)
class PauseSubscription:
    subscription_id: UUID
    reason: str | None
    now: datetime


@dataclass(frozen=True)
class ResumeSubscription:
    subscription_id: UUID
    now: datetime


@dataclass(frozen=True)
class ResetSubscription:
    subscription_id: UUID
    after: str | None
    now: datetime


@dataclass(frozen=True)
class ParkSubscription:
    subscription_id: UUID
    failures: int
    reason: str
    cursor: str | None
    now: datetime


SubscriptionCommand = (
    CreateSubscription
    | PauseSubscription
    | ResumeSubscription
    | ResetSubscription
    | ParkSubscription
)


@dataclass(frozen=True)
class Context:
    """What a subscription decision needs to know, given by the shell: the names of the event
    types a filter may name (the catalogue's, so the answer never depends on what was imported)."""

    known_types: AbstractSet[str] = frozenset()


def fingerprint(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()[:16]


def _checked_filter(given: SubscriptionFilter, known_types: AbstractSet[str]) -> SubscriptionFilter:
    for name in given.types:
        if name not in known_types:
            raise Refused(codes.UNKNOWN_EVENT_TYPE, f"{name!r} is not an event type")
    for category in given.categories:
        if category not in CATEGORIES:
            raise Refused(
                codes.UNKNOWN_CATEGORY,
                f"{category!r} is not a category; use one of {', '.join(CATEGORIES)}",
            )
    return SubscriptionFilter(
        types=tuple(dict.fromkeys(given.types)),
        categories=tuple(dict.fromkeys(given.categories)),
        streams=tuple(dict.fromkeys(given.streams)),
        plan_id=given.plan_id,
        units=tuple(dict.fromkeys(given.units)),
    )


def decide(command: SubscriptionCommand, state: Subscription, context: Context) -> Decision:
    """`context` is required: creating checks the filter's types against its known types."""
    if not isinstance(command, CreateSubscription) and state.status == "unknown":
        raise Refused(codes.UNKNOWN_SUBSCRIPTION, f"subscription {state.id} does not exist")
    match command:
        case CreateSubscription():
            return _create(command, state, context)
        case PauseSubscription():
            return _pause(command, state)
        case ResumeSubscription():
            return _resume(command, state)
        case ResetSubscription():
            return _reset(command, state)
        case ParkSubscription():
            return _park(command, state)


def _create(command: CreateSubscription, state: Subscription, context: Context) -> Decision:
    if state.status != "unknown":
        raise Refused(codes.SUBSCRIPTION_EXISTS, f"subscription {state.id} exists")
    if len(command.secret) < MIN_SECRET_LENGTH or len(command.secret) > 200:
        raise Refused(
            codes.INVALID_SECRET,
            f"a signing secret has {MIN_SECRET_LENGTH} to 200 characters",
        )
    return Decision(
        [
            SubscriptionCreated(
                subscription_id=command.subscription_id,
                owner_user_id=command.owner_user_id,
                name=text(command.name, codes.INVALID_NAME, 200),
                url=command.url,
                filter=_checked_filter(command.filter, context.known_types),
                secret_fingerprint=fingerprint(command.secret),
                start_after=command.start_after,
                effective_at=command.now,
            )
        ]
    )


def _pause(command: PauseSubscription, state: Subscription) -> Decision:
    if state.status == "paused":
        return Decision([])
    reason = text(command.reason, codes.INVALID_REASON, 500) if command.reason else None
    return Decision(
        [SubscriptionPaused(subscription_id=state.id, reason=reason, effective_at=command.now)]
    )


def _resume(command: ResumeSubscription, state: Subscription) -> Decision:
    if state.status == "active":
        return Decision([])
    return Decision(
        [
            SubscriptionResumed(
                subscription_id=state.id,
                from_parked=state.status == "parked",
                effective_at=command.now,
            )
        ]
    )


def _reset(command: ResetSubscription, state: Subscription) -> Decision:
    return Decision(
        [SubscriptionReset(subscription_id=state.id, after=command.after, effective_at=command.now)]
    )


def _park(command: ParkSubscription, state: Subscription) -> Decision:
    # A delivery that failed while its owner paused it leaves the pause in force.
    if state.status != "active":
        return Decision([])
    return Decision(
        [
            SubscriptionParked(
                subscription_id=state.id,
                failures=command.failures,
                reason=command.reason[:1000],
                cursor=command.cursor,
                effective_at=command.now,
            )
        ]
    )
