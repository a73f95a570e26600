"""The streams of each category and what every handler needs of them: the stream's name, its
state loaded through the session (folded by the category's decider, its version asserted by
the append), and the units (tags) its events concern. Handlers share this module instead of
importing one another to load a stream.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any, TypeVar
from uuid import UUID

from events.catalog import Event
from services.domain import assignment as assignment_decider
from services.domain import model as model_decider
from services.domain import plan as plan_decider
from services.domain import subscription as subscription_decider
from services.domain import unit as unit_decider
from services.domain import user as user_decider
from services.handlers.command_path import Session

S = TypeVar("S")

MAX_DEPTH = 64
"""The deepest organisation tree a lineage walks (a cycle in bad data stops it sooner)."""


def unit_stream(unit_id: UUID) -> str:
    return f"unit-{unit_id}"


USER_STREAMS = "user-"
"""What every user's stream id starts with."""


def user_stream(user_id: UUID) -> str:
    return f"{USER_STREAMS}{user_id}"


def plan_stream(plan_id: UUID) -> str:
    return f"plan-{plan_id}"


def task_stream(assignment_id: UUID) -> str:
    return f"assignment-{assignment_id}"


def model_stream(model_id: UUID) -> str:
    return f"model-{model_id}"


def subscription_stream(subscription_id: UUID) -> str:
    return f"subscription-{subscription_id}"


async def load_unit(session: Session, unit_id: UUID) -> unit_decider.Unit:
    return await session.load(
        unit_stream(unit_id), unit_decider.evolve, unit_decider.initial(unit_id)
    )


async def _load_many(
    session: Session,
    ids: Iterable[UUID],
    stream_of: Callable[[UUID], str],
    evolve: Callable[[S, Event], S],
    initial: Callable[[UUID], S],
) -> dict[UUID, S]:
    """Several streams of one kind in one read, by the ids they are named after."""
    by_stream = {stream_of(id_): id_ for id_ in ids}
    states = await session.load_many(list(by_stream), evolve, lambda s: initial(by_stream[s]))
    return dict(zip(by_stream.values(), states, strict=True))


async def load_units(session: Session, unit_ids: Iterable[UUID]) -> dict[UUID, unit_decider.Unit]:
    return await _load_many(
        session, unit_ids, unit_stream, unit_decider.evolve, unit_decider.initial
    )


async def lineage(session: Session, start_id: UUID) -> list[unit_decider.Unit]:
    """The unit `start_id` and its ancestors up to the root, each stream's version asserted."""
    chain: list[unit_decider.Unit] = []
    current: UUID | None = start_id
    while current is not None and len(chain) < MAX_DEPTH:
        found = await load_unit(session, current)
        chain.append(found)
        if any(u.id == found.parent_id for u in chain):
            break
        current = found.parent_id
    return chain


async def load_user(session: Session, user_id: UUID) -> user_decider.User:
    return await session.load(
        user_stream(user_id), user_decider.evolve, user_decider.initial(user_id)
    )


async def load_plan(session: Session, plan_id: UUID) -> plan_decider.Plan:
    return await session.load(
        plan_stream(plan_id), plan_decider.evolve, plan_decider.initial(plan_id)
    )


async def load_task(session: Session, assignment_id: UUID) -> assignment_decider.Assignment:
    return await session.load(
        task_stream(assignment_id),
        assignment_decider.evolve,
        assignment_decider.initial(assignment_id),
    )


async def load_tasks(
    session: Session, assignment_ids: Iterable[UUID]
) -> dict[UUID, assignment_decider.Assignment]:
    return await _load_many(
        session, assignment_ids, task_stream, assignment_decider.evolve, assignment_decider.initial
    )


async def load_model(session: Session, model_id: UUID) -> model_decider.Model:
    return await session.load(
        model_stream(model_id), model_decider.evolve, model_decider.initial(model_id)
    )


async def load_subscription(
    session: Session, subscription_id: UUID
) -> subscription_decider.Subscription:
    return await session.load(
        subscription_stream(subscription_id),
        subscription_decider.evolve,
        subscription_decider.initial(subscription_id),
    )


def units_of(*unit_ids: UUID | None) -> list[UUID]:
    """The units named, once each, in order."""
    return [u for u in dict.fromkeys(unit_ids) if u is not None]


def task_tags(
    task: assignment_decider.Assignment, *, before: assignment_decider.Assignment | None = None
) -> dict[str, Any]:
    """The tags of a task's events, whichever command appends them: the task's plan, and the
    units it concerns after the events (lead, coordinators, report-to, issuer), plus the lead
    it had before them when the events moved it elsewhere (a reassignment, a merge's hand-over)."""
    previous = before.lead_unit_id if before is not None else None
    return {
        "plan_id": task.plan_id,
        "units": units_of(
            task.lead_unit_id,
            *task.coordinating_unit_ids,
            task.report_to_unit_id,
            task.issuer_unit_id,
            previous,
        ),
    }


def plan_tags(state: plan_decider.Plan, *more: UUID | None) -> dict[str, Any]:
    """Plan events concern the issuer and the recipients (and whatever else they name)."""
    return {
        "plan_id": state.id,
        "units": units_of(state.issuer_unit_id, *(r.unit_id for r in state.recipients), *more),
    }
