"""What a refused unit command tells the caller (the problem's detail and extras)."""

from __future__ import annotations

import uuid
from uuid import UUID

import pytest

from events.organisation import UnitMerged, UnitRegistered
from services.domain import unit
from services.domain.unit import (
    Context,
    MergeUnit,
    MoveUnit,
    RegisterUnit,
    RenameUnit,
    SplitUnit,
    initial,
)
from tests.deciders import Specification

CITY, BOARD, OTHER, GONE, NOWHERE = (uuid.uuid4() for _ in range(5))
SPEC = Specification(unit, CITY)


def registered(unit_id: UUID, name: str, code: str, parent: UUID | None = None) -> unit.Unit:
    event = UnitRegistered(
        unit_id=unit_id, name=name, short_code=code, kind="party_board", parent_id=parent
    )
    return SPEC.given(event, id=unit_id).state


CITY_UNIT = registered(CITY, "Thành ủy Cần Thơ", "TU")
BOARD_UNIT = registered(BOARD, "Ban Tuyên giáo Thành ủy", "BTGTU", CITY)
OTHER_UNIT = registered(OTHER, "Ban Dân vận Thành ủy", "BDVTU", CITY)
GONE_UNIT = unit.evolve(
    registered(GONE, "Ban cũ", "BC", CITY), UnitMerged(unit_id=GONE, successor_id=OTHER)
)
AROUND = Context(others={u.id: u for u in (CITY_UNIT, BOARD_UNIT, OTHER_UNIT, GONE_UNIT)})


@pytest.mark.parametrize(
    ("state", "command", "code", "detail"),
    [
        (
            BOARD_UNIT,
            RegisterUnit(BOARD, "x", "X", "other", CITY),
            "unit-exists",
            f"unit {BOARD} is already registered",
        ),
        (
            initial(NOWHERE),
            RegisterUnit(NOWHERE, "x" * 301, "X", "other", CITY),
            "invalid-name",
            "a unit's name has 1 to 300 characters",
        ),
        (
            initial(NOWHERE),
            RegisterUnit(NOWHERE, "x", "A B_C", "other", CITY),
            "invalid-short-code",
            "'A B_C' is not a short code: 1 to 32 letters or digits, joined by - . or &",
        ),
        (
            BOARD_UNIT,
            RenameUnit(BOARD, "Ban Tuyên giáo Thành ủy", "BTGTU"),
            "nothing-changed",
            "the unit already has this name and short code",
        ),
        (
            BOARD_UNIT,
            MoveUnit(BOARD, CITY),
            "nothing-changed",
            f"unit {BOARD} is already under {CITY}",
        ),
        (BOARD_UNIT, MergeUnit(BOARD, BOARD), "same-unit", "a unit cannot be merged into itself"),
        (
            BOARD_UNIT,
            SplitUnit(BOARD, (OTHER,), OTHER),
            "invalid-split",
            "a split names at least two successors",
        ),
        (
            BOARD_UNIT,
            SplitUnit(BOARD, (OTHER, BOARD), OTHER),
            "same-unit",
            "a unit cannot be its own successor",
        ),
        (
            BOARD_UNIT,
            SplitUnit(BOARD, (OTHER, CITY), BOARD),
            "invalid-split",
            "the default successor must be one of them",
        ),
        (
            BOARD_UNIT,
            SplitUnit(BOARD, (OTHER, CITY), OTHER, ((uuid.UUID(int=7), BOARD),)),
            "invalid-split",
            f"task allocated to {BOARD}, not a successor",
        ),
    ],
)
def test_a_refusal_says_why(state: unit.Unit, command: object, code: str, detail: str) -> None:
    assert SPEC.at(state).when(command, AROUND).then_refused(code).detail == detail


def test_an_unknown_or_ended_unit_is_named_with_its_successor() -> None:
    unknown = SPEC.at(BOARD_UNIT).when(MergeUnit(BOARD, NOWHERE), AROUND)
    refused = unknown.then_refused("unknown-successor")
    assert (refused.detail, refused.extra) == (
        f"successor {NOWHERE} does not exist",
        {"unit_id": str(NOWHERE)},
    )
    ended = (
        SPEC.at(BOARD_UNIT).when(MergeUnit(BOARD, GONE), AROUND).then_refused("successor-inactive")
    )
    assert (ended.detail, ended.extra) == (
        f"successor {GONE} is merged",
        {"unit_id": str(GONE), "successor_id": str(OTHER)},
    )
