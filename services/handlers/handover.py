"""A merged, split or dissolved unit hands its open tasks to its successor, in the same append
as the unit's own event."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from uuid import UUID

from services.domain import assignment as assignment_decider
from services.domain import refusal_codes as codes
from services.domain.assignment import Assignment, Reassign
from services.domain.refusal import Refused
from services.domain.unit import Unit
from services.handlers import deadlines
from services.handlers.command_path import Outcome, Session
from services.handlers.streams import load_task, task_stream, task_tags


async def open_tasks_led_by(session: Session, unit_id: UUID) -> list[Assignment]:
    """The open tasks whose lead is `unit_id`, each stream's version asserted by the append."""
    streams = await session.store.streams_concerning(
        unit_id, category="assignment", types=["AssignmentIssued", "AssignmentReassigned"]
    )
    candidates = sorted(UUID(stream.removeprefix("assignment-")) for stream in streams)
    found = []
    for task_id in dict.fromkeys(candidates):
        task = await load_task(session, task_id)
        if task.open and task.lead_unit_id == unit_id:
            found.append(task)
    return found


async def hand_over(
    session: Session,
    outcome: Outcome,
    unit_id: UUID,
    successor_of: Callable[[UUID], UUID | None],
    successors: dict[UUID, Unit],
    reason: str,
    now: datetime,
) -> None:
    for task in await open_tasks_led_by(session, unit_id):
        to = successor_of(task.id)
        if to is None:
            raise Refused(
                codes.OPEN_TASKS_NEED_SUCCESSOR,
                f"unit {unit_id} leads open tasks: name a successor to take them",
                assignment_id=str(task.id),
            )
        decision = assignment_decider.decide(
            Reassign(task.id, to, reason, now), task, assignment_decider.Context(units=successors)
        )
        after = assignment_decider.evolve(task, decision.events[0])
        outcome.add(task_stream(task.id), decision, **task_tags(after, before=task))
        await deadlines.reschedule(session, outcome, after, now=now, cause="reassigned")
