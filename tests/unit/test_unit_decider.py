"""Given these unit events, this command yields these events or this refusal."""

from __future__ import annotations

import uuid
from uuid import UUID

import pytest

from events.organisation import (
    TaskAllocation,
    UnitDissolved,
    UnitMerged,
    UnitMoved,
    UnitRegistered,
    UnitRenamed,
    UnitSplit,
)
from services.domain import unit
from services.domain.refusal import Decision, Key, Refused
from services.domain.unit import (
    Context,
    DissolveUnit,
    ImportedUnit,
    MergeUnit,
    MoveUnit,
    RegisterUnit,
    RenameUnit,
    SplitUnit,
    decide,
    evolve,
    initial,
    plan_import,
)
from tests.deciders import Specification

CITY, BOARD, PRESS, OTHER = (uuid.uuid4() for _ in range(4))
SPEC = Specification(unit, CITY)


def registered(unit_id: UUID, name: str, code: str, parent: UUID | None = None) -> UnitRegistered:
    return UnitRegistered(
        unit_id=unit_id, name=name, short_code=code, kind="party_board", parent_id=parent
    )


CITY_UNIT = SPEC.given(registered(CITY, "Thành ủy Cần Thơ", "TU"), id=CITY).state
BOARD_UNIT = SPEC.given(registered(BOARD, "Ban Tuyên giáo Thành ủy", "BTGTU", CITY), id=BOARD).state
PRESS_UNIT = SPEC.given(registered(PRESS, "Báo Cần Thơ", "BCT", CITY), id=PRESS).state
OTHER_UNIT = SPEC.given(registered(OTHER, "Ban Dân vận Thành ủy", "BDVTU", CITY), id=OTHER).state
AROUND = Context(others={u.id: u for u in (CITY_UNIT, BOARD_UNIT, PRESS_UNIT, OTHER_UNIT)})


# -- register -----------------------------------------------------------------------------


def test_registering_a_unit_records_it_and_reserves_its_code_under_the_parent() -> None:
    new = uuid.uuid4()
    decision = decide(
        RegisterUnit(new, "  Sở Nội vụ ", "snv", "department", CITY), initial(new), AROUND
    )
    assert decision == Decision(
        [
            UnitRegistered(
                unit_id=new, name="Sở Nội vụ", short_code="SNV", kind="department", parent_id=CITY
            )
        ],
        reserve=[Key(f"unit-code:{CITY}", "SNV")],
    )


def test_a_root_unit_reserves_its_code_among_the_roots() -> None:
    new = uuid.uuid4()
    decision = decide(
        RegisterUnit(new, "Tỉnh ủy Sơn La", "TU", "party_committee", None), initial(new)
    )
    assert decision.reserve == [Key("unit-code:root", "TU")]


def test_names_and_codes_are_normalised_look_alike_letters_included() -> None:
    new = uuid.uuid4()
    decision = decide(
        RegisterUnit(new, "Ban Tuyên giáo \u00d0ảng ủy Khối", "btg\u00d0uk", "party_board", CITY),
        initial(new),
        AROUND,
    )
    event = decision.events[0]
    assert isinstance(event, UnitRegistered)
    assert event.name == "Ban Tuyên giáo Đảng ủy Khối" and event.short_code == "BTGĐUK"


@pytest.mark.parametrize(
    ("command", "code"),
    [
        (RegisterUnit(BOARD, "x", "X", "other", CITY), "unit-exists"),
        (RegisterUnit(uuid.uuid4(), "x", "X", "other", uuid.uuid4()), "unknown-parent"),
        (RegisterUnit(uuid.uuid4(), "", "X", "other", CITY), "invalid-name"),
        (RegisterUnit(uuid.uuid4(), "x", "A B_C", "other", CITY), "invalid-short-code"),
        (RegisterUnit(uuid.uuid4(), "x", "--", "other", CITY), "invalid-short-code"),
    ],
)
def test_registration_refusals(command: RegisterUnit, code: str) -> None:
    state = BOARD_UNIT if command.unit_id == BOARD else initial(command.unit_id)
    SPEC.at(state).when(command, AROUND).then_refused(code)


def test_no_unit_is_registered_under_a_merged_parent() -> None:
    merged = SPEC.given(
        registered(OTHER, "Ban Dân vận", "BDVTU", CITY),
        UnitMerged(unit_id=OTHER, successor_id=BOARD),
        id=OTHER,
    ).state
    new = uuid.uuid4()
    refused = (
        SPEC.at(initial(new))
        .when(RegisterUnit(new, "x", "X", "other", OTHER), Context(others={OTHER: merged}))
        .then_refused("parent-inactive")
    )
    assert refused.extra["successor_id"] == str(BOARD)


# -- rename -------------------------------------------------------------------------------


