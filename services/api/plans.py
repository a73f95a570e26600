"""Routes of plans: /plans."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any
from uuid import UUID

import msgspec
from litestar import Response, post
from litestar.params import FromPath, JSONBody

from events.plans import (
    Addressee,
    Authority,
    DueRule,
    EscalationStep,
    Phase,
    PlanKind,
    Recipient,
    ReviewStep,
    Secrecy,
    Signer,
    Urgency,
)
from events.store import EventStore
from projections import plan_view
from services.api.commanding import Commands, new_id
from services.api.dependencies import Injected, Pool
from services.api.dues import written_due
from services.api.problems import Problem
from services.api.times import aware
from services.domain.due_reading import parse_date
from services.domain.plan import (
    AddAttachment,
    AmendPlan,
    CancelPlan,
    ClosePlan,
    DraftPlan,
    ImplementsRef,
    LinkSubPlan,
    RecordItem,
    SupersedePlan,
)
from services.handlers import plans
from services.handlers.auth import Actor
from services.handlers.reach import may_read

Text = Annotated[str, msgspec.Meta(max_length=2000)]
LongText = Annotated[str, msgspec.Meta(max_length=20_000)]


class ImplementsRequest(msgspec.Struct, forbid_unknown_fields=True):
    plan_id: UUID | None = None
    number: Annotated[str, msgspec.Meta(max_length=80)] | None = None
    issued_on: Annotated[str, msgspec.Meta(max_length=40)] | None = None
    title: Text | None = None


class PhaseRequest(msgspec.Struct, forbid_unknown_fields=True):
    id: Annotated[str, msgspec.Meta(min_length=1, max_length=40)]
    name: Annotated[str, msgspec.Meta(min_length=1, max_length=500)]
    starts_on: Annotated[str, msgspec.Meta(max_length=40)] | None = None
    ends_on: Annotated[str, msgspec.Meta(max_length=40)] | None = None
    bounds: Text | None = None

    def phase(self) -> Phase:
        return Phase(
            phase_id=self.id,
            name=self.name,
            starts_on=parse_date(self.starts_on, "starts_on") if self.starts_on else None,
            ends_on=parse_date(self.ends_on, "ends_on") if self.ends_on else None,
            bounds=self.bounds,
        )


class DraftPlanRequest(msgspec.Struct, forbid_unknown_fields=True):
    kind: PlanKind
    title: Annotated[str, msgspec.Meta(min_length=1, max_length=500)]
    issuer_unit_id: UUID
    implements: Annotated[list[ImplementsRequest], msgspec.Meta(max_length=50)] = []
    purpose: LongText | None = None
    phases: Annotated[list[PhaseRequest], msgspec.Meta(max_length=50)] = []
    recipients: Annotated[list[Recipient], msgspec.Meta(max_length=2000)] = []
    escalation_policy: Annotated[list[EscalationStep], msgspec.Meta(max_length=20)] | None = None
    review_steps: list[ReviewStep] = msgspec.field(default_factory=lambda: ["approval"])
    shift_day_off: bool = False
    id: UUID | None = None


class SignerRequest(msgspec.Struct, forbid_unknown_fields=True):
    name: Annotated[str, msgspec.Meta(max_length=200)]
    title: Annotated[str, msgspec.Meta(max_length=200)]
    authority: Authority | None = None
    on_behalf_of: Annotated[str, msgspec.Meta(max_length=200)] | None = None
    outer_authority: Authority | None = None
    outer_on_behalf_of: Annotated[str, msgspec.Meta(max_length=200)] | None = None
    signed_copy: bool = False


Line = Annotated[str, msgspec.Meta(max_length=500)]


class AddresseeRequest(msgspec.Struct, forbid_unknown_fields=True):
    text: Line
    unit_id: UUID | None = None


class IssuePlanRequest(msgspec.Struct, forbid_unknown_fields=True):
    """What the document states; what it does not (a letter "không số", no place, no signer, a
    date not known) is left out and stays unknown."""

    number: Annotated[str, msgspec.Meta(max_length=80)] | None = None
    place: Annotated[str, msgspec.Meta(max_length=200)] | None = None
    signer: SignerRequest | None = None
    issued_on: Annotated[str, msgspec.Meta(max_length=40)] | None = None
    effective_at: datetime | None = None
    urgency: Urgency | None = None
    secrecy: Secrecy | None = None
    content_sha256: Annotated[str, msgspec.Meta(pattern="^[0-9a-f]{64}$")] | None = None
    addressees: Annotated[list[AddresseeRequest], msgspec.Meta(max_length=500)] = []
    distribution: Annotated[list[AddresseeRequest], msgspec.Meta(max_length=500)] = []
    annexes: Annotated[
        list[Annotated[str, msgspec.Meta(max_length=500)]], msgspec.Meta(max_length=100)
    ] = []


class AmendPlanRequest(msgspec.Struct, forbid_unknown_fields=True):
    reason: Text
    title: Annotated[str, msgspec.Meta(max_length=500)] | None = None
    purpose: LongText | None = None
    phases: Annotated[list[PhaseRequest], msgspec.Meta(max_length=50)] | None = None
    recipients: Annotated[list[Recipient], msgspec.Meta(max_length=2000)] | None = None
    escalation_policy: Annotated[list[EscalationStep], msgspec.Meta(max_length=20)] | None = None
    review_steps: list[ReviewStep] | None = None


class CloseRequest(msgspec.Struct, forbid_unknown_fields=True):
    reason: Text | None = None


class CancelRequest(msgspec.Struct, forbid_unknown_fields=True):
    reason: Text


class SupersedeRequest(msgspec.Struct, forbid_unknown_fields=True):
    superseded_by: UUID
    reason: Text | None = None


class AttachmentRequest(msgspec.Struct, forbid_unknown_fields=True):
    name: Annotated[str, msgspec.Meta(max_length=255)]
    media_type: Annotated[str, msgspec.Meta(max_length=200)]
    sha256: Annotated[str, msgspec.Meta(max_length=64)]
    size: int
    id: UUID | None = None


class SubPlanRequest(msgspec.Struct, forbid_unknown_fields=True):
    sub_plan_id: UUID


@post("/plans", status_code=201)
async def draft_plan(
    commands: Injected[Commands],
    pool: Injected[Pool],
    data: JSONBody[DraftPlanRequest],
) -> Response[Any]:
    command = DraftPlan(
        plan_id=new_id(data.id),
        kind=data.kind,
        title=data.title,
        issuer_unit_id=data.issuer_unit_id,
        implements=tuple(
            ImplementsRef(
                ref.plan_id,
                ref.number,
                parse_date(ref.issued_on, "issued_on") if ref.issued_on else None,
                ref.title,
            )
            for ref in data.implements
        ),
        purpose=data.purpose,
        phases=tuple(p.phase() for p in data.phases),
        recipients=tuple(data.recipients),
        escalation_policy=tuple(data.escalation_policy) if data.escalation_policy else None,
        review_steps=tuple(data.review_steps),
        shift_day_off=data.shift_day_off,
    )
    return await commands.run(plans.handler(command, commands.actor, pool))


@post("/plans/{plan_id:uuid}/issue")
async def issue_plan(
    commands: Injected[Commands],
    pool: Injected[Pool],
    plan_id: FromPath[UUID],
    data: JSONBody[IssuePlanRequest],
) -> Response[Any]:
    command = plans.Issue(
        plan_id=plan_id,
        number=data.number,
        place=data.place,
        signer=(
            None
            if data.signer is None
            else Signer(
                name=data.signer.name,
                title=data.signer.title,
                authority=data.signer.authority,
                on_behalf_of=data.signer.on_behalf_of,
                outer_authority=data.signer.outer_authority or msgspec.UNSET,
                outer_on_behalf_of=data.signer.outer_on_behalf_of or msgspec.UNSET,
                signed_copy=data.signer.signed_copy or msgspec.UNSET,
            )
        ),
        addressees=tuple(Addressee(text=a.text, unit_id=a.unit_id) for a in data.addressees),
        distribution=tuple(Addressee(text=a.text, unit_id=a.unit_id) for a in data.distribution),
        annexes=tuple(data.annexes),
        now=commands.now,
        issued_on=parse_date(data.issued_on, "issued_on") if data.issued_on else None,
        effective_at=aware(data.effective_at, "effective_at"),
        urgency=data.urgency,
        secrecy=data.secrecy,
        content_sha256=data.content_sha256,
    )
    return await commands.run(plans.handler(command, commands.actor, pool))


@post("/plans/{plan_id:uuid}/amend")
async def amend_plan(
    commands: Injected[Commands],
    pool: Injected[Pool],
    plan_id: FromPath[UUID],
    data: JSONBody[AmendPlanRequest],
) -> Response[Any]:
    command = AmendPlan(
        plan_id=plan_id,
        reason=data.reason,
        now=commands.now,
        title=data.title,
        purpose=data.purpose,
        phases=tuple(p.phase() for p in data.phases) if data.phases is not None else None,
        recipients=tuple(data.recipients) if data.recipients is not None else None,
        escalation_policy=tuple(data.escalation_policy) if data.escalation_policy else None,
        review_steps=tuple(data.review_steps) if data.review_steps is not None else None,
    )
    return await commands.run(plans.handler(command, commands.actor, pool))


@post("/plans/{plan_id:uuid}/close")
async def close_plan(
    commands: Injected[Commands],
    pool: Injected[Pool],
    plan_id: FromPath[UUID],
    data: JSONBody[CloseRequest],
) -> Response[Any]:
    command = ClosePlan(plan_id, commands.now, data.reason)
    return await commands.run(plans.handler(command, commands.actor, pool))


@post("/plans/{plan_id:uuid}/cancel")
async def cancel_plan(
    commands: Injected[Commands],
    pool: Injected[Pool],
    plan_id: FromPath[UUID],
    data: JSONBody[CancelRequest],
) -> Response[Any]:
    command = CancelPlan(plan_id, commands.now, data.reason)
    return await commands.run(plans.handler(command, commands.actor, pool))


@post("/plans/{plan_id:uuid}/supersede")
async def supersede_plan(
    commands: Injected[Commands],
    pool: Injected[Pool],
    plan_id: FromPath[UUID],
    data: JSONBody[SupersedeRequest],
) -> Response[Any]:
    command = SupersedePlan(plan_id, data.superseded_by, commands.now, data.reason)
    return await commands.run(plans.handler(command, commands.actor, pool))


@post("/plans/{plan_id:uuid}/attachments", status_code=201)
async def add_attachment(
    commands: Injected[Commands],
    pool: Injected[Pool],
    plan_id: FromPath[UUID],
    data: JSONBody[AttachmentRequest],
) -> Response[Any]:
    command = AddAttachment(
        plan_id, new_id(data.id), data.name, data.media_type, data.sha256, data.size
    )
    return await commands.run(plans.handler(command, commands.actor, pool))


class ItemRequest(msgspec.Struct, forbid_unknown_fields=True):
    """An item that names no lead unit: its words, whom it addresses in words, its due."""

    text: LongText
    item: Annotated[str, msgspec.Meta(max_length=40)] | None = None
    addressed_to: Line | None = None
    due: datetime | None = None
    due_date: Annotated[str, msgspec.Meta(max_length=40)] | None = None
    due_rule: DueRule | None = None
    due_text: Line | None = None
    starts_on: Annotated[str, msgspec.Meta(max_length=40)] | None = None
    id: UUID | None = None


@post("/plans/{plan_id:uuid}/items", status_code=201)
async def record_item(
    commands: Injected[Commands],
    pool: Injected[Pool],
    plan_id: FromPath[UUID],
    data: JSONBody[ItemRequest],
) -> Response[Any]:
    due, stated = written_due(commands, data.due, data.due_date, data.due_rule, data.due_text)
    command = RecordItem(
        plan_id=plan_id,
        item_id=new_id(data.id),
        text=data.text,
        now=commands.now,
        item=data.item,
        addressed_to=data.addressed_to,
        due=due,
        stated_due=stated,
        starts_on=parse_date(data.starts_on, "starts_on") if data.starts_on else None,
    )
    return await commands.run(plans.handler(command, commands.actor, pool))


@post("/plans/{plan_id:uuid}/sub-plans", status_code=201)
async def link_sub_plan(
    commands: Injected[Commands],
    pool: Injected[Pool],
    plan_id: FromPath[UUID],
    data: JSONBody[SubPlanRequest],
) -> Response[Any]:
    command = LinkSubPlan(plan_id, data.sub_plan_id)
    return await commands.run(plans.handler(command, commands.actor, pool))


async def readable_plan(
    store: EventStore, pool: Pool, actor: Actor, plan_id: UUID
) -> plan_view.PlanView:
    """The plan folded from its stream, if it exists and the reader may read it: outside
    reach it answers like an unknown plan (404), so a reader learns nothing of it."""
    found = await plans.view(store, plan_id)
    if found is None or not await may_read(pool, actor, plans.readers(found.plan)):
        raise Problem(404, "unknown-plan", "Unknown plan", f"plan {plan_id} does not exist")
    return found


ROUTES = [
    draft_plan,
    issue_plan,
    amend_plan,
    close_plan,
    cancel_plan,
    supersede_plan,
    add_attachment,
    link_sub_plan,
    record_item,
]
