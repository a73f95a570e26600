"""Plans: draft, issue, amend, close, cancel, supersede, attachments, sub-plans.

Only a draft is issued; an issued plan is amended, never edited; a closed, cancelled or
superseded plan takes no new tasks. Time and ids arrive in the commands.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from typing import Literal
from uuid import UUID

import msgspec

from events.catalog import Event
from events.plans import (
    Addressee,
    AttachmentAdded,
    EscalationStep,
    Implements,
    Phase,
    PlanAmended,
    PlanCancelled,
    PlanClosed,
    PlanDrafted,
    PlanIssued,
    PlanItemRecorded,
    PlanKind,
    PlanSuperseded,
    Recipient,
    ReviewStep,
    Secrecy,
    Signer,
    StatedDue,
    SubPlanLinked,
    Urgency,
)
from services.domain import refusal_codes as codes
from services.domain.calendar import check_day, check_instant, day_of
from services.domain.docnumber import DocumentNumber, InvalidDocumentNumber, parse
from services.domain.due_reading import as_written
from services.domain.refusal import Decision, Key, Refused
from services.domain.rules import BACKDATE_TOLERANCE, optional_text, refuse_unsafe, text
from services.domain.text import fold, normalize_text
from services.domain.unit import Unit

Status = Literal["unknown", "draft", "issued", "closed", "cancelled", "superseded"]
ENDED = ("closed", "cancelled", "superseded")
# A fact stamped later than this before "now" is history entered late: backdating.


@dataclass(frozen=True)
class Plan:
    id: UUID
    status: Status = "unknown"
    kind: str = ""
    title: str = ""
    issuer_unit_id: UUID | None = None
    purpose: str | None = None
    phases: tuple[Phase, ...] = ()
    recipients: tuple[Recipient, ...] = ()
    implements: tuple[Implements, ...] = ()
    escalation_policy: tuple[EscalationStep, ...] | None = None
    review_steps: tuple[ReviewStep, ...] = ("approval",)
    number: str | None = None
    shift_day_off: bool = False
    issued_on: date | None = None
    attachments: tuple[UUID, ...] = ()
    items: tuple[UUID, ...] = ()
    """Items recorded without a lead (`PlanItemRecorded`)."""
    sub_plans: tuple[UUID, ...] = ()
    superseded_by: UUID | None = None

    @property
    def accepts_tasks(self) -> bool:
        return self.status == "issued"


def initial(plan_id: UUID) -> Plan:
    """A plan before any event: unknown."""
    return Plan(plan_id)


def evolve(state: Plan, event: Event) -> Plan:
    match event:
        case PlanDrafted():
            return Plan(
                event.plan_id,
                "draft",
                event.kind,
                event.title,
                event.issuer_unit_id,
                event.purpose,
                event.phases,
                event.recipients,
                event.implements,
                event.escalation_policy,
                event.review_steps,
                shift_day_off=event.shift_day_off,
            )
        case PlanIssued():
            return replace(state, status="issued", number=event.number, issued_on=event.issued_on)
        case PlanAmended():
            changes = {name: getattr(event, name) for name in event.changed}
            return replace(state, **changes)
        case AttachmentAdded():
            return replace(state, attachments=(*state.attachments, event.attachment_id))
        case PlanItemRecorded():
            return replace(state, items=(*state.items, event.item_id))
        case SubPlanLinked():
            return replace(state, sub_plans=(*state.sub_plans, event.sub_plan_id))
        case PlanClosed():
            return replace(state, status="closed")
        case PlanCancelled():
            return replace(state, status="cancelled")
        case PlanSuperseded():
            return replace(state, status="superseded", superseded_by=event.superseded_by)
    return state


# -- commands -------------------------------------------------------------------------------


@dataclass(frozen=True)
class ImplementsRef:
    """A plan of the ledger by id, or a document outside it by its number."""

    plan_id: UUID | None = None
    number: str | None = None
    issued_on: date | None = None
    title: str | None = None


@dataclass(frozen=True)
class DraftPlan:
    plan_id: UUID
    kind: PlanKind
    title: str
    issuer_unit_id: UUID
    implements: tuple[ImplementsRef, ...] = ()
    purpose: str | None = None
    phases: tuple[Phase, ...] = ()
    recipients: tuple[Recipient, ...] = ()
    escalation_policy: tuple[EscalationStep, ...] | None = None
    review_steps: tuple[ReviewStep, ...] = ("approval",)
    shift_day_off: bool = False


@dataclass(frozen=True)
class IssuePlan:
    """What the document states: a number, place, signer or issue date it does not give is
    None, and stays unknown."""

    plan_id: UUID
    number: str | None
    place: str | None
    issued_on: date | None
    effective_at: datetime
    signer: Signer | None
    now: datetime
    today: date
    numbering_period: str | None
    may_backdate: bool = False
    urgency: Urgency | None = None
    secrecy: Secrecy | None = None
    content_sha256: str | None = None
    issuer_code: str | None = None
    """The issuing unit's short code: a number whose issuer symbols do not name it is flagged."""
    addressees: tuple[Addressee, ...] = ()
    distribution: tuple[Addressee, ...] = ()
    annexes: tuple[str, ...] = ()