def test_renaming_with_a_new_code_swaps_the_reserved_code() -> None:
    decision = decide(
        RenameUnit(BOARD, "Ban Tuyên giáo và Dân vận Thành ủy", "BTGDVTU", "Quy định 2025"),
        BOARD_UNIT,
    )
    assert decision == Decision(
        [
            UnitRenamed(
                unit_id=BOARD,
                name="Ban Tuyên giáo và Dân vận Thành ủy",
                short_code="BTGDVTU",
                previous_name="Ban Tuyên giáo Thành ủy",
                previous_short_code="BTGTU",
                reason="Quy định 2025",
            )
        ],
        reserve=[Key(f"unit-code:{CITY}", "BTGDVTU")],
        release=[Key(f"unit-code:{CITY}", "BTGTU")],
    )


def test_renaming_only_the_name_keeps_the_code() -> None:
    decision = decide(RenameUnit(BOARD, "Ban Tuyên giáo TU"), BOARD_UNIT)
    assert decision.reserve == [] and decision.release == []
    assert evolve(BOARD_UNIT, decision.events[0]).name == "Ban Tuyên giáo TU"


def test_rename_refusals() -> None:
    SPEC.at(BOARD_UNIT).when(
        RenameUnit(BOARD, "Ban Tuyên giáo Thành ủy", "btgtu"), AROUND
    ).then_refused("nothing-changed")
    SPEC.at(initial(uuid.uuid4())).when(RenameUnit(uuid.uuid4(), "x"), AROUND).then_refused(
        "unknown-unit"
    )
    dissolved = evolve(BOARD_UNIT, UnitDissolved(unit_id=BOARD, successor_id=None))
    SPEC.at(dissolved).when(RenameUnit(BOARD, "x"), AROUND).then_refused("unit-inactive")


# -- move ---------------------------------------------------------------------------------


def test_moving_a_unit_moves_its_code_to_the_new_parent() -> None:
    decision = decide(
        MoveUnit(PRESS, BOARD),
        PRESS_UNIT,
        Context(lineage=[BOARD_UNIT, CITY_UNIT], others={BOARD: BOARD_UNIT}),
    )
    assert decision == Decision(
        [UnitMoved(unit_id=PRESS, from_parent_id=CITY, to_parent_id=BOARD)],
        reserve=[Key(f"unit-code:{BOARD}", "BCT")],
        release=[Key(f"unit-code:{CITY}", "BCT")],
    )


def test_a_unit_cannot_move_under_its_own_descendant() -> None:
    SPEC.at(CITY_UNIT).when(
        MoveUnit(CITY, BOARD), Context(lineage=[BOARD_UNIT, CITY_UNIT], others={BOARD: BOARD_UNIT})
    ).then_refused("cycle")
    SPEC.at(BOARD_UNIT).when(
        MoveUnit(BOARD, BOARD), Context(lineage=[BOARD_UNIT, CITY_UNIT], others={BOARD: BOARD_UNIT})
    ).then_refused("cycle")


def test_move_refusals() -> None:
    SPEC.at(BOARD_UNIT).when(
        MoveUnit(BOARD, CITY), Context(lineage=[CITY_UNIT], others={CITY: CITY_UNIT})
    ).then_refused("nothing-changed")
    missing = uuid.uuid4()
    SPEC.at(BOARD_UNIT).when(
        MoveUnit(BOARD, missing), Context(lineage=[initial(missing)])
    ).then_refused("unknown-parent")


# -- merge, split, dissolve ---------------------------------------------------------------


def test_merging_hands_the_unit_to_its_successor_and_frees_its_code() -> None:
    decision = decide(
        MergeUnit(OTHER, BOARD, "sáp nhập 2025"),
        OTHER_UNIT,
        Context(lineage=[BOARD_UNIT, CITY_UNIT], others={BOARD: BOARD_UNIT}),
    )
    assert decision == Decision(
        [UnitMerged(unit_id=OTHER, successor_id=BOARD, reason="sáp nhập 2025")],
        release=[Key(f"unit-code:{CITY}", "BDVTU")],
    )
    merged = evolve(OTHER_UNIT, decision.events[0])
    assert merged.status == "merged" and merged.successor_id == BOARD


def test_merge_refusals() -> None:
    around = Context(lineage=[BOARD_UNIT, CITY_UNIT], others={BOARD: BOARD_UNIT})
    SPEC.at(BOARD_UNIT).when(
        MergeUnit(BOARD, BOARD), Context(others={BOARD: BOARD_UNIT})
    ).then_refused("same-unit")
    SPEC.at(CITY_UNIT).when(MergeUnit(CITY, BOARD), around).then_refused("cycle")
    SPEC.at(OTHER_UNIT).when(
        MergeUnit(OTHER, BOARD), Context(around.lineage, around.others, active_children=2)
    ).then_refused("has-children")
    merged_board = evolve(BOARD_UNIT, UnitMerged(unit_id=BOARD, successor_id=CITY))
    SPEC.at(OTHER_UNIT).when(
        MergeUnit(OTHER, BOARD), Context([merged_board], {BOARD: merged_board})
    ).then_refused("successor-inactive")
    missing = uuid.uuid4()
    SPEC.at(OTHER_UNIT).when(MergeUnit(OTHER, missing), Context([initial(missing)])).then_refused(
        "unknown-successor"
    )


