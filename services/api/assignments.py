"""Routes of tasks: POST /plans/{id}/assignments and /assignments/..."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any
from uuid import UUID

import msgspec
from litestar import Response, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath, JSONBody

from events.assignments import AttachmentMeta, Count, Outcome, UnitGroup
from events.organisation import UnitKind
from events.plans import DueRule, EscalationStep, ReviewStep
from events.store import EventStore
from projections import unit_directory
from services.api.commanding import Commands, new_id
from services.api.compliance import ValidAt
from services.api.dependencies import Injected, Pool
from services.api.dues import written_due
from services.api.problems import Problem
from services.api.times import aware, instant_or_day
from services.api.unit_names import named
from services.domain import refusal_codes as codes
from services.domain.assignment import (
    Acknowledge,
    DecideExtension,
    FileSubmission,
    IssueAssignment,
    RaiseObstacle,
    Reassign,
    ReportProgress,
    RequestExtension,
    ResolveObstacle,
    Review,
    SetDue,
    Withdraw,
)
from services.domain.due_reading import parse_date
from services.domain.refusal import Refused
from services.handlers import assignments
from services.handlers.auth import Actor
from services.handlers.reach import may_read, task_readers

Text = Annotated[str, msgspec.Meta(max_length=20_000)]
Short = Annotated[str, msgspec.Meta(max_length=2000)]
MetricName = Annotated[str, msgspec.Meta(min_length=1, max_length=100)]


DateText = Annotated[str, msgspec.Meta(max_length=40)]
DueText = Annotated[str, msgspec.Meta(max_length=500)]


class GroupRequest(msgspec.Struct, forbid_unknown_fields=True):
    """Units named as a group: the active units under `within` (directly, or anywhere below
    with `subtree`) of the `kinds` given (any when none), and the document's words."""

    within: UUID
    kinds: Annotated[list[UnitKind], msgspec.Meta(max_length=20)] = []
    subtree: bool = False
    text: DueText | None = None

    def group(self) -> UnitGroup:
        return UnitGroup(
            within=self.within, kinds=tuple(self.kinds), subtree=self.subtree, text=self.text
        )


class IssueRequest(msgspec.Struct, forbid_unknown_fields=True):
    text: Text
    item: Annotated[str, msgspec.Meta(max_length=40)] | None = None
    lead_unit_ids: Annotated[list[UUID], msgspec.Meta(max_length=500)] = []
    lead_groups: Annotated[list[GroupRequest], msgspec.Meta(max_length=20)] = []
    coordinating_groups: Annotated[list[GroupRequest], msgspec.Meta(max_length=20)] = []
    coordinating_text: Annotated[list[DueText], msgspec.Meta(max_length=20)] = []
    report_via: DueText | None = None
    report_to_text: DueText | None = None
    due: datetime | None = None
    due_date: DateText | None = None
    due_rule: DueRule | None = None
    due_text: DueText | None = None
    starts_on: DateText | None = None
    coordinating_unit_ids: Annotated[list[UUID], msgspec.Meta(max_length=100)] = []
    deliverable: Annotated[str, msgspec.Meta(max_length=200)] = "report"
    report_to_unit_id: UUID | None = None
    phase_id: Annotated[str, msgspec.Meta(max_length=40)] | None = None
    escalation_policy: Annotated[list[EscalationStep], msgspec.Meta(max_length=20)] | None = None
    review_steps: list[ReviewStep] | None = None
    effective_at: datetime | None = None
    shift_day_off: bool | None = None


class SetDueRequest(msgspec.Struct, forbid_unknown_fields=True):
    reason: Short
    due: datetime | None = None
    due_date: DateText | None = None
    due_rule: DueRule | None = None
    due_text: DueText | None = None


class ProgressRequest(msgspec.Struct, forbid_unknown_fields=True):
    note: Text
    percent: int | None = None
    metrics: dict[MetricName, Count] = {}


class AttachmentRequest(msgspec.Struct, forbid_unknown_fields=True):
    name: Annotated[str, msgspec.Meta(min_length=1, max_length=255)]
    media_type: Annotated[str, msgspec.Meta(pattern=r"^[a-z0-9][\w.+-]*/[\w.+-]+$")]
    sha256: Annotated[str, msgspec.Meta(pattern="^[0-9a-f]{64}$")]
    size: Annotated[int, msgspec.Meta(ge=0, le=2**40)]


class SubmissionRequest(msgspec.Struct, forbid_unknown_fields=True):
    text: Text
    effective_at: datetime | None = None
    attachments: Annotated[list[AttachmentRequest], msgspec.Meta(max_length=100)] = []
    metrics: dict[MetricName, Count] = {}
    sources: Annotated[list[UUID], msgspec.Meta(max_length=1000)] = []
    id: UUID | None = None


class ReviewRequest(msgspec.Struct, forbid_unknown_fields=True):
    step: ReviewStep
    outcome: Outcome
    comments: Short | None = None