@dataclass(frozen=True)
class AmendPlan:
    plan_id: UUID
    reason: str
    now: datetime
    title: str | None = None
    purpose: str | None = None
    phases: tuple[Phase, ...] | None = None
    recipients: tuple[Recipient, ...] | None = None
    escalation_policy: tuple[EscalationStep, ...] | None = None
    review_steps: tuple[ReviewStep, ...] | None = None


@dataclass(frozen=True)
class ClosePlan:
    plan_id: UUID
    now: datetime
    reason: str | None = None


@dataclass(frozen=True)
class CancelPlan:
    plan_id: UUID
    now: datetime
    reason: str


@dataclass(frozen=True)
class SupersedePlan:
    plan_id: UUID
    superseded_by: UUID
    now: datetime
    reason: str | None = None


@dataclass(frozen=True)
class AddAttachment:
    plan_id: UUID
    attachment_id: UUID
    name: str
    media_type: str
    sha256: str
    size: int


@dataclass(frozen=True)
class LinkSubPlan:
    plan_id: UUID
    sub_plan_id: UUID


@dataclass(frozen=True)
class RecordItem:
    """An item of the plan that names no lead unit, recorded as written."""

    plan_id: UUID
    item_id: UUID
    text: str
    now: datetime
    item: str | None = None
    addressed_to: str | None = None
    due: datetime | None = None
    stated_due: StatedDue | None = None
    starts_on: date | None = None


PlanCommand = (
    DraftPlan
    | RecordItem
    | IssuePlan
    | AmendPlan
    | ClosePlan
    | CancelPlan
    | SupersedePlan
    | AddAttachment
    | LinkSubPlan
)


@dataclass(frozen=True)
class Context:
    """What a plan decision needs to know of others, loaded by the shell: units by id, plans by
    id, and for a sub-plan the lineage of its issuer (that unit up to the root)."""

    units: Mapping[UUID, Unit] = field(default_factory=dict)
    plans: Mapping[UUID, Plan] = field(default_factory=dict)
    lineage: Sequence[Unit] = ()

    def unit(self, unit_id: UUID) -> Unit:
        return self.units.get(unit_id) or Unit(unit_id)

    def plan(self, plan_id: UUID) -> Plan:
        return self.plans.get(plan_id) or initial(plan_id)


def number_key(issuer_unit_id: UUID, number: DocumentNumber, kind: str, period: str) -> Key:
    """Party numbers restart with each committee term, state numbers with each year; both
    per issuing unit and kind of document."""
    return Key(
        f"docno:{number.form}:{issuer_unit_id}:{number.kind or kind}:{period}", str(number.number)
    )


UNDATED = "undated"
"""The numbering period a number is reserved in when the document's date is not known."""

_SHA256 = re.compile(r"^[0-9a-f]{64}$")
_MEDIA_TYPE = re.compile(r"^[a-z0-9][a-z0-9!#$&^_.+-]*/[a-z0-9][a-z0-9!#$&^_.+-]*$")


_NOT_YET_OR_PAST = {"draft": codes.PLAN_DRAFT, "issued": codes.PLAN_ISSUED}
"""The refusal of a command the plan's status does not allow (an ended plan: plan-ended)."""


