"""User commands (through the command path), personal data, tokens and user queries."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

import asyncpg

from events.organisation import Role
from events.store import DbConnection
from projections import user_roles
from services.domain import refusal_codes as codes
from services.domain import user as user_decider
from services.domain.refusal import Refused
from services.domain.text import normalize_text
from services.domain.user import GrantRole, RegisterUser, RevokeRole
from services.handlers.auth import Actor, issue_token, require_admin
from services.handlers.command_path import Handler, Outcome, Session
from services.handlers.streams import load_unit, load_user, user_stream


@dataclass(frozen=True)
class PersonalData:
    name: str
    email: str | None = None
    phone: str | None = None

    def cleaned(self) -> PersonalData:
        name = normalize_text(self.name)
        if not 1 <= len(name) <= 200:
            raise Refused(codes.INVALID_NAME, "a user's name has 1 to 200 characters")
        email = self.email.strip() if self.email else None
        if email is not None and ("@" not in email or len(email) > 254 or " " in email):
            raise Refused(codes.INVALID_EMAIL, f"{email!r} is not an e-mail address")
        phone = self.phone.strip() if self.phone else None
        if phone is not None and not (
            phone.replace(" ", "").lstrip("+").isdigit() and len(phone) <= 32
        ):
            raise Refused(codes.INVALID_PHONE, f"{phone!r} is not a phone number")
        return PersonalData(name, email, phone)


# Users, their roles and tokens are the admins' alone: every function below that takes an actor
# refuses anyone else first, before it reads or decides anything.


def register_handler(
    user_id: UUID,
    person: PersonalData,
    roles: Sequence[tuple[Role, UUID | None]],
    actor: Actor,
    now: datetime,
) -> Handler:
    require_admin(actor)
    person = person.cleaned()

    async def decide(session: Session) -> Outcome:
        user = await load_user(session, user_id)
        stream = user_stream(user_id)
        outcome = Outcome(str(user_id), stream, status=201)
        decision = user_decider.decide(RegisterUser(user_id), user)
        outcome.add(stream, decision, units=[])
        user = user_decider.evolve(user, decision.events[0])
        role_ids = []
        for role, unit_id in roles:
            grant = GrantRole(user_id, uuid.uuid4(), role, unit_id)
            unit = await load_unit(session, unit_id) if unit_id else None
            decision = user_decider.decide(grant, user, user_decider.Context(unit))
            outcome.add(stream, decision, units=[unit_id] if unit_id else [])
            user = user_decider.evolve(user, decision.events[0])
            role_ids.append(str(grant.role_id))
        outcome.extra = {"role_ids": role_ids}

        async def save_person(connection: DbConnection) -> None:
            await user_roles.add_person(
                connection, user_id, person.name, person.email, person.phone, now
            )

        outcome.after = save_person
        return outcome

    return decide


def grant_handler(user_id: UUID, role: Role, unit_id: UUID | None, actor: Actor) -> Handler:
    require_admin(actor)
    role_id = uuid.uuid4()

    async def decide(session: Session) -> Outcome:
        user = await load_user(session, user_id)
        unit = await load_unit(session, unit_id) if unit_id else None
        person = await user_roles.person(session.store.pool, user_id)
        erased = person is not None and person["erased_at"] is not None
        decision = user_decider.decide(
            GrantRole(user_id, role_id, role, unit_id), user, user_decider.Context(unit, erased)
        )
        outcome = Outcome(str(role_id), user_stream(user_id), status=201)
        outcome.add(user_stream(user_id), decision, units=[unit_id] if unit_id else [])
        return outcome

    return decide


def revoke_handler(
    user_id: UUID, role_id: UUID, actor: Actor, reason: str | None = None
) -> Handler:
    require_admin(actor)

    async def decide(session: Session) -> Outcome:
        user = await load_user(session, user_id)
        decision = user_decider.decide(RevokeRole(user_id, role_id, reason), user)
        grant = user.roles[role_id]
        outcome = Outcome(str(role_id), user_stream(user_id))
        outcome.add(user_stream(user_id), decision, units=[grant.unit_id] if grant.unit_id else [])
        return outcome

    return decide


async def erase_person(pool: asyncpg.Pool[Any], actor: Actor, user_id: UUID, now: datetime) -> bool:
    """Remove a person's name, e-mail and phone and revoke their tokens (False: no such user)."""
    require_admin(actor)
    return await user_roles.erase_person(pool, user_id, now)


async def new_token(
    pool: asyncpg.Pool[Any],
    actor: Actor,
    user_id: UUID,
    now: datetime,
    *,
    days: int,
    label: str | None,
) -> tuple[UUID, str, datetime]:
    """A token for an existing user not erased: (token id, the token, when it expires)."""
    require_admin(actor)
    found = await get(pool, user_id)
    if found is None:
        raise Refused(codes.UNKNOWN_USER, f"user {user_id} does not exist")
    if found.erased:
        raise Refused(codes.USER_ERASED, f"user {user_id} was erased")
    return await issue_token(pool, user_id, now, days=days, label=label)


async def withdraw_token(
    pool: asyncpg.Pool[Any], actor: Actor, user_id: UUID, token_id: UUID, now: datetime
) -> bool:
    """Revoke one of the user's tokens (False: the user has no such token)."""
    require_admin(actor)
    return await user_roles.revoke_token(pool, user_id, token_id, now)


async def user_of(pool: asyncpg.Pool[Any], actor: Actor, user_id: UUID) -> UserView | None:
    require_admin(actor)
    return await get(pool, user_id)


async def users_of(pool: asyncpg.Pool[Any], actor: Actor, limit: int = 500) -> list[UserView]:
    require_admin(actor)
    return await list_users(pool, limit)


@dataclass(frozen=True)
class UserView:
    id: UUID
    name: str | None
    email: str | None
    phone: str | None
    erased: bool
    roles: list[dict[str, Any]]


async def get(pool: asyncpg.Pool[Any], user_id: UUID) -> UserView | None:
    person = await user_roles.person(pool, user_id)
    if person is None:
        return None
    return UserView(
        person["user_id"],
        person["name"],
        person["email"],
        person["phone"],
        person["erased_at"] is not None,
        [
            {
                "role_id": str(r["role_id"]),
                "role": r["role"],
                "unit_id": str(r["unit_id"]) if r["unit_id"] else None,
            }
            for r in await user_roles.held_by(pool, user_id)
        ],
    )


async def list_users(pool: asyncpg.Pool[Any], limit: int = 500) -> list[UserView]:
    found = [await get(pool, user_id) for user_id in await user_roles.user_ids(pool, limit)]
    return [view for view in found if view is not None]
