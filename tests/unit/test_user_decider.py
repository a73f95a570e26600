"""Given these user events, this command yields these events or this refusal."""

from __future__ import annotations

import uuid

import pytest

from events.organisation import RoleGranted, RoleRevoked, UnitMerged, UnitRegistered, UserRegistered
from services.domain import unit as units
from services.domain import user
from services.domain.user import Context, GrantRole, RegisterUser, RevokeRole, User, decide, evolve
from tests.deciders import Specification

USER, UNIT, ROLE = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
SPEC = Specification(user, USER)
ACTIVE_UNIT = units.evolve(
    units.initial(UNIT),
    UnitRegistered(unit_id=UNIT, name="Chi bộ", short_code="CB", kind="party_cell", parent_id=None),
)


REGISTERED = SPEC.given(UserRegistered(user_id=USER)).state
CHIEF = SPEC.given(
    UserRegistered(user_id=USER),
    RoleGranted(user_id=USER, role_id=ROLE, role="chief", unit_id=UNIT),
).state


def test_registering_a_user_records_only_its_id() -> None:
    assert decide(RegisterUser(USER), User(USER)).events == [UserRegistered(user_id=USER)]


def test_granting_a_role_for_a_unit() -> None:
    role_id = uuid.uuid4()
    decision = decide(GrantRole(USER, role_id, "officer", UNIT), REGISTERED, Context(ACTIVE_UNIT))
    assert decision.events == [
        RoleGranted(user_id=USER, role_id=role_id, role="officer", unit_id=UNIT)
    ]
    assert decide(GrantRole(USER, role_id, "admin", None), REGISTERED).events[0] == RoleGranted(
        user_id=USER, role_id=role_id, role="admin", unit_id=None
    )


def test_revoking_a_role() -> None:
    decision = decide(RevokeRole(USER, ROLE, "chuyển công tác"), CHIEF)
    assert decision.events == [RoleRevoked(user_id=USER, role_id=ROLE, reason="chuyển công tác")]
    assert evolve(CHIEF, decision.events[0]).roles == {}


MERGED_UNIT = units.evolve(ACTIVE_UNIT, UnitMerged(unit_id=UNIT, successor_id=uuid.uuid4()))


@pytest.mark.parametrize(
    ("command", "state", "unit", "code"),
    [
        (RegisterUser(USER), REGISTERED, None, "user-exists"),
        (GrantRole(USER, uuid.uuid4(), "chief", UNIT), User(USER), ACTIVE_UNIT, "unknown-user"),
        (GrantRole(USER, uuid.uuid4(), "admin", UNIT), REGISTERED, ACTIVE_UNIT, "invalid-role"),
        (GrantRole(USER, uuid.uuid4(), "chief", None), REGISTERED, None, "invalid-role"),
        (
            GrantRole(USER, uuid.uuid4(), "chief", UNIT),
            REGISTERED,
            units.initial(UNIT),
            "unknown-role-unit",
        ),
        (
            GrantRole(USER, uuid.uuid4(), "chief", UNIT),
            REGISTERED,
            MERGED_UNIT,
            "role-unit-inactive",
        ),
        (GrantRole(USER, uuid.uuid4(), "chief", UNIT), CHIEF, ACTIVE_UNIT, "role-already-granted"),
        (RevokeRole(USER, uuid.uuid4()), CHIEF, None, "unknown-role"),
        (RevokeRole(USER, ROLE), User(USER), None, "unknown-user"),
    ],
)
def test_user_refusals(command: object, state: User, unit: units.Unit | None, code: str) -> None:
    SPEC.at(state).when(command, Context(unit)).then_refused(code)