def _require(plan: Plan, *statuses: Status) -> None:
    if plan.status == "unknown":
        raise Refused(codes.UNKNOWN_PLAN, f"plan {plan.id} does not exist")
    if plan.status not in statuses:
        code = codes.PLAN_ENDED if plan.status in ENDED else _NOT_YET_OR_PAST[plan.status]
        raise Refused(code, f"plan {plan.id} is {plan.status}", plan_status=plan.status)


def _check_units(recipients: Sequence[Recipient], context: Context) -> None:
    seen: set[UUID] = set()
    for recipient in recipients:
        if recipient.unit_id in seen:
            raise Refused(codes.DUPLICATE_RECIPIENT, f"unit {recipient.unit_id} is named twice")
        seen.add(recipient.unit_id)
        unit = context.unit(recipient.unit_id)
        if unit.status == "unknown":
            raise Refused(codes.UNKNOWN_RECIPIENT, f"recipient {unit.id} does not exist")
        if not unit.active:
            raise Refused(codes.RECIPIENT_INACTIVE, f"recipient {unit.id} is {unit.status}")


def _check_phases(phases: Sequence[Phase]) -> None:
    ids = [p.phase_id for p in phases]
    if len(set(ids)) != len(ids):
        raise Refused(codes.INVALID_PHASE, "two phases share an id")
    for phase in phases:
        for day in (phase.starts_on, phase.ends_on):
            if day is not None:
                check_day(day, "phase date")
        if phase.starts_on and phase.ends_on and phase.ends_on < phase.starts_on:
            raise Refused(codes.INVALID_PHASE, f"phase {phase.phase_id} ends before it starts")


def _check_review_steps(steps: Sequence[str]) -> None:
    if list(steps) not in (["approval"], ["appraisal", "approval"]):
        raise Refused(
            codes.INVALID_REVIEW_STEPS, 'review steps are ["approval"] or ["appraisal", "approval"]'
        )


LONGEST_OFFSET = 60
"""An escalation step fires at most 60 working days (about three months) before or after the
due."""


def check_policy(policy: Sequence[EscalationStep] | None) -> None:
    if policy is None:
        return
    for step in policy:
        if not -LONGEST_OFFSET <= step.offset <= LONGEST_OFFSET:
            raise Refused(
                codes.INVALID_ESCALATION_POLICY,
                f"an offset is -{LONGEST_OFFSET} to +{LONGEST_OFFSET} working days,"
                f" not {step.offset}",
            )
    if not any(step.action == "miss" and step.offset == 0 for step in policy):
        raise Refused(codes.INVALID_ESCALATION_POLICY, "a policy records the miss at offset 0")
    if len({(s.offset, s.action, s.target) for s in policy}) != len(policy):
        raise Refused(codes.INVALID_ESCALATION_POLICY, "a step is listed twice")


def _implements(refs: Sequence[ImplementsRef], context: Context) -> tuple[Implements, ...]:
    result = []
    for ref in refs:
        if (ref.plan_id is None) == (ref.number is None):
            raise Refused(codes.INVALID_IMPLEMENTS, "cite a plan by id or a document by its number")
        if ref.plan_id is not None:
            cited = context.plan(ref.plan_id)
            if cited.status == "unknown":
                raise Refused(codes.UNKNOWN_PLAN, f"implemented plan {ref.plan_id} does not exist")
            if cited.status == "draft":
                raise Refused(
                    codes.IMPLEMENTED_PLAN_NOT_ISSUED,
                    f"plan {ref.plan_id} is a draft, not a document yet",
                )
            result.append(
                Implements(
                    plan_id=ref.plan_id,
                    number=cited.number,
                    issued_on=cited.issued_on,
                    title=cited.title,
                )
            )
        else:
            assert ref.number is not None
            number = _parse(ref.number)
            if ref.issued_on is not None:
                check_day(ref.issued_on, "cited document's date")
            result.append(
                Implements(
                    number=number.written,
                    number_normalized=number.normalized,
                    issued_on=ref.issued_on,
                    title=_cited_title(ref.title) if ref.title else None,
                )
            )
    return tuple(result)


def _parse(text: str) -> DocumentNumber:
    try:
        return parse(text)
    except InvalidDocumentNumber as error:
        raise Refused(codes.INVALID_DOCUMENT_NUMBER, str(error)) from None