def test_splitting_names_which_successor_takes_which_task() -> None:
    task = uuid.uuid4()
    decision = decide(SplitUnit(CITY, (BOARD, PRESS), BOARD, ((task, PRESS),)), CITY_UNIT, AROUND)
    assert decision.events == [
        UnitSplit(
            unit_id=CITY,
            successor_ids=(BOARD, PRESS),
            default_successor_id=BOARD,
            allocations=(TaskAllocation(assignment_id=task, successor_id=PRESS),),
        )
    ]
    assert evolve(CITY_UNIT, decision.events[0]).status == "split"


def test_split_refusals() -> None:
    task = uuid.uuid4()
    SPEC.at(CITY_UNIT).when(SplitUnit(CITY, (BOARD,), BOARD), AROUND).then_refused("invalid-split")
    SPEC.at(CITY_UNIT).when(SplitUnit(CITY, (BOARD, PRESS), OTHER), AROUND).then_refused(
        "invalid-split"
    )
    SPEC.at(CITY_UNIT).when(
        SplitUnit(CITY, (BOARD, PRESS), BOARD, ((task, OTHER),)), AROUND
    ).then_refused("invalid-split")
    SPEC.at(CITY_UNIT).when(SplitUnit(CITY, (CITY, PRESS), PRESS), AROUND).then_refused("same-unit")
    SPEC.at(CITY_UNIT).when(SplitUnit(CITY, (BOARD, uuid.uuid4()), BOARD), AROUND).then_refused(
        "unknown-successor"
    )


def test_dissolving_names_an_optional_successor_for_open_tasks() -> None:
    decision = decide(DissolveUnit(PRESS, BOARD), PRESS_UNIT, AROUND)
    assert decision.events == [UnitDissolved(unit_id=PRESS, successor_id=BOARD)]
    assert decision.release == [Key(f"unit-code:{CITY}", "BCT")]
    assert decide(DissolveUnit(PRESS), PRESS_UNIT).events == [
        UnitDissolved(unit_id=PRESS, successor_id=None)
    ]


def test_dissolve_refusals() -> None:
    SPEC.at(PRESS_UNIT).when(DissolveUnit(PRESS, PRESS), AROUND).then_refused("same-unit")
    SPEC.at(CITY_UNIT).when(DissolveUnit(CITY), Context(active_children=3)).then_refused(
        "has-children"
    )
    dissolved = evolve(PRESS_UNIT, UnitDissolved(unit_id=PRESS, successor_id=None))
    SPEC.at(dissolved).when(DissolveUnit(PRESS), AROUND).then_refused("unit-inactive")


# -- import -------------------------------------------------------------------------------


def row(
    ref: str, code: str, parent_ref: str | None = None, parent_id: UUID | None = None
) -> ImportedUnit:
    return ImportedUnit(ref, uuid.uuid4(), f"Đơn vị {ref}", code, "other", parent_ref, parent_id)


def test_an_import_registers_parents_before_children_whatever_the_file_order() -> None:
    rows = [row("cell", "CB", "board"), row("board", "BTG", "city"), row("city", "TU")]
    decisions = plan_import(rows, {})
    assert [command.unit_id for command, _ in decisions] == [
        rows[2].unit_id,
        rows[1].unit_id,
        rows[0].unit_id,
    ]


def test_an_import_can_hang_under_an_existing_unit() -> None:
    decisions = plan_import([row("snv", "SNV", parent_id=CITY)], {CITY: CITY_UNIT})
    assert decisions[0][0].parent_id == CITY


@pytest.mark.parametrize(
    ("rows", "code"),
    [
        ([], "empty-import"),
        ([row("a", "A", "b"), row("b", "B", "a")], "cycle"),
        ([row("a", "A", "a")], "cycle"),
        ([row("a", "A", "missing")], "unknown-parent"),
        ([row("a", "A", parent_id=uuid.uuid4())], "unknown-parent"),
        ([row("a", "A"), row("a", "B")], "duplicate-ref"),
        ([row("p", "P"), row("a", "X", "p"), row("b", "x", "p")], "duplicate-short-code"),
        ([row("a", "A_B")], "invalid-short-code"),
    ],
)
def test_import_refusals(rows: list[ImportedUnit], code: str) -> None:
    with pytest.raises(Refused) as refused:
        plan_import(rows, {})
    assert refused.value.code == code