class ExtensionRequest(msgspec.Struct, forbid_unknown_fields=True):
    requested_due: datetime
    reason: Short
    id: UUID | None = None


class DecisionRequest(msgspec.Struct, forbid_unknown_fields=True):
    grant: bool
    comments: Short | None = None


class ObstacleRequest(msgspec.Struct, forbid_unknown_fields=True):
    description: Text
    id: UUID | None = None


class ResolveRequest(msgspec.Struct, forbid_unknown_fields=True):
    direction: Text


class ReassignRequest(msgspec.Struct, forbid_unknown_fields=True):
    to_unit_id: UUID
    reason: Short


class WithdrawRequest(msgspec.Struct, forbid_unknown_fields=True):
    reason: Short


@post("/plans/{plan_id:uuid}/assignments", status_code=201)
async def issue_assignments(
    commands: Injected[Commands], plan_id: FromPath[UUID], data: JSONBody[IssueRequest]
) -> Response[Any]:
    due, stated = written_due(commands, data.due, data.due_date, data.due_rule, data.due_text)
    starts_on = parse_date(data.starts_on, "starts_on") if data.starts_on is not None else None
    effective_at = aware(data.effective_at, "effective_at") or commands.now
    if not data.lead_unit_ids and not data.lead_groups:
        raise Problem(
            400,
            "invalid-request",
            "The request is not valid",
            "name the lead units: by id (lead_unit_ids) or as groups (lead_groups)",
        )
    template = IssueAssignment(
        assignment_id=uuid.uuid4(),
        plan_id=plan_id,
        item=data.item,
        text=data.text,
        lead_unit_id=data.lead_unit_ids[0] if data.lead_unit_ids else plan_id,
        due=due,
        stated_due=stated,
        starts_on=starts_on,
        now=commands.now,
        effective_at=effective_at,
        report_to_unit_id=data.report_to_unit_id,
        coordinating_unit_ids=tuple(data.coordinating_unit_ids),
        coordinating_groups=tuple(g.group() for g in data.coordinating_groups),
        coordinating_text=tuple(data.coordinating_text),
        report_via=data.report_via,
        report_to_text=data.report_to_text,
        deliverable=data.deliverable,
        phase_id=data.phase_id,
        escalation_policy=tuple(data.escalation_policy) if data.escalation_policy else None,
        review_steps=tuple(data.review_steps) if data.review_steps else None,
        shift_day_off=data.shift_day_off,
    )
    item = assignments.IssueItem(
        template,
        tuple(data.lead_unit_ids),
        tuple(g.group() for g in data.lead_groups),
    )
    return await commands.run(assignments.issue_item_handler(item, commands.actor))


async def _command(commands: Commands, command: Any) -> Response[Any]:
    return await commands.run(assignments.handler(command, commands.actor))


@post("/assignments/{assignment_id:uuid}/due")
async def set_due(
    commands: Injected[Commands],
    assignment_id: FromPath[UUID],
    data: JSONBody[SetDueRequest],
) -> Response[Any]:
    due, stated = written_due(commands, data.due, data.due_date, data.due_rule, data.due_text)
    if due is None:
        raise Refused(codes.INVALID_DUE, "give the due: an instant, or a due_date and due_rule")
    return await _command(
        commands, SetDue(assignment_id, due, data.reason, commands.now, stated_due=stated)
    )


@post("/assignments/{assignment_id:uuid}/acknowledge")
async def acknowledge(
    commands: Injected[Commands],
    assignment_id: FromPath[UUID],
) -> Response[Any]:
    return await _command(commands, Acknowledge(assignment_id, commands.now))


@post("/assignments/{assignment_id:uuid}/progress")
async def progress(
    commands: Injected[Commands],
    assignment_id: FromPath[UUID],
    data: JSONBody[ProgressRequest],
) -> Response[Any]:
    command = ReportProgress(
        assignment_id, data.note, commands.now, data.percent, dict(data.metrics)
    )
    return await _command(commands, command)


@post("/assignments/{assignment_id:uuid}/submissions", status_code=201)
async def file_submission(
    commands: Injected[Commands],
    assignment_id: FromPath[UUID],
    data: JSONBody[SubmissionRequest],
) -> Response[Any]:
    command = FileSubmission(
        assignment_id,
        new_id(data.id),
        data.text,
        commands.now,
        aware(data.effective_at, "effective_at") or commands.now,
        tuple(
            AttachmentMeta(name=a.name, media_type=a.media_type, sha256=a.sha256, size=a.size)
            for a in data.attachments
        ),
        dict(data.metrics),
        tuple(data.sources),
    )
    return await _command(commands, command)


@post("/assignments/{assignment_id:uuid}/submissions/{submission_id:uuid}/review")
async def review(
    commands: Injected[Commands],
    assignment_id: FromPath[UUID],
    submission_id: FromPath[UUID],
    data: JSONBody[ReviewRequest],
) -> Response[Any]:
    command = Review(
        assignment_id, submission_id, data.step, data.outcome, commands.now, data.comments
    )
    return await _command(commands, command)


