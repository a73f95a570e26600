"""Deadline arithmetic: the steps of a policy for a due, on a working-day calendar.

Day 0 is the calendar day in Vietnam in which the due falls; an instant at exactly midnight
belongs to the day before ("trước ngày 16/10/2022" is 2022-10-16T00:00+07:00: day 0 is the
15th). A step `±N` fires at the office hour of the Nth working day after (before) day 0; the
miss fires at the due itself. With the day-off shift, a due whose day 0 is not a working day
moves to the end of the next working day, which becomes day 0.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone

from events.plans import EscalationStep
from services.calendar import Calendar

VIETNAM = timezone(timedelta(hours=7), "Asia/Ho_Chi_Minh")
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
    return (due.astimezone(VIETNAM) - timedelta(microseconds=1)).date()


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
    """The due in force and every step of the policy at its instant, in time order."""
    due = due_in_force(due, calendar, shift_day_off)
    day = day_zero(due)
    timed = []
    for step in policy:
        if step.action == "miss" and step.offset == 0:
            at = due
        else:
            at = datetime.combine(calendar.working_day(day, step.offset), office_hour, VIETNAM)
        timed.append(Timed(step_name(step.offset), step.offset, step.action, step.target, at))
    return due, sorted(timed, key=lambda t: (t.at, t.offset))
