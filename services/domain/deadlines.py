"""Deadline arithmetic: the steps of a policy for a due, on a working-day calendar.

Day 0 is the calendar day in Vietnam in which the due falls; an instant at exactly midnight
belongs to the day before ("trước ngày 16/10/2022" is 2022-10-16T00:00+07:00: day 0 is the
15th). A step `±N` fires at the office hour of the Nth working day after (before) day 0; the
miss fires at the due itself. With the day-off shift, a due whose day 0 is not a working day
moves to the end of the next working day, which becomes day 0.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Literal
from uuid import UUID

from events.catalog import Event
from events.deadlines import (
    DeadlineMissed,
    DeadlineScheduled,
    EscalationRaised,
    ReminderSent,
    ScheduledStep,
)
from events.plans import EscalationStep
from services.domain.assignment import Assignment
from services.domain.calendar import VIETNAM, Calendar, check_instant, day_of

OFFICE_HOUR = time(8, 0)
DEFAULT_POLICY: tuple[EscalationStep, ...] = (
    EscalationStep(offset=-3, action="remind", target="lead"),
    EscalationStep(offset=-1, action="remind", target="lead"),
    EscalationStep(offset=0, action="miss", target="lead"),
    EscalationStep(offset=1, action="escalate", target="report_to"),
    EscalationStep(offset=3, action="escalate", target="report_to_parent"),
)


@dataclass(frozen=True)
class Timed:
    """A policy step placed in time."""

    step: str  # "-3", "0", "+1": the offset as people say it
    offset: int
    action: str
    target: str
    at: datetime


def step_name(offset: int) -> str:
    return f"{offset:+d}" if offset else "0"


def day_zero(due: datetime) -> date:
    return day_of(due)


def due_in_force(due: datetime, calendar: Calendar, shift_day_off: bool) -> datetime:
    """The due itself, or with the shift the end of the next working day when day 0 is off."""
    day = day_zero(due)
    if not shift_day_off or calendar.is_working(day):
        return due
    working = calendar.next_working_day(day)
    return datetime.combine(working + timedelta(days=1), time(0, 0), VIETNAM)


def place(
    due: datetime,
    policy: Sequence[EscalationStep],
    calendar: Calendar,
    *,
    shift_day_off: bool = False,
    office_hour: time = OFFICE_HOUR,
) -> tuple[datetime, list[Timed]]:
    """The due in force and every step of the policy at its instant, in time order (a due
    outside the window, or a step beyond the calendar's range, is refused `date-out-of-range`)."""
    due = due_in_force(check_instant(due, "due"), calendar, shift_day_off)
    day = day_zero(due)
    timed = []
    for step in policy:
        if step.action == "miss" and step.offset == 0:
            at = due
        else:
            at = datetime.combine(calendar.working_day(day, step.offset), office_hour, VIETNAM)
        timed.append(Timed(step_name(step.offset), step.offset, step.action, step.target, at))
    return due, sorted(timed, key=lambda t: (t.at, t.offset))


# -- the decider: schedule a task's deadline, perform a step -----------------------------------


def schedule(
    task: Assignment,
    calendar: Calendar,
    *,
    now: datetime,
    cause: Literal["issued", "extended", "reassigned", "backfill", "due_set"],
    report_to_parent: UUID | None,
) -> list[Event]:
    """A new schedule version for the task's due in force and lead, or nothing for a closed
    task. Reminders already past when scheduled are never sent; misses and escalations already
    past are recorded once (with their own instant as effective time) by the step handler."""
    if not task.open or task.due is None:
        return []
    due, timed = place(
        task.due,
        task.escalation_policy or DEFAULT_POLICY,
        calendar,
        shift_day_off=task.shift_day_off,
    )
    aimed = {
        "lead": task.lead_unit_id,
        "report_to": task.report_to_unit_id,
        "report_to_parent": report_to_parent,
    }
    return [
        DeadlineScheduled(
            assignment_id=task.id,
            schedule_version=task.schedule.schedule_version + 1 if task.schedule else 1,
            due=due,
            shifted=due != task.due,
            calendar_version=calendar.version,
            steps=tuple(
                ScheduledStep(
                    step=t.step,
                    offset=t.offset,
                    action=t.action,  # type: ignore[arg-type]
                    target=t.target,  # type: ignore[arg-type]
                    unit_id=aimed[t.target],
                    at=t.at,
                )
                for t in timed
            ),
            scheduled_at=now,
            cause=cause,
        )
    ]


def sends(step: ScheduledStep, scheduled: DeadlineScheduled) -> bool:
    """Whether a step is to be performed at all: a reminder already past when the schedule was
    made is not (history entered later is not chased)."""
    return not (step.action == "remind" and step.at < scheduled.scheduled_at)


def perform(
    task: Assignment,
    schedule_version: int,
    step: str,
    now: datetime,
    successor: Callable[[UUID], UUID],
) -> list[Event]:
    """The event a due step records, or nothing when it no longer applies: a newer schedule
    replaced it, it is recorded already, it is not due yet, it is a reminder past when
    scheduled, the task was closed before it (or, for a reminder, is closed now), or it aims
    at no unit. `successor` follows merged, split and dissolved units to the one in place."""
    scheduled = task.schedule
    if scheduled is None or scheduled.schedule_version != schedule_version:
        return []
    if (schedule_version, step) in task.steps_done:
        return []
    found = next((s for s in scheduled.steps if s.step == step), None)
    if found is None or found.at > now or not sends(found, scheduled):
        return []
    if task.closed_at is not None and task.closed_at <= found.at:
        return []
    match found.action:
        case "remind":
            if not task.open or task.lead_unit_id is None:
                return []
            return [
                ReminderSent(
                    assignment_id=task.id,
                    schedule_version=schedule_version,
                    step=step,
                    to_unit_id=successor(task.lead_unit_id),
                    effective_at=now,
                )
            ]
        case "miss":
            return [
                DeadlineMissed(
                    assignment_id=task.id,
                    schedule_version=schedule_version,
                    due=scheduled.due,
                    effective_at=found.at,
                )
            ]
    if found.unit_id is None:
        return []
    escalations = sorted(s.offset for s in scheduled.steps if s.action == "escalate")
    return [
        EscalationRaised(
            assignment_id=task.id,
            schedule_version=schedule_version,
            step=step,
            level=escalations.index(found.offset) + 1,
            to_unit_id=successor(found.unit_id),
            effective_at=found.at,
        )
    ]
