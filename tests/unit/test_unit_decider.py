"""Given these unit events, this command yields these events or this refusal."""

from __future__ import annotations

import functools
import uuid
from uuid import UUID

import pytest

from events.catalog import Event
from events.organisation import (
    TaskAllocation,
    UnitDissolved,
    UnitMerged,
    UnitMoved,
    UnitRegistered,
    UnitRenamed,
    UnitSplit,
)
from services.domain.refusal import Decision, Key, Refused
from services.domain.unit import (
    DissolveUnit,
    ImportedUnit,
    MergeUnit,
    MoveUnit,
    RegisterUnit,
    RenameUnit,
    SplitUnit,
    Surroundings,
    Unit,
    UnitCommand,
    decide,
    evolve,
    plan_import,
    unknown,
)

CITY, BOARD, PRESS, OTHER = (uuid.uuid4() for _ in range(4))


def registered(unit_id: UUID, name: str, code: str, parent: UUID | None = None) -> UnitRegistered:
    return UnitRegistered(
        unit_id=unit_id, name=name, short_code=code, kind="party_board", parent_id=parent
    )


def given(unit_id: UUID, *events: Event) -> Unit:
    return functools.reduce(evolve, events, unknown(unit_id))


CITY_UNIT = given(CITY, registered(CITY, "Thành ủy Cần Thơ", "TU"))
BOARD_UNIT = given(BOARD, registered(BOARD, "Ban Tuyên giáo Thành ủy", "BTGTU", CITY))
PRESS_UNIT = given(PRESS, registered(PRESS, "Báo Cần Thơ", "BCT", CITY))
OTHER_UNIT = given(OTHER, registered(OTHER, "Ban Dân vận Thành ủy", "BDVTU", CITY))
AROUND = Surroundings(others={u.id: u for u in (CITY_UNIT, BOARD_UNIT, PRESS_UNIT, OTHER_UNIT)})


def then_refused(
    code: str, command: UnitCommand, state: Unit, around: Surroundings = AROUND
) -> Refused:
    with pytest.raises(Refused) as refused:
        decide(command, state, around)
    assert refused.value.code == code, refused.value.detail
    return refused.value


# -- register -----------------------------------------------------------------------------


def test_registering_a_unit_records_it_and_reserves_its_code_under_the_parent() -> None:
    new = uuid.uuid4()
    decision = decide(
        RegisterUnit(new, "  Sở Nội vụ ", "snv", "department", CITY), unknown(new), AROUND
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
        RegisterUnit(new, "Tỉnh ủy Sơn La", "TU", "party_committee", None), unknown(new)
    )
    assert decision.reserve == [Key("unit-code:root", "TU")]


