"""Events of plans: the documents every campaign starts from."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, Literal
from uuid import UUID

import msgspec

from events.catalog import Event, catalog

PlanKind = Literal["KH", "CV", "HD", "CT", "NQ", "KL", "TB", "CTr", "QĐ", "BC", "ĐA"]
RecipientRole = Literal["implement", "coordinate", "for_information", "for_report", "archive"]
Authority = Literal["TM", "KT", "TL", "TUQ"]
Urgency = Literal["khan", "thuong_khan", "hoa_toc"]
Secrecy = Literal["mat", "toi_mat", "tuyet_mat"]
ReviewStep = Literal["appraisal", "approval"]


DueRule = Literal["before", "by", "within_month", "within_quarter", "within_year"]


class StatedDue(msgspec.Struct, frozen=True, kw_only=True):
    """A due as the document writes it: its words, and the date and reading a clerk entered
    ("trước ngày 26/02/2021": 2021-02-26, before). `on` is the day the due names (the last day
    of a month, quarter or year for those readings); the instant chased is the event's `due`."""

    text: str | None = None
    on: date | None = None
    rule: DueRule | None = None


class Recipient(msgspec.Struct, frozen=True, kw_only=True):
    unit_id: UUID
    role: RecipientRole


class Phase(msgspec.Struct, frozen=True, kw_only=True):
    """A phase (đợt), bounded by dates or by events ("until the provincial congress")."""

    phase_id: str
    name: str
    starts_on: date | None = None
    ends_on: date | None = None
    bounds: str | None = None


class EscalationStep(msgspec.Struct, frozen=True, kw_only=True):
    """A step of a deadline policy: at `offset` working days from the due (negative before)."""

    offset: int
    action: Literal["remind", "miss", "escalate"]
    target: Literal["lead", "report_to", "report_to_parent"]


class Implements(msgspec.Struct, frozen=True, kw_only=True):
    """A document this plan implements: a plan of the ledger, or one cited by its number."""

    plan_id: UUID | None = None
    number: str | None = None
    number_normalized: str | None = None
    issued_on: date | None = None
    title: str | None = None


class Signer(msgspec.Struct, frozen=True, kw_only=True):
    """Who signed: a public record on an issued document (TM. CHI BỘ / BÍ THƯ / Đoàn Văn Tú).
    Two levels of authority read outer first: "TM. ỦY BAN NHÂN DÂN / KT. CHỦ TỊCH / PHÓ CHỦ
    TỊCH" is `outer_authority` TM for `outer_on_behalf_of` "Ủy ban nhân dân", then `authority`
    KT for `on_behalf_of` "Chủ tịch". `signed_copy`: a copy marked "(Đã ký)". Fields left at
    their defaults are not written (unset), so a signer reads as it did before they were added."""

    name: str
    title: str
    authority: Authority | None = None
    on_behalf_of: str | None = None
    outer_authority: Authority | msgspec.UnsetType = msgspec.UNSET
    outer_on_behalf_of: str | msgspec.UnsetType = msgspec.UNSET
    signed_copy: bool | msgspec.UnsetType = msgspec.UNSET


class Addressee(msgspec.Struct, frozen=True, kw_only=True):
    """One line of "Kính gửi" (a unit of the ledger, or words) or of "Nơi nhận" ("Như kính
    gửi", "Các đồng chí trong Ban Chấp hành", "Lưu: VT"), kept as written."""

    text: str
    unit_id: UUID | None = None


@catalog.register()
class PlanDrafted(Event, frozen=True, kw_only=True):
    plan_id: UUID
    kind: PlanKind
    title: str
    issuer_unit_id: UUID
    implements: tuple[Implements, ...] = ()
    purpose: str | None = None
    phases: tuple[Phase, ...] = ()
    recipients: tuple[Recipient, ...] = ()
    escalation_policy: tuple[EscalationStep, ...] | None = None
    review_steps: tuple[ReviewStep, ...] = ("approval",)
    shift_day_off: bool = False
    """Its tasks' default: a due on a day off moves to the end of the next working day."""


@catalog.register(schema_version=2)
class PlanIssued(Event, frozen=True, kw_only=True):
    """v2: a document that gives less keeps what it does not state unknown (None): no number
    ("không số"), no place, no signer, an issue date not known."""

    plan_id: UUID
    number: str | None
    number_normalized: str | None
    number_form: Literal["party", "state"] | None
    number_warnings: tuple[str, ...] = ()
    place: str | None
    issued_on: date | None
    effective_at: datetime
    signer: Signer | None
    urgency: Urgency | None = None
    secrecy: Secrecy | None = None
    content_sha256: str | None = None
    addressees: tuple[Addressee, ...] = ()
    """"Kính gửi": to whom the document is addressed."""
    distribution: tuple[Addressee, ...] = ()
    """"Nơi nhận": where copies go, as the document lists them."""
    annexes: tuple[str, ...] = ()
    """Attachments the document names ("Kèm theo ...") whose files may not be in the ledger."""
    numbering_period: str | None
    """The Party committee term (2020-2025) or the year whose numbering the number belongs to;
    None when there is no number, or no date to place it in (then it reserves nothing)."""


@catalog.upcaster("PlanIssued", 1)
def _v1_is_v2(data: dict[str, Any]) -> dict[str, Any]:
    """v1 always stated the number, place, signer and issue date."""
    return data


@catalog.register()
class PlanAmended(Event, frozen=True, kw_only=True):
    """What changed and why; the fields not named are unchanged."""

    plan_id: UUID
    reason: str
    effective_at: datetime
    changed: tuple[str, ...]
    title: str | None = None
    purpose: str | None = None
    phases: tuple[Phase, ...] | None = None
    recipients: tuple[Recipient, ...] | None = None
    escalation_policy: tuple[EscalationStep, ...] | None = None
    review_steps: tuple[ReviewStep, ...] | None = None


@catalog.register()
class AttachmentAdded(Event, frozen=True, kw_only=True):
    plan_id: UUID
    attachment_id: UUID
    name: str
    media_type: str
    sha256: str
    size: int


@catalog.register()
class PlanItemRecorded(Event, frozen=True, kw_only=True):
    """An item of the plan that names no lead unit (a schedule that says only "cấp xã", or
    nobody): shown with the plan as written, with no task to chase until leads are named."""

    plan_id: UUID
    item_id: UUID
    item: str | None = None
    text: str
    addressed_to: str | None = None
    """Whom the document addresses the item to, in its words ("cấp xã"), if anyone."""
    due: datetime | None = None
    stated_due: StatedDue | None = None
    starts_on: date | None = None
    """No time of its own: it is part of the document, in effect with its issue."""


@catalog.register()
class SubPlanLinked(Event, frozen=True, kw_only=True):
    """A lower unit's plan implements this one."""

    plan_id: UUID
    sub_plan_id: UUID
    sub_plan_issuer_id: UUID


@catalog.register()
class PlanClosed(Event, frozen=True, kw_only=True):
    plan_id: UUID
    effective_at: datetime
    reason: str | None = None


@catalog.register()
class PlanCancelled(Event, frozen=True, kw_only=True):
    plan_id: UUID
    effective_at: datetime
    reason: str


@catalog.register()
class PlanSuperseded(Event, frozen=True, kw_only=True):
    plan_id: UUID
    superseded_by: UUID
    effective_at: datetime
    reason: str | None = None
