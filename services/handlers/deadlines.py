"""Deadlines through the command path: a schedule recorded with the command that issues,
extends or reassigns a task, and the step handler the workers and the reconciler call.

The handler is idempotent on its own (not by arq's job ids): it re-reads the task, decides
whether the step still applies, and appends under a deterministic idempotency key, so any
number of concurrent calls for one step record exactly one event.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any, Literal
from uuid import UUID

import asyncpg

from events.store import EventStore
from projections import calendar_versions, unit_directory
from services.domain import assignment as assignment_decider
from services.domain.assignment import Assignment
from services.domain.calendar import Calendar
from services.domain.deadlines import perform, schedule
from services.domain.refusal import Decision
from services.domain.user import Grant
from services.handlers.auth import Actor
from services.handlers.command_path import Answer, CommandContext, Outcome, Session, execute
from services.handlers.streams import load_task, task_stream, task_tags

WORKER = Actor(None, (Grant("admin", None),), label="deadline-worker")
"""Who records reminders, misses and escalations: the deadline engine itself."""

_calendars: dict[str, Calendar] = {}


async def current_calendar(pool: asyncpg.Pool[Any]) -> Calendar:
    """The latest stored calendar version (each version is immutable, so cached)."""
    async with pool.acquire() as connection:
        version = await calendar_versions.latest_version(connection)
        if version not in _calendars:
            _calendars[version] = await calendar_versions.load(connection, version)
    return _calendars[version]


async def report_to_parent(pool: asyncpg.Pool[Any], task: Assignment) -> UUID | None:
    """The unit above the one the task reports to: where a missed deadline escalates."""
    if task.report_to_unit_id is None:
        return None
    return await unit_directory.parent_of(pool, task.report_to_unit_id)


async def reschedule(
    session: Session,
    outcome: Outcome,
    task: Assignment,
    *,
    now: datetime,
    cause: Literal["issued", "extended", "reassigned", "backfill", "due_set"],
    calendar: Calendar | None = None,
    parents: Mapping[UUID, UUID | None] | None = None,
) -> Assignment:
    """Add the task's new schedule to the command's writes; the task with it applied.

    A schedule made while entering history is made now, in real time: the reminders that
    were due back then are not sent (misses and escalations are still recorded once).
    A command scheduling many tasks passes the calendar and the parents of the units they
    report to (`parents_of`), read once for all."""
    pool = session.store.pool
    if session.backdated:
        now = max(now, datetime.now(UTC))  # the real time, not the recorded past
    report_to = task.report_to_unit_id
    if parents is not None and report_to is not None and report_to in parents:
        escalates_to = parents[report_to]
    else:  # read here (no read at all when the task reports to no unit)
        escalates_to = await report_to_parent(pool, task)
    events = schedule(
        task,
        calendar or await current_calendar(pool),
        now=now,
        cause=cause,
        report_to_parent=escalates_to,
    )
    if events:
        outcome.add(
            task_stream(task.id),
            Decision(list(events)),
            **task_tags(task),
        )
    for event in events:
        task = assignment_decider.evolve(task, event)
    return task


def step_key(assignment_id: UUID, schedule_version: int, step: str) -> str:
    return f"deadline:{assignment_id}:{schedule_version}:{step}"


async def perform_step(
    store: EventStore, assignment_id: UUID, schedule_version: int, step: str, now: datetime
) -> Answer:
    """Record the step if it still applies; an empty answer when it does not (any more)."""

    async def decide(session: Session) -> Outcome:
        task = await load_task(session, assignment_id)
        # The successors of the units the step may aim at are looked up before deciding, so
        # the decision itself stays pure.
        in_place = await unit_directory.successors_in_place(store.pool, _aimed_at(task))
        outcome = Outcome(str(assignment_id), task_stream(assignment_id))
        events = perform(task, schedule_version, step, now, lambda unit: in_place.get(unit, unit))
        if not events:
            raise _NothingToRecord
        outcome.add(task_stream(assignment_id), Decision(events), **task_tags(task))
        return outcome

    context = CommandContext(
        WORKER,
        now,
        idempotency_key=step_key(assignment_id, schedule_version, step),
        request_hash=step_key(assignment_id, schedule_version, step).encode(),
    )
    try:
        return await execute(store, context, decide)
    except _NothingToRecord:
        # Nothing is appended, so nothing is remembered under the key: a step asked for a
        # moment too early is recorded when asked again.
        return Answer(str(assignment_id), 200, [])


class _NothingToRecord(Exception):
    pass


def _aimed_at(task: Assignment) -> set[UUID]:
    """The task's lead and the units its schedule's steps aim at."""
    units = {s.unit_id for s in task.schedule.steps} if task.schedule else set()
    return {u for u in (*units, task.lead_unit_id) if u is not None}


async def backfill(store: EventStore, now: datetime) -> int:
    """Give every open task without a schedule its first one (once: a second run finds none).
    Scheduled now: reminders already past are not sent; misses and escalations already past are
    recorded once by the workers."""
    scheduled = 0
    # Tasks issued before deadline schedules were recorded at all.
    streams = await store.streams_with_type_without("AssignmentIssued", without="DeadlineScheduled")
    for task_id in (UUID(stream.removeprefix("assignment-")) for stream in streams):

        async def decide(session: Session, task_id: UUID = task_id) -> Outcome:
            task = await load_task(session, task_id)
            outcome = Outcome(str(task_id), task_stream(task_id))
            if task.schedule is None:
                await reschedule(session, outcome, task, now=now, cause="backfill")
            if not outcome.writes:  # closed, or scheduled meanwhile
                raise _NothingToRecord
            return outcome

        context = CommandContext(WORKER, now, idempotency_key=f"deadline-backfill:{task_id}")
        try:
            answer = await execute(store, context, decide)
        except _NothingToRecord:
            continue
        scheduled += bool(answer.events)
    return scheduled
