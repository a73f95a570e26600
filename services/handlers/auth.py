"""Bearer tokens (random, stored as sha256, with an expiry and revocation) and the actor they
stand for: a user with roles per unit."""

from __future__ import annotations

import base64
import hashlib
import os
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

import asyncpg

from projections import user_roles
from services.domain.user import Grant
from services.handlers.token_cache import TokenCache

TOKEN_PREFIX = "clt_"
DEFAULT_TOKEN_DAYS = 90


class Unauthenticated(Exception):
    pass


class Forbidden(Exception):
    pass


@dataclass(frozen=True)
class Actor:
    """Who sends a command: a user and the grants they hold, or an operator at the CLI."""

    user_id: UUID | None
    grants: tuple[Grant, ...]
    label: str = ""

    @property
    def is_admin(self) -> bool:
        return any(g.role == "admin" for g in self.grants)

    def acts_for(self, unit_id: UUID | None, *roles: str) -> bool:
        """Whether the actor holds one of `roles` for exactly that unit (admins always do)."""
        return self.is_admin or any(g.role in roles and g.unit_id == unit_id for g in self.grants)

    def require(self, unit_id: UUID | None, *roles: str) -> UUID | None:
        """Refuse unless the actor acts for `unit_id` in one of `roles`; return the unit acted
        for, as the metadata records it (None for an admin without a role there)."""
        if not self.acts_for(unit_id, *roles):
            raise Forbidden(f"only a {' or '.join(roles)} of unit {unit_id} may do this")
        held = any(g.role in roles and g.unit_id == unit_id for g in self.grants)
        return unit_id if held else None

    @property
    def idempotency_owner(self) -> str:
        return str(self.user_id) if self.user_id else self.label


OPERATOR = Actor(None, (Grant("admin", None),), label="cli")
"""The operator at the `campaign` command line: an admin named by the OS, not by a token."""


def new_token() -> str:
    return TOKEN_PREFIX + base64.urlsafe_b64encode(os.urandom(32)).rstrip(b"=").decode()


def hash_token(token: str) -> bytes:
    return hashlib.sha256(token.encode()).digest()


async def issue_token(
    connection: asyncpg.Connection[Any] | asyncpg.Pool[Any],
    user_id: UUID,
    now: datetime,
    *,
    days: int = DEFAULT_TOKEN_DAYS,
    label: str | None = None,
) -> tuple[UUID, str, datetime]:
    token, token_id, expires_at = new_token(), uuid.uuid4(), now + timedelta(days=days)
    await user_roles.add_token(
        connection, token_id, user_id, hash_token(token), label, now, expires_at
    )
    return token_id, token, expires_at


INVALID_TOKEN = "the token is not valid (unknown, expired, revoked, or its user erased)"


async def authenticate(
    pool: asyncpg.Pool[Any],
    authorization: str | None,
    now: datetime,
    cache: TokenCache | None = None,
) -> Actor:
    if not authorization:
        raise Unauthenticated("send Authorization: Bearer <token>")
    scheme, _, token = authorization.partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token.startswith(TOKEN_PREFIX) or len(token) > 200:
        raise Unauthenticated("the Authorization header is not a bearer token of this service")
    token_hash = hash_token(token)
    row = cache.get(token_hash) if cache is not None else None
    if row is None:
        generation = cache.generation() if cache is not None else None
        row = await user_roles.token_holder(pool, token_hash)
        if cache is not None and row is not None:
            cache.keep(token_hash, row, generation)
    if (
        row is None
        or row["revoked_at"] is not None
        or row["expires_at"] <= now
        or row["erased_at"] is not None
    ):
        # One answer whatever the reason: a token's state (and whether its user was erased)
        # is told to no one holding it.
        raise Unauthenticated(INVALID_TOKEN)
    grants = tuple(Grant(role, unit) for role, unit in zip(row["roles"], row["units"], strict=True))
    return Actor(row["user_id"], grants)


async def actor_of(pool: asyncpg.Pool[Any], user_id: UUID) -> Actor | None:
    """The user with the roles they hold now (None when unknown or erased): whose eyes a
    subscription's deliveries see through."""
    row = await user_roles.grants_of_user(pool, user_id)
    if row is None or row["erased_at"] is not None:
        return None
    grants = tuple(Grant(role, unit) for role, unit in zip(row["roles"], row["units"], strict=True))
    return Actor(user_id, grants)


def require_admin(actor: Actor) -> None:
    if not actor.is_admin:
        raise Forbidden("only an admin may do this")
