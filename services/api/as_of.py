"""As of an instant: a plan and its tasks folded from the campaign's events recorded by then.

The instant resolves to the feed position of the last event recorded by then; the plan's
events (by their `plan_id` tag) up to that position are folded with the projections' own apply
functions, so the answer is what the projector had built when it had applied exactly those.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

from events.cursor import Cursor
from events.envelope import RecordedEvent
from events.store import EventStore
from projections import plan_view, task_facts, valid_time
from projections.task_facts import TaskFact
from services.api.dependencies import Pool
from services.api.plans import readable_plan
from services.api.problems import Problem
from services.handlers import plans
from services.handlers.auth import Actor
from services.handlers.reach import may_read


@dataclass(frozen=True)
class PlanAsOf:
    view: plan_view.PlanView
    facts: list[TaskFact]
    instant: datetime
    cursor: str | None
    valid_at: datetime | None = None
    events: Sequence[RecordedEvent] = ()
    """The campaign's events recorded by `instant`, which the view was folded from."""

    def stamp(self) -> dict[str, Any]:
        return {"instant": self.instant.isoformat(), "cursor": self.cursor}

    @property
    def judged_at(self) -> datetime:
        """The instant overdue is judged against: the valid time when asked, else as of."""
        return self.valid_at or self.instant


async def plan_as_of(
    store: EventStore, pool: Pool, actor: Actor, now: datetime, plan_id: UUID, instant: datetime
) -> PlanAsOf:
    """The plan as it stood at `instant`, for a reader who may read it now and could then."""
    await readable_plan(store, pool, actor, plan_id)
    if instant > now:
        raise Problem(
            422, "future-instant", "Instant in the future", f"as_of {instant} has not come yet"
        )
    position = await store.position_at(instant)
    events = await store.plan_events_through(plan_id, position) if position else []
    view = plan_view.fold(plan_id, events)
    # A plan issued since was a draft then: its issuer's alone; to others it was not there.
    if view is None or not await may_read(pool, actor, plans.readers(view.plan)):
        raise Problem(
            404,
            "unknown-plan-then",
            "No such plan then",
            f"plan {plan_id} had no event by {instant}",
        )
    cursor = Cursor(await store.epoch(), *position).encode() if position else None
    return PlanAsOf(view, list(task_facts.fold(events).values()), instant, cursor, events=events)


async def plan_then(
    store: EventStore,
    pool: Pool,
    actor: Actor,
    now: datetime,
    plan_id: UUID,
    as_of: datetime | None,
    valid_at: datetime | None,
) -> PlanAsOf:
    """The plan as recorded by `as_of` (now when None) and, with `valid_at`, as it was in
    effect at that instant: its events and its tasks' cut where they had not yet taken effect.
    A plan with nothing in effect then (not yet issued) is 404 `not-in-effect-then`."""
    then = await plan_as_of(store, pool, actor, now, plan_id, as_of or now)
    if valid_at is None:
        return then
    effective = valid_time.in_effect(then.events, valid_at)
    own = [e for e in effective if e.stream_id == f"plan-{plan_id}"]
    view = plan_view.fold(plan_id, own)
    if view is None or not valid_time.has_timed(own) or view.plan.status == "draft":
        raise Problem(
            404,
            "not-in-effect-then",
            "Not in effect then",
            f"plan {plan_id} had not taken effect by {valid_at.isoformat()}",
        )
    facts = list(task_facts.fold(effective).values())
    return PlanAsOf(view, facts, then.instant, then.cursor, valid_at, effective)
