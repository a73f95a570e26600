"""Per-task compliance facts: a pure fold of a task's events into one row, kept by the
projector."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any
from uuid import UUID

import msgspec
from msgspec.structs import astuple, replace

from events.assignments import (
    AssignmentAcknowledged,
    AssignmentCompleted,
    AssignmentIssued,
    AssignmentReassigned,
    AssignmentWithdrawn,
    DueSet,
    ExtensionDenied,
    ExtensionGranted,
    ExtensionRequested,
    ObstacleRaised,
    ObstacleResolved,
    SubmissionFiled,
    SubmissionReviewed,
)
from events.catalog import Event
from events.deadlines import DeadlineScheduled
from events.envelope import RecordedEvent
from projections.projected import ProjectedModel


class TaskFact(msgspec.Struct, frozen=True):
    """One task's compliance facts (a msgspec struct: a rebuild replaces millions of them)."""

    assignment_id: UUID
    plan_id: UUID
    item: str | None
    lead_unit_id: UUID
    report_to_unit_id: UUID
    issuer_unit_id: UUID
    status: str
    original_due: datetime | None
    """None: the task has no deadline (never late, counted apart)."""
    due: datetime | None
    issued_at: datetime
    completed_at: datetime | None = None
    on_time: bool | None = None
    days_late: int | None = None
    filed_metrics: dict[str, int] = {}
    metrics: dict[str, int] = {}
    consolidated: bool = False
    filed_consolidated: bool = False
    extension_pending: bool = False
    obstacles_open: int = 0
    filed_sources: tuple[UUID, ...] = ()
    sources: tuple[UUID, ...] = ()
    coordinating_unit_ids: tuple[UUID, ...] = ()
    due_text: str | None = None
    """The due in the document's words ("trước ngày 26/02/2021")."""


COLUMNS = TaskFact.__struct_fields__


def apply(row: TaskFact | None, event: Event) -> TaskFact | None:
    match event:
        case AssignmentIssued():
            return TaskFact(
                event.assignment_id,
                event.plan_id,
                event.item,
                event.lead_unit_id,
                event.report_to_unit_id,
                event.issuer_unit_id,
                "assigned",
                event.due,
                event.due,
                event.effective_at,
                coordinating_unit_ids=tuple(event.coordinating_unit_ids),
                due_text=event.stated_due.text if event.stated_due else None,
            )
    if row is None:
        return None
    match event:
        case AssignmentAcknowledged():
            return replace(row, status="acknowledged")
        case DueSet():
            words = event.stated_due.text if event.stated_due else None
            return replace(row, original_due=event.due, due=event.due, due_text=words)
        case SubmissionFiled():
            return replace(
                row,
                status="submitted",
                filed_metrics=dict(event.metrics),
                filed_consolidated=bool(event.sources),
                filed_sources=tuple(source.assignment_id for source in event.sources),
            )
        case SubmissionReviewed() if event.outcome != "approved":
            return replace(row, status="changes_requested")
        case AssignmentCompleted():
            return replace(
                row,
                status="completed_on_time" if event.on_time else "completed_late",
                completed_at=event.completed_at,
                on_time=event.on_time,
                days_late=event.days_late,
                metrics=dict(row.filed_metrics),
                consolidated=row.filed_consolidated,
                sources=row.filed_sources,
            )
        case ExtensionRequested():
            return replace(row, extension_pending=True)
        case ExtensionGranted():
            # The document's words named the due it replaced.
            return replace(row, due=event.new_due, extension_pending=False, due_text=None)
        case ExtensionDenied():
            return replace(row, extension_pending=False)
        case ObstacleRaised():
            return replace(row, obstacles_open=row.obstacles_open + 1)
        case ObstacleResolved():
            return replace(row, obstacles_open=row.obstacles_open - 1)
        case AssignmentReassigned():
            return replace(row, lead_unit_id=event.to_unit_id)
        case AssignmentWithdrawn():
            return replace(row, status="withdrawn")
        case DeadlineScheduled():
            return replace(row, due=event.due)  # the due in force, shifted off a day off
    return row


def from_record(record: Mapping[str, Any]) -> TaskFact:
    """A row read back from `task_facts` (jsonb arrives as raw bytes)."""
    values = dict(record)
    values["filed_metrics"] = msgspec.json.decode(values["filed_metrics"])
    values["metrics"] = msgspec.json.decode(values["metrics"])
    values["filed_sources"] = tuple(values["filed_sources"])
    values["sources"] = tuple(values["sources"])
    values["coordinating_unit_ids"] = tuple(values["coordinating_unit_ids"])
    return TaskFact(**values)


def fold(events: Iterable[RecordedEvent]) -> dict[UUID, TaskFact]:
    """The facts of every task whose events these are, folded in the order given."""
    rows: dict[UUID, TaskFact | None] = {}
    for event in events:
        if not event.stream_id.startswith("assignment-"):
            continue
        key = UUID(event.stream_id.removeprefix("assignment-"))
        assert event.data is not None
        rows[key] = apply(rows.get(key), event.data)
    return {key: row for key, row in rows.items() if row is not None}


def values(row: TaskFact) -> list[Any]:
    """The row's columns in order, metrics as JSON (jsonb travels as raw bytes)."""
    return [msgspec.json.encode(v) if isinstance(v, dict) else v for v in astuple(row)]


EVENTS = (
    AssignmentIssued,
    AssignmentAcknowledged,
    SubmissionFiled,
    SubmissionReviewed,
    AssignmentCompleted,
    ExtensionRequested,
    ExtensionGranted,
    ExtensionDenied,
    ObstacleRaised,
    ObstacleResolved,
    AssignmentReassigned,
    AssignmentWithdrawn,
    DeadlineScheduled,
)

MODEL = ProjectedModel(
    name="task_facts",
    summary="each task's status, due and figures, for plan views, boards and compliance",
    handles=EVENTS,
    category="assignment",
    table="task_facts",
    key="assignment_id",
    columns=COLUMNS,
    apply=apply,
    from_record=from_record,
    values=values,
    rows_are="tasks",
)
