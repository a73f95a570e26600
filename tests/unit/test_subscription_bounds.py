"""Webhook subscriptions at their bounds: the secret's length, what each refusal says, the
filter kept without repeats, a pause's reason and a long parking reason cut at 1,000."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest

from events.domain import catalog
from events.subscriptions import SubscriptionFilter, SubscriptionParked, SubscriptionPaused
from services.domain import subscription as subs
from services.domain.refusal import Refused

ID, OWNER, PLAN, UNIT = (uuid.uuid4() for _ in range(4))
KNOWN = subs.Context(known_types=catalog.type_names())
NOW = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)


def create(secret: str = "s" * 16, **filters: object) -> subs.CreateSubscription:
    return subs.CreateSubscription(
        ID,
        OWNER,
        "Ban Dân vận",
        "https://hooks.bdv.gov.vn/c",
        secret,
        SubscriptionFilter(**filters),
        None,
        NOW,  # type: ignore[arg-type]
    )


def refused(command: subs.SubscriptionCommand, state: subs.Subscription) -> Refused:
    with pytest.raises(Refused) as refusal:
        subs.decide(command, state, KNOWN)
    return refusal.value


ACTIVE = subs.evolve(
    subs.Subscription(ID), subs.decide(create(), subs.Subscription(ID), KNOWN).events[0]
)


def test_a_signing_secret_has_16_to_200_characters() -> None:
    for secret in ("s" * 16, "s" * 200):
        assert subs.decide(create(secret), subs.Subscription(ID), KNOWN).events
    for secret in ("s" * 15, "s" * 201):
        refusal = refused(create(secret), subs.Subscription(ID))
        assert (refusal.code, refusal.detail) == (
            "invalid-secret",
            "a signing secret has 16 to 200 characters",
        )


def test_each_refusal_says_why() -> None:
    assert refused(create(), ACTIVE).detail == f"subscription {ID} exists"
    assert refused(create(types=("PlanBurned",)), subs.Subscription(ID)).detail == (
        "'PlanBurned' is not an event type"
    )
    assert refused(create(categories=("note",)), subs.Subscription(ID)).detail == (
        "'note' is not a category; use one of unit, user, plan, assignment, model, subscription"
    )
    pause = subs.PauseSubscription(ID, None, NOW)
    assert refused(pause, subs.Subscription(ID)).detail == f"subscription {ID} does not exist"


def test_a_filter_is_kept_without_repeats_in_the_order_given() -> None:
    command = create(
        types=("PlanIssued", "PlanDrafted", "PlanIssued"),
        categories=("plan", "unit", "plan"),
        streams=("plan-1", "plan-1"),
        plan_id=PLAN,
        units=(UNIT, UNIT),
    )
    (created,) = subs.decide(command, subs.Subscription(ID), KNOWN).events
    assert created.filter == SubscriptionFilter(  # type: ignore[attr-defined]
        types=("PlanIssued", "PlanDrafted"),
        categories=("plan", "unit"),
        streams=("plan-1",),
        plan_id=PLAN,
        units=(UNIT,),
    )


def test_a_pause_keeps_its_cleaned_reason_and_none_when_none_is_given() -> None:
    (paused,) = subs.decide(subs.PauseSubscription(ID, "  bảo trì  ", NOW), ACTIVE, KNOWN).events
    assert paused == SubscriptionPaused(subscription_id=ID, reason="bảo trì", effective_at=NOW)
    (bare,) = subs.decide(subs.PauseSubscription(ID, None, NOW), ACTIVE, KNOWN).events
    assert isinstance(bare, SubscriptionPaused) and bare.reason is None


def test_parking_keeps_the_first_1000_characters_of_the_reason() -> None:
    park = subs.ParkSubscription(ID, 10, "x" * 1001, "cursor-9", NOW)
    (parked,) = subs.decide(park, ACTIVE, KNOWN).events
    assert parked == SubscriptionParked(
        subscription_id=ID, failures=10, reason="x" * 1000, cursor="cursor-9", effective_at=NOW
    )


def test_a_created_subscription_belongs_to_its_creator() -> None:
    # The handlers let only the owner (or an admin) pause, resume or reset it.
    assert (ACTIVE.status, ACTIVE.owner_user_id) == ("active", OWNER)
    paused = subs.evolve(
        ACTIVE, SubscriptionPaused(subscription_id=ID, reason=None, effective_at=NOW)
    )
    assert (paused.status, paused.owner_user_id) == ("paused", OWNER)