@post("/assignments/{assignment_id:uuid}/extensions", status_code=201)
async def request_extension(
    commands: Injected[Commands],
    assignment_id: FromPath[UUID],
    data: JSONBody[ExtensionRequest],
) -> Response[Any]:
    command = RequestExtension(
        assignment_id,
        new_id(data.id),
        aware(data.requested_due, "requested_due"),
        data.reason,
        commands.now,
    )
    return await _command(commands, command)


@post("/assignments/{assignment_id:uuid}/extensions/{extension_id:uuid}/decision")
async def decide_extension(
    commands: Injected[Commands],
    assignment_id: FromPath[UUID],
    extension_id: FromPath[UUID],
    data: JSONBody[DecisionRequest],
) -> Response[Any]:
    command = DecideExtension(assignment_id, extension_id, data.grant, commands.now, data.comments)
    return await _command(commands, command)


@post("/assignments/{assignment_id:uuid}/obstacles", status_code=201)
async def raise_obstacle(
    commands: Injected[Commands],
    assignment_id: FromPath[UUID],
    data: JSONBody[ObstacleRequest],
) -> Response[Any]:
    command = RaiseObstacle(assignment_id, new_id(data.id), data.description, commands.now)
    return await _command(commands, command)


@post("/assignments/{assignment_id:uuid}/obstacles/{obstacle_id:uuid}/resolve")
async def resolve_obstacle(
    commands: Injected[Commands],
    assignment_id: FromPath[UUID],
    obstacle_id: FromPath[UUID],
    data: JSONBody[ResolveRequest],
) -> Response[Any]:
    command = ResolveObstacle(assignment_id, obstacle_id, data.direction, commands.now)
    return await _command(commands, command)


@post("/assignments/{assignment_id:uuid}/reassign")
async def reassign(
    commands: Injected[Commands],
    assignment_id: FromPath[UUID],
    data: JSONBody[ReassignRequest],
) -> Response[Any]:
    command = Reassign(assignment_id, data.to_unit_id, data.reason, commands.now)
    return await _command(commands, command)


@post("/assignments/{assignment_id:uuid}/withdraw")
async def withdraw(
    commands: Injected[Commands],
    assignment_id: FromPath[UUID],
    data: JSONBody[WithdrawRequest],
) -> Response[Any]:
    command = Withdraw(assignment_id, data.reason, commands.now)
    return await _command(commands, command)


@get("/assignments/{assignment_id:uuid}")
async def get_assignment(
    store: Injected[EventStore],
    pool: Injected[Pool],
    actor: NamedDependency[Actor],
    now: Injected[datetime],
    assignment_id: FromPath[UUID],
    valid_at: ValidAt = None,
) -> Response[Any]:
    """The task folded from its stream (with `valid_at`, from its events in effect then);
    outside the reader's reach it answers like an unknown task (404)."""
    found = await assignments.view(store, assignment_id, now)
    if found is None or not await may_read(pool, actor, _readers(found.body)):
        raise Problem(
            404, "unknown-assignment", "Unknown task", f"task {assignment_id} does not exist"
        )
    effective = instant_or_day(valid_at, "valid_at")
    if effective is not None:
        then = await assignments.view_in_effect(store, assignment_id, effective)
        if then is None:
            raise Problem(
                404,
                "not-in-effect-then",
                "Not in effect then",
                f"task {assignment_id} had not been issued by {effective.isoformat()}",
            )
        return Response({**await _named(pool, then.body), "valid_at": effective.isoformat()})
    return Response(await _named(pool, found.body), headers={"ETag": f'"{found.version}"'})


async def _named(pool: Pool, body: dict[str, Any]) -> dict[str, Any]:
    """The task with each unit it names given with its name and short code."""
    roles = ("lead_unit_id", "report_to_unit_id", "issuer_unit_id")
    ids = [str(body[r]) for r in roles if body.get(r)]
    ids += [str(u) for u in body.get("coordinating_unit_ids", ())]
    names = await unit_directory.names_of(pool, (UUID(i) for i in ids))

    return {
        **body,
        **{r.removesuffix("_id"): named(names, body[r]) for r in roles if body.get(r)},
        "coordinating_units": [named(names, u) for u in body.get("coordinating_unit_ids", ())],
    }


def _readers(body: dict[str, Any]) -> list[UUID | None]:
    def unit(value: Any) -> UUID | None:
        return UUID(value) if value and value != "None" else None

    return task_readers(
        unit(body.get("lead_unit_id")),
        [unit(u) for u in body.get("coordinating_unit_ids", ())],
        unit(body.get("report_to_unit_id")),
        unit(body.get("issuer_unit_id")),
    )


ROUTES = [
    issue_assignments,
    set_due,
    acknowledge,
    progress,
    file_submission,
    review,
    request_extension,
    decide_extension,
    raise_obstacle,
    resolve_obstacle,
    reassign,
    withdraw,
    get_assignment,
]
