"""Helpers for tests of the organisation API: users with tokens, requests, event counts."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

import asyncpg

from events.organisation import Role
from events.store import EventStore
from services.handlers import users
from services.handlers.auth import OPERATOR, issue_token
from services.handlers.command_path import CommandContext, execute


async def make_user(
    store: EventStore,
    role: Role | None,
    unit_id: UUID | None = None,
    *,
    name: str = "Người dùng",
    days: int = 90,
    now: datetime | None = None,
) -> tuple[UUID, str]:
    """Register a user (through the command path, as the operator) and issue a token."""
    now = now or datetime.now(UTC)
    user_id = uuid.uuid4()
    roles = [(role, unit_id)] if role else []
    await execute(
        store,
        CommandContext(OPERATOR, now),
        users.register_handler(user_id, users.PersonalData(name), roles, OPERATOR, now),
    )
    _, token, _ = await issue_token(store.pool, user_id, now, days=days)
    return user_id, token


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def event_count(pool: asyncpg.Pool[Any]) -> int:
    return int(await pool.fetchval("SELECT count(*) FROM events"))
