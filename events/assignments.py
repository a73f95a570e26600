"""Events of tasks (assignments): issued to a unit under a plan, reported, reviewed, extended,
obstructed, reassigned, withdrawn, completed. Each task is a stream of its own."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any, Literal
from uuid import UUID

import msgspec

from events.catalog import Event, catalog
from events.plans import EscalationStep, ReviewStep, StatedDue

Count = Annotated[int, msgspec.Meta(ge=-(2**53) + 1, le=2**53 - 1)]
Metrics = dict[str, Count]
"""Counts and amounts as integers (đồng for money): "469 works", "626000000000 đồng"."""
Outcome = Literal["approved", "changes_requested", "rejected"]


class AttachmentMeta(msgspec.Struct, frozen=True, kw_only=True):
    name: str
    media_type: str
    sha256: str
    size: int


class Source(msgspec.Struct, frozen=True, kw_only=True):
    """An approved submission of a sub-unit's task that a consolidated report aggregates."""

    assignment_id: UUID
    submission_id: UUID
    unit_id: UUID


class UnitGroup(msgspec.Struct, frozen=True, kw_only=True):
    """Addressees named as a group ("các chi bộ trực thuộc", "UBND các xã, thị trấn"): the
    active units directly under `within` (or anywhere below it with `subtree`), of the `kinds`
    given (any kind when none), as they stood when the task was issued."""

    within: UUID
    kinds: tuple[str, ...] = ()
    subtree: bool = False
    text: str | None = None


@catalog.register(schema_version=2)
class AssignmentIssued(Event, frozen=True, kw_only=True):
    """v2: `due` may be None (the document sets no deadline: tracked, never chased); the due
    as written (`stated_due`) and the start of the execution window (`starts_on`); the groups
    leads and coordinators were named through, coordinators and reporting routes in words."""

    assignment_id: UUID
    plan_id: UUID
    item: str | None
    """The item's marker as the document numbers it ("2", "2.1", "a"); None when its items are
    not numbered (the order of issue is kept)."""
    text: str
    lead_unit_id: UUID
    coordinating_unit_ids: tuple[UUID, ...] = ()
    deliverable: str = "report"
    due: datetime | None
    stated_due: StatedDue | None = None
    starts_on: date | None = None
    lead_group: UnitGroup | None = None
    """The group the lead was named through; None when named by itself."""
    coordinating_groups: tuple[UnitGroup, ...] = ()
    coordinating_text: tuple[str, ...] = ()
    """Coordinators the document names only in words ("các cơ quan, đơn vị có liên quan")."""
    report_via: str | None = None
    """An intermediary the report goes through ("qua Phòng Hành chính - Tổ chức")."""
    report_to_text: str | None = None
    """Where the results roll up beyond the ledger, in words ("Ban Tuyên giáo Trung ương")."""
    report_to_unit_id: UUID
    issuer_unit_id: UUID
    phase_id: str | None = None
    escalation_policy: tuple[EscalationStep, ...] | None = None
    review_steps: tuple[ReviewStep, ...] = ("approval",)
    shift_day_off: bool = False
    """A due whose day falls on a day off moves to the end of the next working day."""
    effective_at: datetime


@catalog.register()
class AssignmentAcknowledged(Event, frozen=True, kw_only=True):
    assignment_id: UUID
    effective_at: datetime


@catalog.register()
class ProgressReported(Event, frozen=True, kw_only=True):
    assignment_id: UUID
    note: str
    percent: int | None = None
    metrics: Metrics = msgspec.field(default_factory=dict)
    effective_at: datetime


@catalog.register()
class SubmissionFiled(Event, frozen=True, kw_only=True):
    assignment_id: UUID
    submission_id: UUID
    text: str
    effective_at: datetime
    attachments: tuple[AttachmentMeta, ...] = ()
    metrics: Metrics = msgspec.field(default_factory=dict)
    sources: tuple[Source, ...] = ()
    """For a consolidated report (tổng hợp): the sub-units' submissions it aggregates."""


@catalog.register()
class SubmissionReviewed(Event, frozen=True, kw_only=True):
    assignment_id: UUID
    submission_id: UUID
    step: ReviewStep
    outcome: Outcome
    comments: str | None = None
    reviewer_unit_id: UUID | None = None
    effective_at: datetime


@catalog.register(schema_version=2)
class AssignmentCompleted(Event, frozen=True, kw_only=True):
    """With the final approval: on time when the approved submission's effective time is not
    after the due in force. v2: `due` None for a task without a deadline (on time, 0 days)."""

    assignment_id: UUID
    submission_id: UUID
    on_time: bool
    completed_at: datetime
    due: datetime | None
    days_late: int


@catalog.register()
class DueSet(Event, frozen=True, kw_only=True):
    """A task issued without a deadline is given one (later documents, a superior's direction):
    from now on it is chased like any other."""

    assignment_id: UUID
    due: datetime
    stated_due: StatedDue | None = None
    reason: str
    effective_at: datetime


def _v1_is_v2(data: dict[str, Any]) -> dict[str, Any]:
    """v1 always had a due; v2 only allows it to be None and adds optional fields."""
    return data


catalog.upcaster("AssignmentIssued", 1)(_v1_is_v2)
catalog.upcaster("AssignmentCompleted", 1)(_v1_is_v2)


@catalog.register()
class ExtensionRequested(Event, frozen=True, kw_only=True):
    assignment_id: UUID
    extension_id: UUID
    requested_due: datetime
    reason: str
    effective_at: datetime


@catalog.register()
class ExtensionGranted(Event, frozen=True, kw_only=True):
    assignment_id: UUID
    extension_id: UUID
    previous_due: datetime
    new_due: datetime
    comments: str | None = None
    effective_at: datetime


@catalog.register()
class ExtensionDenied(Event, frozen=True, kw_only=True):
    assignment_id: UUID
    extension_id: UUID
    reason: str
    effective_at: datetime


@catalog.register()
class ObstacleRaised(Event, frozen=True, kw_only=True):
    assignment_id: UUID
    obstacle_id: UUID
    description: str
    effective_at: datetime


@catalog.register()
class ObstacleResolved(Event, frozen=True, kw_only=True):
    assignment_id: UUID
    obstacle_id: UUID
    direction: str
    effective_at: datetime


@catalog.register()
class AssignmentReassigned(Event, frozen=True, kw_only=True):
    assignment_id: UUID
    from_unit_id: UUID
    to_unit_id: UUID
    reason: str
    effective_at: datetime


@catalog.register()
class AssignmentWithdrawn(Event, frozen=True, kw_only=True):
    assignment_id: UUID
    reason: str
    effective_at: datetime
