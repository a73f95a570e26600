"""As of an instant: a plan and its tasks folded from the campaign's events recorded by then.

The instant resolves to the feed position of the last event recorded by then; the plan's
events (by their `plan_id` tag) up to that position are folded with the projections' own apply
functions, so the answer is what the projector had built when it had applied exactly those.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

from events.cursor import Cursor
from events.store import EventStore
from projections import plan_view, task_facts
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

    def stamp(self) -> dict[str, Any]:
        return {"instant": self.instant.isoformat(), "cursor": self.cursor}


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
    return PlanAsOf(view, list(task_facts.fold(events).values()), instant, cursor)
