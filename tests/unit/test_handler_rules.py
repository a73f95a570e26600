"""Rules decided once, in the handlers, whoever sends the command (HTTP, the CLI, the demo):
admin-only organisation commands, and backdating. Also the opaque page tokens."""

from __future__ import annotations

import contextlib
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any, cast

import pytest
from hypothesis import given
from hypothesis import strategies as st

from events.page_token import InvalidPageToken, decode_page, encode_page
from events.store import EventStore
from services.domain.model import RegisterModel
from services.domain.unit import ImportedUnit, RegisterUnit
from services.domain.user import Grant
from services.handlers import units, users
from services.handlers.auth import OPERATOR, Actor, Forbidden
from services.handlers.command_path import CommandContext, Session, dated

NOW = datetime(2022, 10, 14, 9, 0, tzinfo=UTC)
UNIT = uuid.uuid4()
CHIEF = Actor(uuid.uuid4(), (Grant("chief", UNIT),))
ADMIN = Actor(uuid.uuid4(), (Grant("admin", None),))
NO_POOL = cast(Any, None)


def session(context: CommandContext | None = None) -> Session:
    return Session(cast(EventStore, None), context)


def test_organisation_commands_are_refused_to_a_non_admin_before_anything_is_read() -> None:
    register = RegisterUnit(uuid.uuid4(), "Ban", "B", "other", None)
    refusals = [
        lambda: units.handler(register, CHIEF, NO_POOL),
        lambda: units.import_handler(lambda: pytest.fail("a stranger's file is read"), CHIEF),
        lambda: users.register_handler(uuid.uuid4(), users.PersonalData("A"), [], CHIEF, NOW),
        lambda: users.grant_handler(uuid.uuid4(), "auditor", UNIT, CHIEF),
        lambda: users.revoke_handler(uuid.uuid4(), uuid.uuid4(), CHIEF),
    ]
    for refused in refusals:
        with pytest.raises(Forbidden):
            refused()
    # The operator at the CLI and the demo are admins: the same rule lets them through.
    units.handler(register, OPERATOR, NO_POOL)
    rows = [ImportedUnit("a", uuid.uuid4(), "Ban", "B", "other", None)]
    units.import_handler(rows, OPERATOR)


async def test_user_reads_and_tokens_are_refused_to_a_non_admin() -> None:
    for refused in (
        users.users_of(NO_POOL, CHIEF),
        users.user_of(NO_POOL, CHIEF, uuid.uuid4()),
        users.new_token(NO_POOL, CHIEF, uuid.uuid4(), NOW, days=1, label=None),
        users.withdraw_token(NO_POOL, CHIEF, uuid.uuid4(), uuid.uuid4(), NOW),
        users.erase_person(NO_POOL, CHIEF, uuid.uuid4(), NOW),
    ):
        with pytest.raises(Forbidden):
            await refused


def model(effective_at: datetime, *, may_backdate: bool = False) -> RegisterModel:
    return RegisterModel(
        uuid.uuid4(), UNIT, 2022, "f", "collective", "t", NOW, effective_at, may_backdate
    )


@pytest.mark.parametrize(
    ("actor", "effective_at", "backdated", "may_backdate"),
    [
        (ADMIN, NOW - timedelta(hours=1), True, True),
        (CHIEF, NOW - timedelta(hours=1), True, False),
        (CHIEF, NOW - timedelta(minutes=4), False, False),
        (ADMIN, NOW, False, True),
    ],
)
def test_backdating_is_the_handlers_to_decide(
    actor: Actor, effective_at: datetime, backdated: bool, may_backdate: bool
) -> None:
    current = session()
    # Whatever the sender said, only an admin may backdate.
    decided = dated(current, actor, model(effective_at, may_backdate=True))
    assert current.backdated is backdated
    assert decided.may_backdate is may_backdate
    metadata = CommandContext(actor, NOW).metadata(backdated=current.backdated)
    assert metadata.backdated is backdated


def test_an_earlier_issue_day_is_backdating_and_an_import_is_history() -> None:
    current = session()
    dated(current, ADMIN, model(NOW), earlier_day=True)
    assert current.backdated
    importing = CommandContext(OPERATOR, NOW, entering_history=True)
    assert session(importing).backdated  # what is imported chases nothing due back then
    assert importing.metadata().backdated


@given(st.text(max_size=100), st.uuids())
def test_a_page_token_round_trips(name: str, unit_id: uuid.UUID) -> None:
    assert decode_page(encode_page(name, str(unit_id)), str, uuid.UUID) == (name, unit_id)


@given(st.text(max_size=300))
def test_garbage_is_an_invalid_page_never_a_crash(token: str) -> None:
    with contextlib.suppress(InvalidPageToken):
        decode_page(token, datetime.fromisoformat, uuid.UUID)


def test_old_and_foreign_tokens_are_invalid() -> None:
    for token in ("", "bm90IGEgdG9rZW4", encode_page("x")):
        with pytest.raises(InvalidPageToken):
            decode_page(token, str, uuid.UUID)