def decide(command: PlanCommand, state: Plan, context: Context = Context()) -> Decision:
    match command:
        case DraftPlan():
            return _draft(command, state, context)
        case IssuePlan():
            return _issue(command, state)
        case AmendPlan():
            return _amend(command, state, context)
        case ClosePlan():
            return _close(command, state)
        case CancelPlan():
            return _cancel(command, state)
        case SupersedePlan():
            return _supersede(command, state, context)
        case AddAttachment():
            return _add_attachment(command, state)
        case RecordItem():
            return _record_item(command, state)
        case LinkSubPlan():
            return _link_sub_plan(command, state, context)


def _draft(command: DraftPlan, plan: Plan, context: Context) -> Decision:
    if plan.status != "unknown":
        raise Refused(codes.PLAN_EXISTS, f"plan {plan.id} already exists")
    issuer = context.unit(command.issuer_unit_id)
    if issuer.status == "unknown":
        raise Refused(codes.UNKNOWN_ISSUER, f"issuing unit {issuer.id} does not exist")
    if not issuer.active:
        raise Refused(codes.ISSUER_INACTIVE, f"issuing unit {issuer.id} is {issuer.status}")
    _check_units(command.recipients, context)
    _check_phases(command.phases)
    _check_review_steps(command.review_steps)
    check_policy(command.escalation_policy)
    return Decision(
        [
            PlanDrafted(
                plan_id=command.plan_id,
                kind=command.kind,
                title=text(command.title, codes.INVALID_TITLE, 500),
                issuer_unit_id=command.issuer_unit_id,
                implements=_implements(command.implements, context),
                purpose=_purpose(command.purpose) if command.purpose else None,
                phases=command.phases,
                recipients=command.recipients,
                escalation_policy=command.escalation_policy,
                review_steps=command.review_steps,
                shift_day_off=command.shift_day_off,
            )
        ]
    )


def _close(command: ClosePlan, plan: Plan) -> Decision:
    _require(plan, "issued")
    return Decision([PlanClosed(plan_id=plan.id, effective_at=command.now, reason=command.reason)])


def _cancel(command: CancelPlan, plan: Plan) -> Decision:
    _require(plan, "draft", "issued")
    return Decision(
        [
            PlanCancelled(
                plan_id=plan.id,
                effective_at=command.now,
                reason=text(command.reason, codes.INVALID_REASON, 2000),
            )
        ]
    )


def _supersede(command: SupersedePlan, plan: Plan, context: Context) -> Decision:
    _require(plan, "issued")
    if command.superseded_by == plan.id:
        raise Refused(codes.SAME_PLAN, "a plan cannot supersede itself")
    successor = context.plan(command.superseded_by)
    if successor.status != "issued":
        raise Refused(
            codes.SUCCESSOR_NOT_ISSUED,
            f"plan {successor.id} is {successor.status}, not issued",
        )
    return Decision(
        [
            PlanSuperseded(
                plan_id=plan.id,
                superseded_by=successor.id,
                effective_at=command.now,
                reason=command.reason,
            )
        ]
    )


def _record_item(command: RecordItem, plan: Plan) -> Decision:
    if not plan.accepts_tasks:
        raise Refused(
            codes.PLAN_TAKES_NO_TASKS, f"plan {plan.id} is {plan.status}", plan_status=plan.status
        )
    if command.item_id in plan.items:
        raise Refused(codes.ITEM_EXISTS, f"item {command.item_id} exists")
    if command.due is not None:
        check_instant(command.due, "due")
    if command.starts_on is not None:
        check_day(command.starts_on, "starts_on")
        if command.due is not None and command.starts_on >= day_of(command.due):
            raise Refused(
                codes.INVALID_DUE, "the execution window starts on or after the day of the due"
            )
    return Decision(
        [
            PlanItemRecorded(
                plan_id=plan.id,
                item_id=command.item_id,
                item=optional_text(command.item, codes.INVALID_ITEM, 40),
                text=text(command.text, codes.INVALID_TEXT),
                addressed_to=optional_text(command.addressed_to, codes.INVALID_ADDRESSEE, 500),
                due=command.due,
                stated_due=as_written(command.stated_due),
                starts_on=command.starts_on,
            )
        ]
    )


