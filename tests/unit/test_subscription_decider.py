"""The subscription decider (create, pause, resume, reset, park) and what a delivery attempt
leads to (advance, retry after a jittered backoff, park)."""

from __future__ import annotations

import functools
import uuid
from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from events.domain import catalog
from events.subscriptions import (
    SubscriptionCreated,
    SubscriptionFilter,
    SubscriptionParked,
    SubscriptionPaused,
    SubscriptionReset,
    SubscriptionResumed,
)
from services.domain import subscription as subs
from services.domain.delivery import (
    Advance,
    Delivered,
    Failed,
    Park,
    RetryLater,
    RetryPolicy,
    after_attempt,
    backoff,
)
from services.domain.refusal import Refused

ID, OWNER = uuid.uuid4(), uuid.uuid4()
KNOWN = subs.Context(known_types=catalog.type_names())
NOW = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)
SECRET = "0123456789abcdef-secret"


def create(**changes: object) -> subs.CreateSubscription:
    fields: dict[str, object] = {
        "subscription_id": ID,
        "owner_user_id": OWNER,
        "name": "  Ban   Dân vận  ",
        "url": "https://hooks.bdv.gov.vn/campaign",
        "secret": SECRET,
        "filter": SubscriptionFilter(types=("PlanIssued", "PlanIssued"), categories=("plan",)),
        "start_after": None,
        "now": NOW,
    }
    fields.update(changes)
    return subs.CreateSubscription(**fields)  # type: ignore[arg-type]


def state_after(*commands: subs.SubscriptionCommand) -> subs.Subscription:
    state = subs.Subscription(ID)
    for command in commands:
        state = functools.reduce(subs.evolve, subs.decide(command, state, KNOWN).events, state)
    return state


def test_creating_records_the_configuration_and_a_fingerprint_never_the_secret() -> None:
    (event,) = subs.decide(create(), subs.Subscription(ID), KNOWN).events
    assert event == SubscriptionCreated(
        subscription_id=ID,
        owner_user_id=OWNER,
        name="Ban Dân vận",
        url="https://hooks.bdv.gov.vn/campaign",
        filter=SubscriptionFilter(types=("PlanIssued",), categories=("plan",)),
        secret_fingerprint=subs.fingerprint(SECRET),
        start_after=None,
        effective_at=NOW,
    )
    assert SECRET not in repr(event)


@pytest.mark.parametrize(
    ("command", "code"),
    [
        (create(secret="short"), "invalid-secret"),
        (create(filter=SubscriptionFilter(types=("PlanBurned",))), "unknown-event-type"),
        (create(filter=SubscriptionFilter(categories=("note",))), "unknown-category"),
        (create(name="   "), "invalid-name"),
        (subs.PauseSubscription(ID, None, NOW), "unknown-subscription"),
        (subs.ResumeSubscription(ID, NOW), "unknown-subscription"),
        (subs.ResetSubscription(ID, None, NOW), "unknown-subscription"),
    ],
)
def test_bad_commands_are_refused(command: subs.SubscriptionCommand, code: str) -> None:
    with pytest.raises(Refused) as refused:
        subs.decide(command, subs.Subscription(ID), KNOWN)
    assert refused.value.code == code


def test_the_event_types_a_filter_may_name_are_given_not_looked_up() -> None:
    only_plans = subs.Context(known_types=frozenset({"PlanIssued"}))
    (event,) = subs.decide(create(), subs.initial(ID), only_plans).events
    assert isinstance(event, SubscriptionCreated)
    nothing_known = subs.Context(known_types=frozenset())
    with pytest.raises(Refused) as refused:
        subs.decide(create(), subs.initial(ID), nothing_known)
    assert refused.value.code == "unknown-event-type"


def test_a_subscription_is_created_once() -> None:
    with pytest.raises(Refused) as refused:
        subs.decide(create(), state_after(create()), KNOWN)
    assert refused.value.code == "subscription-exists"


