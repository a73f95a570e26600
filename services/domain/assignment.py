"""Tasks (assignments): issue, acknowledge, progress, submissions and their review, extensions,
obstacles, reassignment, withdrawal. Completion is recorded with the final approval."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from typing import Literal, overload
from uuid import UUID

from events.assignments import (
    AssignmentAcknowledged,
    AssignmentCompleted,
    AssignmentIssued,
    AssignmentReassigned,
    AssignmentWithdrawn,
    AttachmentMeta,
    DueSet,
    ExtensionDenied,
    ExtensionGranted,
    ExtensionRequested,
    Metrics,
    ObstacleRaised,
    ObstacleResolved,
    Outcome,
    ProgressReported,
    Source,
    SubmissionFiled,
    SubmissionReviewed,
    UnitGroup,
)
from events.catalog import Event
from events.deadlines import DeadlineMissed, DeadlineScheduled, EscalationRaised, ReminderSent
from events.plans import EscalationStep, ReviewStep, StatedDue
from services.domain import refusal_codes as codes
from services.domain.calendar import VIETNAM, check_day, check_instant, day_of
from services.domain.due_reading import as_written
from services.domain.plan import Plan, check_policy
from services.domain.refusal import Decision, Refused
from services.domain.rules import metrics as check_metrics
from services.domain.rules import optional_text, text, when
from services.domain.unit import Unit

Status = Literal[
    "unknown",
    "assigned",
    "acknowledged",
    "submitted",
    "changes_requested",
    "completed_on_time",
    "completed_late",
    "withdrawn",
]
CLOSED = ("completed_on_time", "completed_late", "withdrawn")


@dataclass(frozen=True)
class Submission:
    id: UUID
    effective_at: datetime
    metrics: Metrics
    status: Literal["filed", "approved", "changes_requested", "rejected"] = "filed"
    steps_done: tuple[ReviewStep, ...] = ()


@dataclass(frozen=True)
class Assignment:
    id: UUID
    status: Status = "unknown"
    plan_id: UUID | None = None
    lead_unit_id: UUID | None = None
    report_to_unit_id: UUID | None = None
    issuer_unit_id: UUID | None = None
    coordinating_unit_ids: tuple[UUID, ...] = ()
    original_due: datetime | None = None
    due: datetime | None = None
    review_steps: tuple[ReviewStep, ...] = ("approval",)
    submissions: Mapping[UUID, Submission] = field(default_factory=dict)
    pending_submission: UUID | None = None
    extensions: Mapping[UUID, tuple[str, datetime]] = field(default_factory=dict)
    """Extension id -> (pending, granted or denied; the due it asked for)."""
    obstacles: Mapping[UUID, str] = field(default_factory=dict)
    escalation_policy: tuple[EscalationStep, ...] | None = None
    shift_day_off: bool = False
    closed_at: datetime | None = None
    """When the task was completed (the approved submission's effective time) or withdrawn."""
    schedule: DeadlineScheduled | None = None
    """The deadline schedule in force (its latest version)."""
    steps_done: frozenset[tuple[int, str]] = frozenset()
    """Deadline steps recorded, as (schedule version, step)."""

    @property
    def open(self) -> bool:
        return self.status not in CLOSED and self.status != "unknown"

    @property
    def extension_pending(self) -> bool:
        return any(state == "pending" for state, _ in self.extensions.values())

    @property
    def obstacle_open(self) -> bool:
        return "open" in self.obstacles.values()

    def overdue(self, now: datetime) -> bool:
        return self.open and self.due is not None and now > self.due


def initial(assignment_id: UUID) -> Assignment:
    """A task before any event: unknown."""
    return Assignment(assignment_id)


def evolve(state: Assignment, event: Event) -> Assignment:
    match event:
        case AssignmentIssued():
            return Assignment(
                event.assignment_id,
                "assigned",
                event.plan_id,
                event.lead_unit_id,
                event.report_to_unit_id,
                event.issuer_unit_id,
                event.coordinating_unit_ids,
                event.due,
                event.due,
                event.review_steps,
                escalation_policy=event.escalation_policy,
                shift_day_off=event.shift_day_off,
            )
        case DueSet():
            return replace(state, original_due=event.due, due=event.due)
        case AssignmentAcknowledged():
            return replace(state, status="acknowledged")
        case SubmissionFiled():
            submission = Submission(event.submission_id, event.effective_at, event.metrics)
            return replace(
                state,
                status="submitted",
                pending_submission=event.submission_id,
                submissions={**state.submissions, event.submission_id: submission},
            )
        case SubmissionReviewed():
            submission = state.submissions[event.submission_id]
            if event.outcome == "approved":
                submission = replace(
                    submission,
                    steps_done=(*submission.steps_done, event.step),
                    status="approved" if event.step == "approval" else "filed",
                )
                status: Status = state.status
                pending = state.pending_submission
            else:
                submission = replace(
                    submission,
                    steps_done=(*submission.steps_done, event.step),
                    status=event.outcome,
                )
                status, pending = "changes_requested", None
            return replace(
                state,
                status=status,
                pending_submission=pending,
                submissions={**state.submissions, submission.id: submission},
            )
        case AssignmentCompleted():
            return replace(
                state,
                status="completed_on_time" if event.on_time else "completed_late",
                pending_submission=None,
                closed_at=event.completed_at,
            )
        case ExtensionRequested():
            return replace(
                state,
                extensions={
                    **state.extensions,
                    event.extension_id: ("pending", event.requested_due),
                },
            )
        case ExtensionGranted():
            return replace(
                state,
                due=event.new_due,
                extensions={**state.extensions, event.extension_id: ("granted", event.new_due)},
            )
        case ExtensionDenied():
            _, asked = state.extensions[event.extension_id]
            return replace(
                state, extensions={**state.extensions, event.extension_id: ("denied", asked)}
            )
        case ObstacleRaised():
            return replace(state, obstacles={**state.obstacles, event.obstacle_id: "open"})
        case ObstacleResolved():
            return replace(state, obstacles={**state.obstacles, event.obstacle_id: "resolved"})
        case AssignmentReassigned():
            return replace(state, lead_unit_id=event.to_unit_id)
        case AssignmentWithdrawn():
            return replace(
                state, status="withdrawn", pending_submission=None, closed_at=event.effective_at
            )
        case DeadlineScheduled():
            # The due in force moves with the day-off shift (the same instant otherwise).
            return replace(state, schedule=event, due=event.due)
        case ReminderSent() | DeadlineMissed() | EscalationRaised():
            done = (event.schedule_version, _step_of(event))
            return replace(state, steps_done=state.steps_done | {done})
    return state


def _step_of(event: ReminderSent | DeadlineMissed | EscalationRaised) -> str:
    return "0" if isinstance(event, DeadlineMissed) else event.step


# -- commands -------------------------------------------------------------------------------


@dataclass(frozen=True)
class IssueAssignment:
    assignment_id: UUID
    plan_id: UUID
    item: str | None
    text: str
    lead_unit_id: UUID
    due: datetime | None
    """None: the document sets no deadline (the task is tracked, never chased)."""
    now: datetime
    effective_at: datetime
    report_to_unit_id: UUID | None = None
    coordinating_unit_ids: tuple[UUID, ...] = ()
    deliverable: str = "report"
    stated_due: StatedDue | None = None
    starts_on: date | None = None
    lead_group: UnitGroup | None = None
    coordinating_groups: tuple[UnitGroup, ...] = ()
    coordinating_text: tuple[str, ...] = ()
    report_via: str | None = None
    report_to_text: str | None = None
    phase_id: str | None = None
    escalation_policy: tuple[EscalationStep, ...] | None = None
    review_steps: tuple[ReviewStep, ...] | None = None
    may_backdate: bool = False
    shift_day_off: bool | None = None
    """None: the plan's choice."""


@dataclass(frozen=True)
class SetDue:
    """Give a task issued without a deadline its due."""

    assignment_id: UUID
    due: datetime
    reason: str
    now: datetime
    stated_due: StatedDue | None = None


@dataclass(frozen=True)
class Acknowledge:
    assignment_id: UUID
    now: datetime


@dataclass(frozen=True)
class ReportProgress:
    assignment_id: UUID
    note: str
    now: datetime
    percent: int | None = None
    metrics: Metrics = field(default_factory=dict)


@dataclass(frozen=True)
class FileSubmission:
    assignment_id: UUID
    submission_id: UUID
    text: str
    now: datetime
    effective_at: datetime
    attachments: tuple[AttachmentMeta, ...] = ()
    metrics: Metrics = field(default_factory=dict)
    sources: tuple[UUID, ...] = ()
    may_backdate: bool = False


@dataclass(frozen=True)
class Review:
    assignment_id: UUID
    submission_id: UUID
    step: ReviewStep
    outcome: Outcome
    now: datetime
    comments: str | None = None
    reviewer_unit_id: UUID | None = None


@dataclass(frozen=True)
class RequestExtension:
    assignment_id: UUID
    extension_id: UUID
    requested_due: datetime
    reason: str
    now: datetime


@dataclass(frozen=True)
class DecideExtension:
    assignment_id: UUID
    extension_id: UUID
    grant: bool
    now: datetime
    comments: str | None = None


@dataclass(frozen=True)
class RaiseObstacle:
    assignment_id: UUID
    obstacle_id: UUID
    description: str
    now: datetime


@dataclass(frozen=True)
class ResolveObstacle:
    assignment_id: UUID
    obstacle_id: UUID
    direction: str
    now: datetime


@dataclass(frozen=True)
class Reassign:
    assignment_id: UUID
    to_unit_id: UUID
    reason: str
    now: datetime


@dataclass(frozen=True)
class Withdraw:
    assignment_id: UUID
    reason: str
    now: datetime


AssignmentCommand = (
    IssueAssignment
    | SetDue
    | Acknowledge
    | ReportProgress
    | FileSubmission
    | Review
    | RequestExtension
    | DecideExtension
    | RaiseObstacle
    | ResolveObstacle
    | Reassign
    | Withdraw
)


@dataclass(frozen=True)
class Context:
    """What a task decision needs of others, loaded by the shell: the plan, units by id, the
    source tasks of a consolidated report, and the lineage of each source's lead unit."""

    plan: Plan | None = None
    units: Mapping[UUID, Unit] = field(default_factory=dict)
    sources: Mapping[UUID, Assignment] = field(default_factory=dict)
    lineages: Mapping[UUID, Sequence[UUID]] = field(default_factory=dict)

    def unit(self, unit_id: UUID) -> Unit:
        return self.units.get(unit_id) or Unit(unit_id)


_ROLES = {
    "lead": (codes.UNKNOWN_LEAD, codes.LEAD_INACTIVE),
    "coordinating": (codes.UNKNOWN_COORDINATING, codes.COORDINATING_INACTIVE),
    "report-to": (codes.UNKNOWN_REPORT_TO, codes.REPORT_TO_INACTIVE),
}


def _active(unit: Unit, role: str) -> None:
    """`role` ("lead", "coordinating", "report-to") names the refusal: unknown-lead..."""
    unknown_code, inactive_code = _ROLES[role]
    if unit.status == "unknown":
        raise Refused(unknown_code, f"{role} unit {unit.id} does not exist")
    if not unit.active:
        raise Refused(
            inactive_code,
            f"{role} unit {unit.id} is {unit.status}",
            successor_id=str(unit.successor_id) if unit.successor_id else None,
        )


def _open(task: Assignment) -> None:
    if task.status == "unknown":
        raise Refused(codes.UNKNOWN_ASSIGNMENT, f"task {task.id} does not exist")
    if task.status in CLOSED:
        raise Refused(
            codes.ASSIGNMENT_CLOSED, f"task {task.id} is {task.status}", task_status=task.status
        )


def decide(command: AssignmentCommand, state: Assignment, context: Context = Context()) -> Decision:
    match command:
        case IssueAssignment():
            return _issue(command, state, context)
        case SetDue():
            return _set_due(command, state, context)
        case Acknowledge():
            return _acknowledge(command, state)
        case ReportProgress():
            return _report_progress(command, state)
        case FileSubmission():
            return _file(command, state, context)
        case Review():
            return _review(command, state)
        case RequestExtension():
            return _request_extension(command, state, context)
        case DecideExtension():
            return _decide_extension(command, state)
        case RaiseObstacle():
            return _raise_obstacle(command, state)
        case ResolveObstacle():
            return _resolve_obstacle(command, state)
        case Reassign():
            return _reassign(command, state, context)
        case Withdraw():
            return _withdraw(command, state)


def _acknowledge(command: Acknowledge, task: Assignment) -> Decision:
    _open(task)
    if task.status != "assigned":
        raise Refused(codes.ALREADY_ACKNOWLEDGED, f"task {task.id} is {task.status}")
    return Decision([AssignmentAcknowledged(assignment_id=task.id, effective_at=command.now)])


def _report_progress(command: ReportProgress, task: Assignment) -> Decision:
    _open(task)
    if command.percent is not None and not 0 <= command.percent <= 100:
        raise Refused(codes.INVALID_PERCENT, "progress is 0 to 100 percent")
    _check_metrics(command.metrics)
    return Decision(
        [
            ProgressReported(
                assignment_id=task.id,
                note=text(command.note, codes.INVALID_NOTE),
                percent=command.percent,
                metrics=command.metrics,
                effective_at=command.now,
            )
        ]
    )


def _set_due(command: SetDue, task: Assignment, context: Context) -> Decision:
    _open(task)
    if task.due is not None:
        raise Refused(
            codes.DUE_ALREADY_SET,
            f"task {task.id} is due {task.due.isoformat()}: ask for an extension to move it",
        )
    check_instant(command.due, "due")
    if command.due <= command.now:
        raise Refused(codes.DUE_IN_PAST, "the due must come after now")
    _after_issue(command.due, context.plan, "due")
    return Decision(
        [
            DueSet(
                assignment_id=task.id,
                due=command.due,
                stated_due=as_written(command.stated_due),
                reason=text(command.reason, codes.INVALID_REASON),
                effective_at=command.now,
            )
        ]
    )


@overload
def _group(group: UnitGroup) -> UnitGroup: ...
@overload
def _group(group: None) -> None: ...
def _group(group: UnitGroup | None) -> UnitGroup | None:
    """A group as named, its words checked like every text."""
    if group is None:
        return None
    words = optional_text(group.text, codes.INVALID_GROUP, 500)
    return UnitGroup(
        within=group.within,
        kinds=tuple(dict.fromkeys(group.kinds)),
        subtree=group.subtree,
        text=words,
    )


def _request_extension(command: RequestExtension, task: Assignment, context: Context) -> Decision:
    _open(task)
    if task.due is None:
        raise Refused(
            codes.NO_DUE, f"task {task.id} has no deadline to extend: set its due instead"
        )
    if task.extension_pending:
        raise Refused(codes.EXTENSION_PENDING, "an extension request awaits its decision")
    if command.extension_id in task.extensions:
        raise Refused(codes.EXTENSION_EXISTS, f"extension {command.extension_id} exists")
    check_instant(command.requested_due, "requested due")
    _after_issue(command.requested_due, context.plan, "requested due")
    if command.requested_due <= task.due:
        raise Refused(
            codes.DUE_NOT_LATER, f"the requested due must be after {task.due.isoformat()}"
        )
    return Decision(
        [
            ExtensionRequested(
                assignment_id=task.id,
                extension_id=command.extension_id,
                requested_due=command.requested_due,
                reason=text(command.reason, codes.INVALID_REASON),
                effective_at=command.now,
            )
        ]
    )


def _decide_extension(command: DecideExtension, task: Assignment) -> Decision:
    _open(task)
    extension = task.extensions.get(command.extension_id)
    if extension is None:
        raise Refused(codes.UNKNOWN_EXTENSION, f"no extension {command.extension_id}")
    state, asked = extension
    if state != "pending":
        raise Refused(codes.EXTENSION_DECIDED, f"extension {command.extension_id} is {state}")
    if command.grant:
        assert task.due is not None
        return Decision(
            [
                ExtensionGranted(
                    assignment_id=task.id,
                    extension_id=command.extension_id,
                    previous_due=task.due,
                    new_due=asked,
                    comments=command.comments,
                    effective_at=command.now,
                )
            ]
        )
    return Decision(
        [
            ExtensionDenied(
                assignment_id=task.id,
                extension_id=command.extension_id,
                reason=text(command.comments or "", codes.INVALID_REASON),
                effective_at=command.now,
            )
        ]
    )


def _raise_obstacle(command: RaiseObstacle, task: Assignment) -> Decision:
    _open(task)
    if command.obstacle_id in task.obstacles:
        raise Refused(codes.OBSTACLE_EXISTS, f"obstacle {command.obstacle_id} exists")
    return Decision(
        [
            ObstacleRaised(
                assignment_id=task.id,
                obstacle_id=command.obstacle_id,
                description=text(command.description, codes.INVALID_DESCRIPTION),
                effective_at=command.now,
            )
        ]
    )


def _resolve_obstacle(command: ResolveObstacle, task: Assignment) -> Decision:
    _open(task)
    obstacle = task.obstacles.get(command.obstacle_id)
    if obstacle is None:
        raise Refused(codes.UNKNOWN_OBSTACLE, f"no obstacle {command.obstacle_id}")
    if obstacle != "open":
        raise Refused(codes.OBSTACLE_RESOLVED, f"obstacle {command.obstacle_id} is resolved")
    return Decision(
        [
            ObstacleResolved(
                assignment_id=task.id,
                obstacle_id=command.obstacle_id,
                direction=text(command.direction, codes.INVALID_DIRECTION),
                effective_at=command.now,
            )
        ]
    )


def _reassign(command: Reassign, task: Assignment, context: Context) -> Decision:
    _open(task)
    if command.to_unit_id == task.lead_unit_id:
        raise Refused(codes.NOTHING_CHANGED, "the task is already that unit's")
    _active(context.unit(command.to_unit_id), "lead")
    assert task.lead_unit_id is not None
    return Decision(
        [
            AssignmentReassigned(
                assignment_id=task.id,
                from_unit_id=task.lead_unit_id,
                to_unit_id=command.to_unit_id,
                reason=text(command.reason, codes.INVALID_REASON),
                effective_at=command.now,
            )
        ]
    )


def _withdraw(command: Withdraw, task: Assignment) -> Decision:
    _open(task)
    return Decision(
        [
            AssignmentWithdrawn(
                assignment_id=task.id,
                reason=text(command.reason, codes.INVALID_REASON),
                effective_at=command.now,
            )
        ]
    )


def _after_issue(due: datetime, plan: Plan | None, what: str) -> None:
    """A due (or a requested due) falls on or after the day its plan was issued."""
    if plan is None or plan.issued_on is None:
        return
    if due.astimezone(VIETNAM).date() < plan.issued_on:
        raise Refused(
            codes.DUE_BEFORE_ISSUE,
            f"the {what} {due.isoformat()} is before the plan's issue on {plan.issued_on}",
        )


def _issue(command: IssueAssignment, task: Assignment, context: Context) -> Decision:
    if task.status != "unknown":
        raise Refused(codes.ASSIGNMENT_EXISTS, f"task {task.id} already exists")
    plan = context.plan
    if plan is None or plan.status == "unknown":
        raise Refused(codes.UNKNOWN_PLAN, f"plan {command.plan_id} does not exist")
    if not plan.accepts_tasks:
        raise Refused(
            codes.PLAN_TAKES_NO_TASKS, f"plan {plan.id} is {plan.status}", plan_status=plan.status
        )
    assert plan.issuer_unit_id is not None
    _active(context.unit(command.lead_unit_id), "lead")
    for unit_id in command.coordinating_unit_ids:
        _active(context.unit(unit_id), "coordinating")
    if command.lead_unit_id in command.coordinating_unit_ids:
        raise Refused(codes.LEAD_ALSO_COORDINATING, "the lead unit is not also a coordinator")
    report_to = command.report_to_unit_id or plan.issuer_unit_id
    _active(context.unit(report_to), "report-to")
    if command.phase_id is not None and command.phase_id not in {p.phase_id for p in plan.phases}:
        raise Refused(codes.UNKNOWN_PHASE, f"plan {plan.id} has no phase {command.phase_id}")
    when(command.effective_at, command.now, command.may_backdate)
    if command.due is not None:
        check_instant(command.due, "due")
        if command.due <= command.effective_at:
            raise Refused(codes.DUE_IN_PAST, "the due must come after the task is issued")
        _after_issue(command.due, plan, "due")
    elif command.stated_due is not None and command.stated_due.on is not None:
        raise Refused(codes.INVALID_DUE, "a due date was given without the instant it falls at")
    if command.starts_on is not None:
        check_day(command.starts_on, "starts_on")
        if command.due is not None and command.starts_on >= day_of(command.due):
            raise Refused(
                codes.INVALID_DUE, "the execution window starts on or after the day of the due"
            )
    if command.escalation_policy is not None:
        check_policy(command.escalation_policy)
    steps = command.review_steps or plan.review_steps
    if list(steps) not in (["approval"], ["appraisal", "approval"]):
        raise Refused(
            codes.INVALID_REVIEW_STEPS, 'review steps are ["approval"] or ["appraisal", "approval"]'
        )
    route = codes.INVALID_REPORT_ROUTE
    return Decision(
        [
            AssignmentIssued(
                assignment_id=command.assignment_id,
                plan_id=plan.id,
                item=optional_text(command.item, codes.INVALID_ITEM, 40),
                text=text(command.text, codes.INVALID_TEXT),
                lead_unit_id=command.lead_unit_id,
                coordinating_unit_ids=tuple(dict.fromkeys(command.coordinating_unit_ids)),
                deliverable=text(command.deliverable, codes.INVALID_DELIVERABLE, 200),
                due=command.due,
                stated_due=as_written(command.stated_due),
                starts_on=command.starts_on,
                lead_group=_group(command.lead_group),
                coordinating_groups=tuple(_group(g) for g in command.coordinating_groups),
                coordinating_text=tuple(
                    text(words, codes.INVALID_COORDINATING_TEXT, 500)
                    for words in dict.fromkeys(command.coordinating_text)
                ),
                report_via=optional_text(command.report_via, route, 500),
                report_to_text=optional_text(command.report_to_text, route, 500),
                report_to_unit_id=report_to,
                issuer_unit_id=plan.issuer_unit_id,
                phase_id=command.phase_id,
                escalation_policy=command.escalation_policy or plan.escalation_policy,
                review_steps=steps,
                shift_day_off=(
                    plan.shift_day_off if command.shift_day_off is None else command.shift_day_off
                ),
                effective_at=command.effective_at,
            )
        ]
    )


def _file(command: FileSubmission, task: Assignment, context: Context) -> Decision:
    _open(task)
    if task.status == "submitted":
        raise Refused(codes.SUBMISSION_PENDING, "a submission already awaits review")
    if command.submission_id in task.submissions:
        raise Refused(codes.SUBMISSION_EXISTS, f"submission {command.submission_id} exists")
    when(command.effective_at, command.now, command.may_backdate)
    metrics = dict(command.metrics)
    sources = []
    for source_id in dict.fromkeys(command.sources):
        source = context.sources.get(source_id) or initial(source_id)
        if source.status == "unknown":
            raise Refused(codes.UNKNOWN_SOURCE, f"task {source_id} does not exist")
        if source.plan_id != task.plan_id:
            raise Refused(codes.SOURCE_OTHER_PLAN, f"task {source_id} is under another plan")
        if task.lead_unit_id not in context.lineages.get(source_id, ())[1:]:
            raise Refused(
                codes.SOURCE_NOT_SUB_UNIT,
                f"task {source_id} is not led by a unit under {task.lead_unit_id}",
            )
        approved = [s for s in source.submissions.values() if s.status == "approved"]
        if not approved:
            raise Refused(codes.SOURCE_NOT_APPROVED, f"task {source_id} has no approved submission")
        chosen = max(approved, key=lambda s: s.effective_at)
        for name, value in chosen.metrics.items():
            metrics[name] = metrics.get(name, 0) + value
        assert source.lead_unit_id is not None
        sources.append(
            Source(assignment_id=source_id, submission_id=chosen.id, unit_id=source.lead_unit_id)
        )
    _check_metrics(metrics)
    return Decision(
        [
            SubmissionFiled(
                assignment_id=task.id,
                submission_id=command.submission_id,
                text=text(command.text, codes.INVALID_TEXT),
                effective_at=command.effective_at,
                attachments=command.attachments,
                metrics=metrics,
                sources=tuple(sources),
            )
        ]
    )


def _check_metrics(metrics: Metrics) -> None:
    """Counts and amounts (`rules.metrics`): at most 100, none negative, none above 2^53 - 1."""
    check_metrics(metrics)


def _review(command: Review, task: Assignment) -> Decision:
    if task.status == "unknown":
        raise Refused(codes.UNKNOWN_ASSIGNMENT, f"task {task.id} does not exist")
    submission = task.submissions.get(command.submission_id)
    if submission is None:
        raise Refused(codes.UNKNOWN_SUBMISSION, f"no submission {command.submission_id}")
    if submission.status != "filed" or task.pending_submission != submission.id:
        raise Refused(
            codes.SUBMISSION_NOT_PENDING,
            f"submission {submission.id} is {submission.status}, not awaiting review",
        )
    if command.step in submission.steps_done:
        raise Refused(codes.STEP_DONE, f"the {command.step} of this submission is done")
    expected = next(s for s in task.review_steps if s not in submission.steps_done)
    if command.step != expected:
        raise Refused(codes.WRONG_STEP, f"the next step of this submission is {expected}")
    reviewed = SubmissionReviewed(
        assignment_id=task.id,
        submission_id=submission.id,
        step=command.step,
        outcome=command.outcome,
        comments=command.comments,
        reviewer_unit_id=command.reviewer_unit_id,
        effective_at=command.now,
    )
    if command.outcome != "approved" or command.step != "approval":
        return Decision([reviewed])
    if task.due is None:  # no deadline: it cannot be late
        late, on_time = 0.0, True
    else:
        late = (submission.effective_at - task.due).total_seconds()
        on_time = submission.effective_at <= task.due
    days_late = max(0, math.ceil(late / 86400))
    return Decision(
        [
            reviewed,
            AssignmentCompleted(
                assignment_id=task.id,
                submission_id=submission.id,
                on_time=on_time,
                completed_at=submission.effective_at,
                due=task.due,
                days_late=days_late,
            ),
        ]
    )