def _add_attachment(command: AddAttachment, plan: Plan) -> Decision:
    _require(plan, "draft", "issued")
    if command.attachment_id in plan.attachments:
        raise Refused(codes.ATTACHMENT_EXISTS, f"attachment {command.attachment_id} exists")
    if not _SHA256.match(command.sha256):
        raise Refused(codes.INVALID_ATTACHMENT, "sha256 is 64 lower-case hex digits")
    if not _MEDIA_TYPE.match(command.media_type):
        raise Refused(codes.INVALID_ATTACHMENT, f"{command.media_type!r} is not a media type")
    if not 0 <= command.size <= 2**40:
        raise Refused(codes.INVALID_ATTACHMENT, "size is 0 to 1 TiB")
    return Decision(
        [
            AttachmentAdded(
                plan_id=plan.id,
                attachment_id=command.attachment_id,
                name=text(command.name, codes.INVALID_ATTACHMENT_NAME, 255),
                media_type=command.media_type,
                sha256=command.sha256,
                size=command.size,
            )
        ]
    )


def _link_sub_plan(command: LinkSubPlan, plan: Plan, context: Context) -> Decision:
    _require(plan, "issued")
    if command.sub_plan_id == plan.id:
        raise Refused(codes.SAME_PLAN, "a plan cannot implement itself")
    if command.sub_plan_id in plan.sub_plans:
        raise Refused(codes.ALREADY_LINKED, f"plan {command.sub_plan_id} is linked already")
    sub = context.plan(command.sub_plan_id)
    if sub.status == "unknown":
        raise Refused(codes.UNKNOWN_SUB_PLAN, f"plan {command.sub_plan_id} does not exist")
    if sub.status != "issued":
        raise Refused(codes.SUB_PLAN_NOT_ISSUED, f"plan {sub.id} is {sub.status}")
    ancestors = [u.id for u in context.lineage[1:]]
    if plan.issuer_unit_id not in ancestors:
        raise Refused(
            codes.NOT_A_LOWER_UNIT, "a sub-plan is issued by a unit below the plan's issuer"
        )
    assert sub.issuer_unit_id is not None
    return Decision(
        [SubPlanLinked(plan_id=plan.id, sub_plan_id=sub.id, sub_plan_issuer_id=sub.issuer_unit_id)]
    )


def _issue(command: IssuePlan, plan: Plan) -> Decision:
    _require(plan, "draft")
    number = _parse(command.number) if command.number is not None else None
    issued_on = command.issued_on
    if number is not None:
        if number.form == "party" or number.kind is not None:
            if number.kind != plan.kind:
                raise Refused(
                    codes.NUMBER_KIND_MISMATCH,
                    f"{number.written} is a {number.kind}, the plan is a {plan.kind}",
                )
        elif plan.kind != "CV":
            raise Refused(
                codes.NUMBER_KIND_MISMATCH,
                f"{number.written} has no kind code: only an official letter (CV) has none",
            )
        if number.year is not None and issued_on is not None and number.year != issued_on.year:
            raise Refused(
                codes.NUMBER_YEAR_MISMATCH,
                f"{number.written} is numbered in {number.year}, issued in {issued_on.year}",
            )
    if issued_on is not None:
        if issued_on > command.today:
            raise Refused(codes.ISSUE_DATE_IN_FUTURE, f"{issued_on} is after today")
        check_day(issued_on, "issue date")
    if command.effective_at > command.now + timedelta(minutes=5):
        raise Refused(codes.EFFECTIVE_IN_FUTURE, "a plan takes effect when it is issued, not later")
    check_instant(command.effective_at, "effective time")
    if issued_on is not None and command.effective_at.date() < issued_on - timedelta(days=1):
        raise Refused(codes.EFFECTIVE_BEFORE_ISSUE, "it takes effect on or after its issue date")
    backdated = (
        issued_on is not None and issued_on < command.today
    ) or command.effective_at < command.now - BACKDATE_TOLERANCE
    if backdated and not command.may_backdate:
        raise Refused(
            codes.BACKDATING_NOT_ALLOWED,
            "only an admin or an import gives a plan a date in the past",
        )
    signer = (
        None
        if command.signer is None
        else Signer(
            name=text(command.signer.name, codes.INVALID_SIGNER, 200),
            title=text(command.signer.title, codes.INVALID_SIGNER_TITLE, 200),
            authority=command.signer.authority,
            on_behalf_of=optional_text(command.signer.on_behalf_of, codes.INVALID_SIGNER, 200),
            outer_authority=command.signer.outer_authority or msgspec.UNSET,
            outer_on_behalf_of=(
                optional_text(command.signer.outer_on_behalf_of or None, codes.INVALID_SIGNER, 200)
                or msgspec.UNSET
            ),
            signed_copy=command.signer.signed_copy or msgspec.UNSET,
        )
    )
    assert plan.issuer_unit_id is not None
    period = command.numbering_period if number is not None else None
    # A number without a known period (no issue date) is still the issuer's once: among the
    # undated documents of its kind.
    reserve = (
        [number_key(plan.issuer_unit_id, number, plan.kind, period or UNDATED)]
        if number is not None
        else []
    )
    return Decision(
        [
            PlanIssued(
                plan_id=plan.id,
                number=number.written if number else None,
                number_normalized=number.normalized if number else None,
                number_form=number.form if number else None,
                number_warnings=_number_warnings(number, command.issuer_code),
                place=None
                if command.place is None
                else text(command.place, codes.INVALID_PLACE, 200),
                issued_on=issued_on,
                effective_at=command.effective_at,
                signer=signer,
                urgency=command.urgency,
                secrecy=command.secrecy,
                content_sha256=command.content_sha256,
                addressees=_lines(command.addressees),
                distribution=_lines(command.distribution),
                annexes=tuple(text(a, codes.INVALID_ANNEX, 500) for a in command.annexes),
                numbering_period=period,
            )
        ],
        reserve=reserve,
    )


