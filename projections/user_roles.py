"""The roles users hold, per unit (an inline read model), and the queries over them and the
personal data beside them (`users`, `api_tokens`: rows that are not events, kept by the user
handlers in the command's transaction)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any
from uuid import UUID

import asyncpg

from events.catalog import Event
from events.organisation import RoleGranted, RoleRevoked
from events.store import DbConnection
from projections.change import Change
from projections.rows import RowTable, values_of

EVENTS = (RoleGranted, RoleRevoked)


@dataclass(frozen=True)
class RoleRow:
    role_id: UUID
    user_id: UUID
    role: str
    unit_id: UUID | None
    granted_at: datetime
    revoked_at: datetime | None = None


def apply(row: RoleRow | None, event: Event, at: datetime) -> RoleRow | None:
    match event:
        case RoleGranted():
            return RoleRow(event.role_id, event.user_id, event.role, event.unit_id, at)
        case RoleRevoked() if row is not None:
            return replace(row, revoked_at=at)
    return row


COLUMNS = tuple(RoleRow.__dataclass_fields__)


def _from_record(record: Mapping[str, Any]) -> RoleRow:
    return RoleRow(**{name: record[name] for name in COLUMNS})


TABLE = RowTable("user_roles", "role_id", COLUMNS, _from_record, values_of)


async def write(connection: DbConnection, changes: Sequence[Change]) -> None:
    for change in changes:
        event: Any = change.event
        row = apply(await TABLE.get(connection, event.role_id), event, change.at)
        if row is not None:
            await TABLE.put(connection, row)


# -- queries ----------------------------------------------------------------------------------


async def held_by(pool: asyncpg.Pool[Any], user_id: UUID) -> list[asyncpg.Record]:
    """The roles a user holds now, oldest first."""
    return list(
        await pool.fetch(
            "SELECT role_id, role, unit_id FROM user_roles WHERE user_id = $1 "
            "AND revoked_at IS NULL ORDER BY granted_at, role_id",
            user_id,
        )
    )


async def grants_of_user(pool: asyncpg.Pool[Any], user_id: UUID) -> asyncpg.Record | None:
    """A user's erasure and the (role, unit) pairs they hold now; None when unknown."""
    return await pool.fetchrow(
        """SELECT u.erased_at,
                  coalesce(array_agg(r.role) FILTER (WHERE r.role_id IS NOT NULL), '{}') AS roles,
                  coalesce(array_agg(r.unit_id) FILTER (WHERE r.role_id IS NOT NULL), '{}')
                      AS units
           FROM users u
           LEFT JOIN user_roles r ON r.user_id = u.user_id AND r.revoked_at IS NULL
           WHERE u.user_id = $1
           GROUP BY u.user_id, u.erased_at""",
        user_id,
    )


async def token_holder(pool: asyncpg.Pool[Any], token_hash: bytes) -> asyncpg.Record | None:
    """The token's user, its expiry, revocation and erasure, and the roles held now."""
    return await pool.fetchrow(
        """SELECT t.user_id, t.expires_at, t.revoked_at, u.erased_at,
                  coalesce(array_agg(r.role) FILTER (WHERE r.role_id IS NOT NULL), '{}') AS roles,
                  coalesce(array_agg(r.unit_id) FILTER (WHERE r.role_id IS NOT NULL), '{}')
                      AS units
           FROM api_tokens t
           JOIN users u ON u.user_id = t.user_id
           LEFT JOIN user_roles r ON r.user_id = t.user_id AND r.revoked_at IS NULL
           WHERE t.token_hash = $1
           GROUP BY t.user_id, t.expires_at, t.revoked_at, u.erased_at""",
        token_hash,
    )


async def add_token(
    connection: DbConnection | asyncpg.Pool[Any],
    token_id: UUID,
    user_id: UUID,
    token_hash: bytes,
    label: str | None,
    created_at: datetime,
    expires_at: datetime,
) -> None:
    await connection.execute(
        "INSERT INTO api_tokens (token_id, user_id, token_hash, label, created_at, expires_at) "
        "VALUES ($1, $2, $3, $4, $5, $6)",
        token_id,
        user_id,
        token_hash,
        label,
        created_at,
        expires_at,
    )


async def token_is_live(pool: asyncpg.Pool[Any], token_hash: bytes, now: datetime) -> bool:
    return bool(
        await pool.fetchval(
            "SELECT count(*) FROM api_tokens WHERE token_hash = $1 AND revoked_at IS NULL "
            "AND expires_at > $2",
            token_hash,
            now,
        )
    )


async def revoke_token(
    pool: asyncpg.Pool[Any], user_id: UUID, token_id: UUID, now: datetime
) -> bool:
    revoked = await pool.fetchval(
        "UPDATE api_tokens SET revoked_at = coalesce(revoked_at, $3) "
        "WHERE token_id = $1 AND user_id = $2 RETURNING token_id",
        token_id,
        user_id,
        now,
    )
    return revoked is not None


async def add_person(
    connection: DbConnection,
    user_id: UUID,
    name: str,
    email: str | None,
    phone: str | None,
    created_at: datetime,
) -> None:
    await connection.execute(
        "INSERT INTO users (user_id, name, email, phone, created_at) VALUES ($1, $2, $3, $4, $5)",
        user_id,
        name,
        email,
        phone,
        created_at,
    )


async def erase_person(pool: asyncpg.Pool[Any], user_id: UUID, now: datetime) -> bool:
    """Remove a person's name, e-mail and phone, revoke their tokens and clear the tokens'
    labels (a label may name the person); the events stay."""
    async with pool.acquire() as connection, connection.transaction():
        erased = await connection.fetchval(
            "UPDATE users SET name = NULL, email = NULL, phone = NULL, erased_at = $2 "
            "WHERE user_id = $1 RETURNING user_id",
            user_id,
            now,
        )
        await connection.execute(
            "UPDATE api_tokens SET label = NULL, "
            "revoked_at = coalesce(revoked_at, $2) WHERE user_id = $1",
            user_id,
            now,
        )
    return erased is not None


async def person(pool: asyncpg.Pool[Any], user_id: UUID) -> asyncpg.Record | None:
    return await pool.fetchrow(
        "SELECT user_id, name, email, phone, erased_at FROM users WHERE user_id = $1", user_id
    )


async def user_ids(pool: asyncpg.Pool[Any], limit: int) -> list[UUID]:
    rows = await pool.fetch(
        "SELECT user_id FROM users ORDER BY created_at, user_id LIMIT $1", limit
    )
    return [row["user_id"] for row in rows]
