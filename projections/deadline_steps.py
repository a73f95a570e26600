"""The deadline steps table (an inline read model): every scheduled step and where it stands,
kept from the task streams in the transaction of the command that appends to them.

A step's status follows from the events alone (so a rebuild gives the same table): `pending`;
`done` when its reminder, miss or escalation is recorded; `skipped`, a reminder already past
when scheduled; `superseded` by a newer schedule; `void` when the task closed before it (a
reminder: closed at all) or when it aims at no unit.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

import asyncpg

from events.assignments import AssignmentCompleted, AssignmentWithdrawn
from events.catalog import Event
from events.deadlines import DeadlineMissed, DeadlineScheduled, EscalationRaised, ReminderSent
from events.store import DbConnection
from projections.change import Change
from projections.rows import values_of
from services.domain.deadlines import sends

EVENTS = (
    DeadlineScheduled,
    ReminderSent,
    DeadlineMissed,
    EscalationRaised,
    AssignmentCompleted,
    AssignmentWithdrawn,
)


def status_when_scheduled(step: Any, scheduled: DeadlineScheduled) -> str:
    if not sends(step, scheduled):
        return "skipped"
    if step.action == "escalate" and step.unit_id is None:
        return "void"
    return "pending"


@dataclass(frozen=True)
class StepRow:
    assignment_id: UUID
    schedule_version: int
    step: str
    action: str
    unit_id: UUID | None
    at: datetime
    status: str


@dataclass(frozen=True)
class Scheduled:
    """A new schedule: the task's pending steps are superseded, these rows are added. A
    task's first schedule (`first`) has no steps before it to supersede."""

    assignment_id: UUID
    rows: tuple[StepRow, ...]
    first: bool = False


@dataclass(frozen=True)
class Done:
    assignment_id: UUID
    schedule_version: int
    step: str


@dataclass(frozen=True)
class Closed:
    """The task closed at `at`: its pending reminders, and its other steps from then, are void."""

    assignment_id: UUID
    at: datetime


StepChange = Scheduled | Done | Closed


def apply(event: Event) -> StepChange | None:
    """What an event changes in the table (pure): the fold the writer carries out."""
    match event:
        case DeadlineScheduled():
            return Scheduled(
                event.assignment_id,
                tuple(
                    StepRow(
                        event.assignment_id,
                        event.schedule_version,
                        s.step,
                        s.action,
                        s.unit_id,
                        s.at,
                        status_when_scheduled(s, event),
                    )
                    for s in event.steps
                ),
                first=event.schedule_version == 1,
            )
        case ReminderSent() | EscalationRaised():
            return Done(event.assignment_id, event.schedule_version, event.step)
        case DeadlineMissed():
            return Done(event.assignment_id, event.schedule_version, "0")
        case AssignmentCompleted():
            return Closed(event.assignment_id, event.completed_at)
        case AssignmentWithdrawn():
            return Closed(event.assignment_id, event.effective_at)
    return None


async def write(connection: DbConnection, changes: Sequence[Change]) -> None:
    """Carry out the changes in order; a run of new schedules for distinct tasks (an item
    issued to many leads) in two statements, whatever its length."""
    run: dict[UUID, Scheduled] = {}
    for change in changes:
        step_change = apply(change.event)
        if step_change is None:
            continue
        if isinstance(step_change, Scheduled) and step_change.assignment_id not in run:
            run[step_change.assignment_id] = step_change
            continue
        await _schedule(connection, list(run.values()))
        run = {}
        if isinstance(step_change, Scheduled):
            run[step_change.assignment_id] = step_change
        else:
            await _carry_out(connection, step_change)
    await _schedule(connection, list(run.values()))


async def _schedule(connection: DbConnection, run: Sequence[Scheduled]) -> None:
    """New schedules of distinct tasks: each task's pending steps superseded, its new ones in."""
    if not run:
        return
    # Joined with the ids, not `= ANY($1)`: a generic plan for ANY took the index of every
    # pending step (growing with the store) and cost 265 ms an item at 30,000 tasks.
    replaced = [change.assignment_id for change in run if not change.first]
    if replaced:
        await connection.execute(
            "UPDATE deadline_steps d SET status = 'superseded' "
            "FROM unnest($1::uuid[]) AS t(assignment_id) "
            "WHERE d.assignment_id = t.assignment_id AND d.status = 'pending'",
            replaced,
        )
    rows = [values_of(row) for change in run for row in change.rows]
    if rows:
        await connection.executemany(
            "INSERT INTO deadline_steps (assignment_id, schedule_version, step, action, "
            "unit_id, at, status) VALUES ($1, $2, $3, $4, $5, $6, $7) "
            "ON CONFLICT DO NOTHING",
            rows,
        )


async def _carry_out(connection: DbConnection, change: StepChange) -> None:
    match change:
        case Done():
            await connection.execute(
                "UPDATE deadline_steps SET status = 'done' "
                "WHERE assignment_id = $1 AND schedule_version = $2 AND step = $3",
                change.assignment_id,
                change.schedule_version,
                change.step,
            )
        case Closed():
            await connection.execute(
                "UPDATE deadline_steps SET status = 'void' WHERE assignment_id = $1 "
                "AND status = 'pending' AND (action = 'remind' OR at >= $2)",
                change.assignment_id,
                change.at,
            )


async def pending(
    pool: asyncpg.Pool[Any], until: datetime, limit: int, since: datetime | None = None
) -> list[asyncpg.Record]:
    """Pending steps due by `until` (and not before `since`), earliest first."""
    return await pool.fetch(
        "SELECT assignment_id, schedule_version, step, at FROM deadline_steps "
        "WHERE status = 'pending' AND at <= $1 AND ($3::timestamptz IS NULL OR at >= $3) "
        "ORDER BY at LIMIT $2",
        until,
        limit,
        since,
    )
