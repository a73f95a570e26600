"""Events of deadlines, on the task's stream: the schedule in force, and the steps performed.

`DeadlineScheduled` is recorded when a task is issued, extended or reassigned (or given its
first schedule later, by a one-time command): the due in force, the calendar version used, each
step's instant and target. A rebuild or a new calendar never moves a recorded step.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal
from uuid import UUID

import msgspec

from events.catalog import Event, catalog

Action = Literal["remind", "miss", "escalate"]
Target = Literal["lead", "report_to", "report_to_parent"]


class ScheduledStep(msgspec.Struct, frozen=True, kw_only=True):
    step: str
    """The offset as people say it: "-3", "0", "+1"."""
    offset: int
    action: Action
    target: Target
    unit_id: UUID | None
    """The unit it is aimed at when scheduled (a successor is looked up when it fires)."""
    at: datetime


@catalog.register(schema_version=2)
class DeadlineScheduled(Event, frozen=True, kw_only=True):
    """v2: the cause may be "due_set" (a task issued without a deadline was given one)."""

    assignment_id: UUID
    schedule_version: int
    due: datetime
    """The due in force (after extensions, and the day-off shift when the policy asks)."""
    shifted: bool = False
    calendar_version: str
    steps: tuple[ScheduledStep, ...]
    scheduled_at: datetime
    cause: Literal["issued", "extended", "reassigned", "backfill", "due_set"]


@catalog.upcaster("DeadlineScheduled", 1)
def _v1_is_v2(data: dict[str, Any]) -> dict[str, Any]:
    return data


@catalog.register()
class ReminderSent(Event, frozen=True, kw_only=True):
    assignment_id: UUID
    schedule_version: int
    step: str
    to_unit_id: UUID
    effective_at: datetime


@catalog.register()
class DeadlineMissed(Event, frozen=True, kw_only=True):
    assignment_id: UUID
    schedule_version: int
    due: datetime
    effective_at: datetime


@catalog.register()
class EscalationRaised(Event, frozen=True, kw_only=True):
    assignment_id: UUID
    schedule_version: int
    step: str
    level: int
    """1 for the first escalation step of the policy, 2 for the next."""
    to_unit_id: UUID
    effective_at: datetime