def test_pause_resume_reset_and_park() -> None:
    active = state_after(create())
    assert subs.decide(subs.PauseSubscription(ID, "bảo trì", NOW), active, KNOWN).events == [
        SubscriptionPaused(subscription_id=ID, reason="bảo trì", effective_at=NOW)
    ]
    paused = state_after(create(), subs.PauseSubscription(ID, None, NOW))
    assert subs.decide(subs.PauseSubscription(ID, None, NOW), paused, KNOWN).events == []
    assert subs.decide(subs.ResumeSubscription(ID, NOW), paused, KNOWN).events == [
        SubscriptionResumed(subscription_id=ID, from_parked=False, effective_at=NOW)
    ]
    assert subs.decide(subs.ResumeSubscription(ID, NOW), active, KNOWN).events == []
    park = subs.ParkSubscription(ID, 10, "answered 500", "cursor-1", NOW)
    assert subs.decide(park, active, KNOWN).events == [
        SubscriptionParked(
            subscription_id=ID,
            failures=10,
            reason="answered 500",
            cursor="cursor-1",
            effective_at=NOW,
        )
    ]
    assert subs.decide(park, paused, KNOWN).events == []  # the owner's pause stays in force
    parked = state_after(create(), park)
    assert subs.decide(subs.ResumeSubscription(ID, NOW), parked, KNOWN).events == [
        SubscriptionResumed(subscription_id=ID, from_parked=True, effective_at=NOW)
    ]
    assert subs.decide(subs.ResetSubscription(ID, "cursor-2", NOW), parked, KNOWN).events == [
        SubscriptionReset(subscription_id=ID, after="cursor-2", effective_at=NOW)
    ]


@given(
    st.lists(
        st.sampled_from(["pause", "resume", "reset", "park"]),
        max_size=30,
    )
)
def test_the_status_follows_the_last_pause_resume_or_park(actions: list[str]) -> None:
    commands: dict[str, subs.SubscriptionCommand] = {
        "pause": subs.PauseSubscription(ID, None, NOW),
        "resume": subs.ResumeSubscription(ID, NOW),
        "reset": subs.ResetSubscription(ID, None, NOW),
        "park": subs.ParkSubscription(ID, 3, "down", None, NOW),
    }
    state = state_after(create())
    expected = "active"
    for action in actions:
        events = subs.decide(commands[action], state, KNOWN).events
        before = state.status
        state = functools.reduce(subs.evolve, events, state)
        if action == "pause":
            expected = "paused"
        elif action == "resume":
            expected = "active"
        elif action == "park" and before == "active":
            expected = "parked"
        assert state.status == expected
        # Nothing is recorded for what changes nothing.
        if action != "reset":
            assert bool(events) == (before != state.status)


POLICY = RetryPolicy(base_seconds=2.0, max_seconds=600.0, max_failures=5)


def test_a_2xx_moves_the_cursor_and_failures_back_off_then_park() -> None:
    assert after_attempt(POLICY, 3, Delivered("c9", 7), 0.5) == Advance("c9", 7)
    assert after_attempt(POLICY, 0, Failed("answered 500"), 0.0) == RetryLater(
        1, 2.0, "answered 500"
    )
    assert after_attempt(POLICY, 2, Failed("answered 500"), 0.0) == RetryLater(
        3, 8.0, "answered 500"
    )
    assert after_attempt(POLICY, 4, Failed("answered 500"), 0.0) == Park(5, "answered 500")
    refused = Failed("target refused", curable=False)
    assert after_attempt(POLICY, 0, refused, 0.0) == Park(1, "target refused")


@given(st.integers(1, 200), st.floats(0, 1, exclude_max=True))
def test_backoff_doubles_up_to_its_cap_with_at_most_half_taken_off(
    failures: int, jitter: float
) -> None:
    ceiling = min(POLICY.max_seconds, POLICY.base_seconds * 2 ** (failures - 1))
    delay = backoff(POLICY, failures, jitter)
    assert ceiling / 2 <= delay <= ceiling
    assert backoff(POLICY, failures, 0.0) == ceiling
    assert backoff(POLICY, failures + 1, 0.0) >= backoff(POLICY, failures, 0.0)