def _lines(addressees: Sequence[Addressee]) -> tuple[Addressee, ...]:
    """Lines of "Kính gửi" or "Nơi nhận" as written, each once."""
    lines = [
        Addressee(text=text(a.text, codes.INVALID_ADDRESSEE, 500), unit_id=a.unit_id)
        for a in addressees
    ]
    return tuple(dict.fromkeys(lines))


def _number_warnings(number: DocumentNumber | None, issuer_code: str | None) -> tuple[str, ...]:
    """What was odd in the number as written, and an issuer symbol that is not the issuing
    unit's (a warning, not a refusal: offices abbreviate)."""
    if number is None:
        return ()
    warnings = number.warnings
    if issuer_code and fold(issuer_code).upper() not in {fold(i).upper() for i in number.issuers}:
        warnings = (
            *warnings,
            f"issuer symbol {number.issuer_code} is not the issuing unit's ({issuer_code})",
        )
    return warnings


def _cited_title(value: str) -> str:
    cleaned = normalize_text(value)
    refuse_unsafe(cleaned, codes.INVALID_IMPLEMENTS, "cited title")
    return cleaned


def _purpose(value: str) -> str:
    cleaned = normalize_text(value)
    refuse_unsafe(cleaned, codes.INVALID_TEXT, "purpose")
    return cleaned


_AMENDABLE = ("title", "purpose", "phases", "recipients", "escalation_policy", "review_steps")


def _amend(command: AmendPlan, plan: Plan, context: Context) -> Decision:
    _require(plan, "draft", "issued")
    changes = {}
    for name in _AMENDABLE:
        value = getattr(command, name)
        if name == "title" and value is not None:
            value = normalize_text(value)
        if name == "purpose" and value is not None:
            value = _purpose(value)
        if value is not None and value != getattr(plan, name):
            changes[name] = value
    if not changes:
        raise Refused(codes.NOTHING_CHANGED, "the amendment changes nothing")
    if "title" in changes:
        changes["title"] = text(changes["title"], codes.INVALID_TITLE, 500)
    if "recipients" in changes:
        _check_units(changes["recipients"], context)
    if "phases" in changes:
        _check_phases(changes["phases"])
    if "review_steps" in changes:
        _check_review_steps(changes["review_steps"])
    if "escalation_policy" in changes:
        check_policy(changes["escalation_policy"])
    return Decision(
        [
            PlanAmended(
                plan_id=plan.id,
                reason=text(command.reason, codes.INVALID_REASON, 2000),
                effective_at=command.now,
                changed=tuple(changes),
                **changes,
            )
        ]
    )