def test_names_and_codes_are_normalised_look_alike_letters_included() -> None:
    new = uuid.uuid4()
    decision = decide(
        RegisterUnit(new, "Ban Tuyên giáo \u00d0ảng ủy Khối", "btg\u00d0uk", "party_board", CITY),
        unknown(new),
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
    state = BOARD_UNIT if command.unit_id == BOARD else unknown(command.unit_id)
    then_refused(code, command, state)


def test_no_unit_is_registered_under_a_merged_parent() -> None:
    merged = given(
        OTHER,
        registered(OTHER, "Ban Dân vận", "BDVTU", CITY),
        UnitMerged(unit_id=OTHER, successor_id=BOARD),
    )
    new = uuid.uuid4()
    refused = then_refused(
        "parent-inactive",
        RegisterUnit(new, "x", "X", "other", OTHER),
        unknown(new),
        Surroundings(others={OTHER: merged}),
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
    then_refused(
        "nothing-changed", RenameUnit(BOARD, "Ban Tuyên giáo Thành ủy", "btgtu"), BOARD_UNIT
    )
    then_refused("unknown-unit", RenameUnit(uuid.uuid4(), "x"), unknown(uuid.uuid4()))
    dissolved = evolve(BOARD_UNIT, UnitDissolved(unit_id=BOARD, successor_id=None))
    then_refused("unit-inactive", RenameUnit(BOARD, "x"), dissolved)


# -- move ---------------------------------------------------------------------------------


def test_moving_a_unit_moves_its_code_to_the_new_parent() -> None:
    decision = decide(
        MoveUnit(PRESS, BOARD),
        PRESS_UNIT,
        Surroundings(lineage=[BOARD_UNIT, CITY_UNIT], others={BOARD: BOARD_UNIT}),
    )
    assert decision == Decision(
        [UnitMoved(unit_id=PRESS, from_parent_id=CITY, to_parent_id=BOARD)],
        reserve=[Key(f"unit-code:{BOARD}", "BCT")],
        release=[Key(f"unit-code:{CITY}", "BCT")],
    )


def test_a_unit_cannot_move_under_its_own_descendant() -> None:
    then_refused(
        "cycle",
        MoveUnit(CITY, BOARD),
        CITY_UNIT,
        Surroundings(lineage=[BOARD_UNIT, CITY_UNIT], others={BOARD: BOARD_UNIT}),
    )
    then_refused(
        "cycle",
        MoveUnit(BOARD, BOARD),
        BOARD_UNIT,
        Surroundings(lineage=[BOARD_UNIT, CITY_UNIT], others={BOARD: BOARD_UNIT}),
    )


def test_move_refusals() -> None:
    then_refused(
        "nothing-changed",
        MoveUnit(BOARD, CITY),
        BOARD_UNIT,
        Surroundings(lineage=[CITY_UNIT], others={CITY: CITY_UNIT}),
    )
    missing = uuid.uuid4()
    then_refused(
        "unknown-parent",
        MoveUnit(BOARD, missing),
        BOARD_UNIT,
        Surroundings(lineage=[unknown(missing)]),
    )


# -- merge, split, dissolve ---------------------------------------------------------------


def test_merging_hands_the_unit_to_its_successor_and_frees_its_code() -> None:
    decision = decide(
        MergeUnit(OTHER, BOARD, "sáp nhập 2025"),
        OTHER_UNIT,
        Surroundings(lineage=[BOARD_UNIT, CITY_UNIT], others={BOARD: BOARD_UNIT}),
    )
    assert decision == Decision(
        [UnitMerged(unit_id=OTHER, successor_id=BOARD, reason="sáp nhập 2025")],
        release=[Key(f"unit-code:{CITY}", "BDVTU")],
    )
    merged = evolve(OTHER_UNIT, decision.events[0])
    assert merged.status == "merged" and merged.successor_id == BOARD


def test_merge_refusals() -> None:
    around = Surroundings(lineage=[BOARD_UNIT, CITY_UNIT], others={BOARD: BOARD_UNIT})
    then_refused(
        "same-unit", MergeUnit(BOARD, BOARD), BOARD_UNIT, Surroundings(others={BOARD: BOARD_UNIT})
    )
    then_refused("cycle", MergeUnit(CITY, BOARD), CITY_UNIT, around)
    then_refused(
        "has-children",
        MergeUnit(OTHER, BOARD),
        OTHER_UNIT,
        Surroundings(around.lineage, around.others, active_children=2),
    )
    merged_board = evolve(BOARD_UNIT, UnitMerged(unit_id=BOARD, successor_id=CITY))
    then_refused(
        "successor-inactive",
        MergeUnit(OTHER, BOARD),
        OTHER_UNIT,
        Surroundings([merged_board], {BOARD: merged_board}),
    )
    missing = uuid.uuid4()
    then_refused(
        "unknown-successor", MergeUnit(OTHER, missing), OTHER_UNIT, Surroundings([unknown(missing)])
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
    then_refused("invalid-split", SplitUnit(CITY, (BOARD,), BOARD), CITY_UNIT)
    then_refused("invalid-split", SplitUnit(CITY, (BOARD, PRESS), OTHER), CITY_UNIT)
    then_refused(
        "invalid-split", SplitUnit(CITY, (BOARD, PRESS), BOARD, ((task, OTHER),)), CITY_UNIT
    )
    then_refused("same-unit", SplitUnit(CITY, (CITY, PRESS), PRESS), CITY_UNIT)
    then_refused("unknown-successor", SplitUnit(CITY, (BOARD, uuid.uuid4()), BOARD), CITY_UNIT)


def test_dissolving_names_an_optional_successor_for_open_tasks() -> None:
    decision = decide(DissolveUnit(PRESS, BOARD), PRESS_UNIT, AROUND)
    assert decision.events == [UnitDissolved(unit_id=PRESS, successor_id=BOARD)]
    assert decision.release == [Key(f"unit-code:{CITY}", "BCT")]
    assert decide(DissolveUnit(PRESS), PRESS_UNIT).events == [
        UnitDissolved(unit_id=PRESS, successor_id=None)
    ]


def test_dissolve_refusals() -> None:
    then_refused("same-unit", DissolveUnit(PRESS, PRESS), PRESS_UNIT)
    then_refused("has-children", DissolveUnit(CITY), CITY_UNIT, Surroundings(active_children=3))
    dissolved = evolve(PRESS_UNIT, UnitDissolved(unit_id=PRESS, successor_id=None))
    then_refused("unit-inactive", DissolveUnit(PRESS), dissolved)


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
