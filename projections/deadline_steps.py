"""The deadline steps table (an inline read model): every scheduled step and where it stands,
kept from the task streams in the transaction of the command that appends to them.

A step's status follows from the events alone (so a rebuild gives the same table): `pending`;
`done` when its reminder, miss or escalation is recorded; `skipped`, a reminder already past
when scheduled; `superseded` by a newer schedule; `void` when the task closed before it (a
reminder: closed at all) or when it aims at no unit.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import asyncpg

from events.assignments import AssignmentCompleted, AssignmentWithdrawn
from events.catalog import Event
from events.deadlines import DeadlineMissed, DeadlineScheduled, EscalationRaised, ReminderSent
from events.store import DbConnection
from projections.change import Change
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


async def write(connection: DbConnection, changes: Sequence[Change]) -> None:
    for change in changes:
        await _write(connection, change.event)


async def _write(connection: DbConnection, event: Event) -> None:
    match event:
        case DeadlineScheduled():
            await connection.execute(
                "UPDATE deadline_steps SET status = 'superseded' "
                "WHERE assignment_id = $1 AND status = 'pending'",
                event.assignment_id,
            )
            await connection.executemany(
                "INSERT INTO deadline_steps (assignment_id, schedule_version, step, action, "
                "unit_id, at, status) VALUES ($1, $2, $3, $4, $5, $6, $7) "
                "ON CONFLICT DO NOTHING",
                [
                    (
                        event.assignment_id,
                        event.schedule_version,
                        s.step,
                        s.action,
                        s.unit_id,
                        s.at,
                        status_when_scheduled(s, event),
                    )
                    for s in event.steps
                ],
            )
        case ReminderSent() | EscalationRaised() | DeadlineMissed():
            await connection.execute(
                "UPDATE deadline_steps SET status = 'done' "
                "WHERE assignment_id = $1 AND schedule_version = $2 AND step = $3",
                event.assignment_id,
                event.schedule_version,
                "0" if isinstance(event, DeadlineMissed) else event.step,
            )
        case AssignmentCompleted() | AssignmentWithdrawn():
            closed: datetime = (
                event.completed_at if isinstance(event, AssignmentCompleted) else event.effective_at
            )
            await connection.execute(
                "UPDATE deadline_steps SET status = 'void' WHERE assignment_id = $1 "
                "AND status = 'pending' AND (action = 'remind' OR at >= $2)",
                event.assignment_id,
                closed,
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
