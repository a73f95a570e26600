"""The rows GET /plans and GET /units search: a plan's or a unit's events folded into its row."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta

from events.organisation import (
    UnitDissolved,
    UnitMerged,
    UnitMoved,
    UnitRegistered,
    UnitRenamed,
    UnitSplit,
)
from events.plans import (
    PlanAmended,
    PlanCancelled,
    PlanClosed,
    PlanDrafted,
    PlanIssued,
    PlanSuperseded,
    Recipient,
    Signer,
)
from projections import plan_list, unit_directory

T0 = datetime(2025, 3, 3, 2, tzinfo=UTC)
PLAN, ISSUER, OTHER, UNIT, PARENT = (uuid.uuid4() for _ in range(5))


def drafted_plan() -> plan_list.PlanRow:
    row = plan_list.apply(
        None,
        PlanDrafted(
            plan_id=PLAN,
            kind="KH",
            title="Kế hoạch Dân vận khéo",
            issuer_unit_id=ISSUER,
            recipients=(Recipient(unit_id=OTHER, role="implement"),),
        ),
        1,
        T0,
    )
    assert row is not None
    return row


def issued_plan() -> plan_list.PlanRow:
    row = plan_list.apply(
        drafted_plan(),
        PlanIssued(
            plan_id=PLAN,
            number="107/KH-SNV",
            number_normalized="107/KH-SNV",
            number_form="state",
            place="Sơn La",
            issued_on=date(2025, 3, 4),
            effective_at=T0,
            signer=Signer(name="Đoàn Văn Tú", title="Giám đốc"),
            numbering_period="2025",
        ),
        2,
        T0 + timedelta(days=1),
    )
    assert row is not None
    return row


def test_a_drafted_plan_is_listed_as_a_draft_without_a_number() -> None:
    assert drafted_plan() == plan_list.PlanRow(
        PLAN,
        1,
        "KH",
        "Kế hoạch Dân vận khéo",
        "draft",
        ISSUER,
        (OTHER,),
        None,
        None,
        None,
        T0,
        T0,
    )
    assert drafted_plan().search_key == "ke hoach dan van kheo"


def test_issuing_gives_the_row_its_number_date_and_version() -> None:
    row = issued_plan()
    assert (row.status, row.number, row.number_normalized, row.issued_on) == (
        "issued",
        "107/KH-SNV",
        "107/KH-SNV",
        date(2025, 3, 4),
    )
    assert (row.version, row.drafted_at, row.updated_at) == (2, T0, T0 + timedelta(days=1))
    assert row.search_key == "ke hoach dan van kheo 107/kh-snv"


def test_an_amendment_changes_only_what_it_names() -> None:
    later = T0 + timedelta(days=2)
    new_recipients = (Recipient(unit_id=ISSUER, role="coordinate"),)
    both = plan_list.apply(
        issued_plan(),
        PlanAmended(
            plan_id=PLAN,
            reason="r",
            effective_at=later,
            changed=("title", "recipients"),
            title="Kế hoạch mới",
            recipients=new_recipients,
        ),
        3,
        later,
    )
    assert both is not None
    assert (both.title, both.recipients, both.version, both.updated_at) == (
        "Kế hoạch mới",
        (ISSUER,),
        3,
        later,
    )
    # A field carried but not named as changed is not taken.
    unnamed = plan_list.apply(
        issued_plan(),
        PlanAmended(
            plan_id=PLAN,
            reason="r",
            effective_at=later,
            changed=("purpose",),
            title="Kế hoạch mới",
            recipients=new_recipients,
        ),
        3,
        later,
    )
    assert unnamed is not None
    assert (unnamed.title, unnamed.recipients) == ("Kế hoạch Dân vận khéo", (OTHER,))


def test_closing_cancelling_and_superseding_set_the_status() -> None:
    later = T0 + timedelta(days=5)
    ends = [
        (PlanClosed(plan_id=PLAN, effective_at=later), "closed"),
        (PlanCancelled(plan_id=PLAN, effective_at=later, reason="r"), "cancelled"),
        (PlanSuperseded(plan_id=PLAN, superseded_by=OTHER, effective_at=later), "superseded"),
    ]
    for event, status in ends:
        row = plan_list.apply(issued_plan(), event, 3, later)
        assert row is not None
        assert (row.status, row.version, row.updated_at) == (status, 3, later)
        assert row.number == "107/KH-SNV"


def test_an_event_of_a_plan_never_drafted_makes_no_row() -> None:
    assert plan_list.apply(None, PlanClosed(plan_id=PLAN, effective_at=T0), 2, T0) is None


def test_a_plan_row_is_written_with_its_recipients_as_a_list_and_read_back() -> None:
    row = issued_plan()
    values = plan_list._values(row)
    assert values[plan_list.COLUMNS.index("recipients")] == [OTHER]
    assert values[-1] == row.search_key
    record = dict(zip(plan_list.COLUMNS[:-1], values, strict=False))
    assert plan_list._from_record(record) == row


def registered_unit() -> unit_directory.UnitRow:
    row = unit_directory.apply(
        None,
        UnitRegistered(
            unit_id=UNIT,
            name="Ban Dân vận Tỉnh ủy",
            short_code="BDVTU",
            kind="party_committee",
            parent_id=PARENT,
        ),
        1,
        T0,
    )
    assert row is not None
    return row


def test_a_registered_unit_is_active_under_its_parent() -> None:
    assert registered_unit() == unit_directory.UnitRow(
        UNIT, 1, "Ban Dân vận Tỉnh ủy", "BDVTU", "party_committee", PARENT, "active", None, T0, T0
    )
    assert registered_unit().search_key == "ban dan van tinh uy bdvtu"


def test_a_unit_renamed_or_moved_keeps_the_rest() -> None:
    later = T0 + timedelta(days=1)
    renamed = unit_directory.apply(
        registered_unit(),
        UnitRenamed(
            unit_id=UNIT,
            name="Ban Dân vận",
            short_code="BDV",
            previous_name="Ban Dân vận Tỉnh ủy",
            previous_short_code="BDVTU",
        ),
        2,
        later,
    )
    assert renamed is not None
    assert (renamed.name, renamed.short_code, renamed.version, renamed.updated_at) == (
        "Ban Dân vận",
        "BDV",
        2,
        later,
    )
    assert (renamed.parent_id, renamed.status, renamed.registered_at) == (PARENT, "active", T0)
    moved_at = later + timedelta(hours=1)
    moved = unit_directory.apply(
        renamed, UnitMoved(unit_id=UNIT, from_parent_id=PARENT, to_parent_id=OTHER), 3, moved_at
    )
    assert moved is not None
    assert (moved.parent_id, moved.version, moved.name) == (OTHER, 3, "Ban Dân vận")
    assert (moved.updated_at, moved.registered_at) == (moved_at, T0)


def test_a_unit_that_ends_names_its_successor() -> None:
    later = T0 + timedelta(days=3)
    ends = [
        (UnitMerged(unit_id=UNIT, successor_id=OTHER), "merged", OTHER),
        (
            UnitSplit(unit_id=UNIT, successor_ids=(OTHER, PARENT), default_successor_id=PARENT),
            "split",
            PARENT,
        ),
        (UnitDissolved(unit_id=UNIT, successor_id=None), "dissolved", None),
        (UnitDissolved(unit_id=UNIT, successor_id=OTHER), "dissolved", OTHER),
    ]
    for event, status, successor in ends:
        row = unit_directory.apply(registered_unit(), event, 4, later)
        assert row is not None
        assert (row.status, row.successor_id, row.version, row.updated_at) == (
            status,
            successor,
            4,
            later,
        )
        assert row.name == "Ban Dân vận Tỉnh ủy"


def test_an_event_of_a_unit_never_registered_makes_no_row() -> None:
    event = UnitMerged(unit_id=UNIT, successor_id=OTHER)
    assert unit_directory.apply(None, event, 2, T0) is None
