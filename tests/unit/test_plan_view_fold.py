"""GET /plans/{id}: the plan's stream folded into the view (status, issue, attachments,
amendments, sub-plans, history); events of other streams are ignored."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta

from events.catalog import Event
from events.envelope import Metadata, RecordedEvent, Tags
from events.plans import (
    AttachmentAdded,
    Phase,
    PlanAmended,
    PlanClosed,
    PlanDrafted,
    PlanIssued,
    Recipient,
    Signer,
    SubPlanLinked,
)
from projections import plan_view

NOW = datetime(2025, 3, 3, 2, tzinfo=UTC)
PLAN, OTHER, ISSUER, UNIT, SUB, FILE = (uuid.uuid4() for _ in range(6))
DRAFTED = PlanDrafted(
    plan_id=PLAN,
    kind="KH",
    title="Kế hoạch tuyên truyền",
    issuer_unit_id=ISSUER,
    phases=(Phase(phase_id="1", name="Đợt 1"),),
    recipients=(Recipient(unit_id=UNIT, role="for_report"),),
)
SIGNER = Signer(name="Hữu Trí", title="Giám đốc", authority=None)
ISSUED = PlanIssued(
    plan_id=PLAN,
    number="107/KH-SNV",
    number_normalized="107/KH-SNV",
    number_form="state",
    place="Sơn La",
    issued_on=date(2025, 3, 3),
    effective_at=NOW,
    signer=SIGNER,
    numbering_period="2025",
)
ATTACHED = AttachmentAdded(
    plan_id=PLAN,
    attachment_id=FILE,
    name="kh.pdf",
    media_type="application/pdf",
    sha256="a" * 64,
    size=9,
)
AMENDED = PlanAmended(
    plan_id=PLAN,
    reason="đổi tên",
    effective_at=NOW,
    changed=("title", "phases"),
    title="Kế hoạch mới",
    phases=(Phase(phase_id="1", name="Đợt 1"), Phase(phase_id="2", name="Đợt 2")),
)
LINKED = SubPlanLinked(plan_id=PLAN, sub_plan_id=SUB, sub_plan_issuer_id=UNIT)


def stream(*events: Event, plan_id: uuid.UUID = PLAN, backdated: int = 0) -> list[RecordedEvent]:
    """The events as the store records them, versions from 1; the `backdated`-th is backdated."""
    return [
        RecordedEvent(
            uuid.uuid4(),
            f"plan-{plan_id}",
            version,
            version,
            "c",
            type(event).__name__,
            1,
            b"",
            Metadata(backdated=version == backdated),
            Tags(category="plan"),
            NOW + timedelta(minutes=version),
            None,
            b"",
            event,
        )
        for version, event in enumerate(events, start=1)
    ]


def test_a_plan_without_events_of_its_own_has_no_view() -> None:
    assert plan_view.fold(PLAN, []) is None
    assert plan_view.fold(PLAN, stream(DRAFTED, plan_id=OTHER)) is None


def test_a_draft_shows_its_fields_and_no_issue() -> None:
    view = plan_view.fold(PLAN, stream(DRAFTED))
    assert view is not None
    assert (view.plan.status, view.plan.title, view.plan.issuer_unit_id) == (
        "draft",
        "Kế hoạch tuyên truyền",
        ISSUER,
    )
    assert view.plan.recipients == DRAFTED.recipients
    assert (view.version, view.issued, view.attachments, view.amendments) == (1, None, [], [])


def test_an_issued_plan_shows_its_number_signer_attachments_amendments_and_sub_plans() -> None:
    view = plan_view.fold(PLAN, stream(DRAFTED, ISSUED, ATTACHED, AMENDED, LINKED))
    assert view is not None
    assert (view.plan.status, view.plan.number, view.plan.title, view.version) == (
        "issued",
        "107/KH-SNV",
        "Kế hoạch mới",
        5,
    )
    assert [p.phase_id for p in view.plan.phases] == ["1", "2"]
    assert (view.plan.attachments, view.plan.sub_plans) == ((FILE,), (SUB,))
    assert view.issued is not None
    assert view.issued["signer"] == {
        "name": "Hữu Trí",
        "title": "Giám đốc",
        "authority": None,
        "on_behalf_of": None,
    }
    assert (view.issued["number"], view.issued["place"], view.issued["issued_on"]) == (
        "107/KH-SNV",
        "Sơn La",
        "2025-03-03",
    )
    assert "plan_id" not in view.issued
    assert view.attachments == [
        {
            "attachment_id": str(FILE),
            "name": "kh.pdf",
            "media_type": "application/pdf",
            "sha256": "a" * 64,
            "size": 9,
        }
    ]
    (amendment,) = view.amendments
    assert (amendment["reason"], amendment["changed"], amendment["title"]) == (
        "đổi tên",
        ("title", "phases"),
        "Kế hoạch mới",
    )
    assert "plan_id" not in amendment


def test_the_history_lists_each_event_in_order_and_flags_the_backdated_one() -> None:
    view = plan_view.fold(
        PLAN, stream(DRAFTED, ISSUED, PlanClosed(plan_id=PLAN, effective_at=NOW), backdated=2)
    )
    assert view is not None
    assert (view.plan.status, view.version) == ("closed", 3)
    assert view.history == [
        {
            "type": "PlanDrafted",
            "version": 1,
            "recorded_at": "2025-03-03T02:01:00+00:00",
            "backdated": False,
        },
        {
            "type": "PlanIssued",
            "version": 2,
            "recorded_at": "2025-03-03T02:02:00+00:00",
            "backdated": True,
        },
        {
            "type": "PlanClosed",
            "version": 3,
            "recorded_at": "2025-03-03T02:03:00+00:00",
            "backdated": False,
        },
    ]


def test_events_of_other_streams_are_left_out() -> None:
    other = stream(
        PlanDrafted(plan_id=OTHER, kind="KH", title="khác", issuer_unit_id=UNIT), plan_id=OTHER
    )
    view = plan_view.fold(
        PLAN, [*other, *stream(DRAFTED), *stream(ISSUED, ATTACHED, plan_id=OTHER)]
    )
    assert view is not None
    assert (view.plan.status, view.plan.title, view.version, len(view.history)) == (
        "draft",
        "Kế hoạch tuyên truyền",
        1,
        1,
    )
    assert (view.issued, view.attachments) == (None, [])
