"""What a refused user command tells the caller (the problem's detail), and roles kept apart."""

from __future__ import annotations

import uuid

import pytest

from events.organisation import RoleGranted, UnitRegistered, UserRegistered
from services.domain import unit as units
from services.domain import user
from services.domain.user import Context, GrantRole, RegisterUser, RevokeRole, User
from tests.deciders import Specification

USER, UNIT, OTHER_UNIT, ROLE = (uuid.uuid4() for _ in range(4))
SPEC = Specification(user, USER)
REGISTERED = SPEC.given(UserRegistered(user_id=USER)).state
CHIEF = SPEC.given(
    UserRegistered(user_id=USER),
    RoleGranted(user_id=USER, role_id=ROLE, role="chief", unit_id=UNIT),
).state


def active(unit_id: uuid.UUID) -> units.Unit:
    registered = UnitRegistered(
        unit_id=unit_id, name="Chi bộ", short_code="CB", kind="party_cell", parent_id=None
    )
    return units.evolve(units.initial(unit_id), registered)


@pytest.mark.parametrize(
    ("command", "state", "context", "code", "detail"),
    [
        (RegisterUser(USER), REGISTERED, Context(), "user-exists",
         f"user {USER} is already registered"),
        (GrantRole(USER, ROLE, "chief", UNIT), User(USER), Context(active(UNIT)), "unknown-user",
         f"user {USER} does not exist"),
        (GrantRole(USER, ROLE, "chief", UNIT), REGISTERED, Context(active(UNIT), erased=True),
         "user-erased", f"user {USER} was erased: no new role"),
        (GrantRole(USER, ROLE, "admin", UNIT), REGISTERED, Context(active(UNIT)), "invalid-role",
         "admin reaches everywhere: name no unit"),
        (GrantRole(USER, ROLE, "officer", None), REGISTERED, Context(), "invalid-role",
         "a officer acts for a unit: name it"),
        (GrantRole(USER, ROLE, "chief", UNIT), REGISTERED, Context(None), "unknown-role-unit",
         f"unit {UNIT} does not exist"),
        (GrantRole(USER, ROLE, "chief", UNIT), CHIEF, Context(active(UNIT)),
         "role-already-granted", f"user {USER} is already chief there"),
        (RevokeRole(USER, ROLE), User(USER), Context(), "unknown-user",
         f"user {USER} does not exist"),
        (RevokeRole(USER, OTHER_UNIT), CHIEF, Context(), "unknown-role",
         f"user {USER} holds no role {OTHER_UNIT}"),
    ],
)  # fmt: skip
def test_a_refusal_says_why(
    command: object, state: User, context: Context, code: str, detail: str
) -> None:
    assert SPEC.at(state).when(command, context).then_refused(code).detail == detail


def test_an_erased_user_keeps_the_roles_held_but_takes_no_new_one() -> None:
    SPEC.at(CHIEF).when(RevokeRole(USER, ROLE), Context(erased=True)).then(
        *user.decide(RevokeRole(USER, ROLE), CHIEF).events
    )
    SPEC.at(REGISTERED).when(GrantRole(USER, ROLE, "admin", None), Context(erased=True))\
        .then_refused("user-erased")  # fmt: skip


def test_the_same_role_for_another_unit_is_a_new_grant_and_revoking_one_keeps_the_other() -> None:
    second = uuid.uuid4()
    decision = user.decide(
        GrantRole(USER, second, "chief", OTHER_UNIT), CHIEF, Context(active(OTHER_UNIT))
    )
    both = user.evolve(CHIEF, decision.events[0])
    assert set(both.roles) == {ROLE, second}
    after = SPEC.at(both).when(RevokeRole(USER, ROLE)).state_after()
    assert after.roles == {second: user.Grant("chief", OTHER_UNIT)}
    assert after.registered is True
