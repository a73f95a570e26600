"""The organisation directory: units and roles as they stand.

Pure `apply` functions fold events into rows; `write` keeps the tables in step inside the
transaction of the command that appended the events, so answers are readable at once.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any
from uuid import UUID

import asyncpg

from events.catalog import Event
from events.models import ModelCommended, ModelRegistered, ModelReported
from events.organisation import (
    RoleGranted,
    RoleRevoked,
    UnitDissolved,
    UnitMerged,
    UnitMoved,
    UnitRegistered,
    UnitRenamed,
    UnitSplit,
)
from events.store import DbConnection, EventStore
from projections import deadline_steps, plan_list
from services.domain.text import fold


@dataclass(frozen=True)
class UnitRow:
    unit_id: UUID
    version: int
    name: str
    short_code: str
    kind: str
    parent_id: UUID | None
    status: str
    successor_id: UUID | None
    registered_at: datetime
    updated_at: datetime

    @property
    def search_key(self) -> str:
        return fold(f"{self.name} {self.short_code}")


def apply_unit(row: UnitRow | None, event: Event, version: int, at: datetime) -> UnitRow | None:
    match event:
        case UnitRegistered():
            return UnitRow(
                event.unit_id,
                version,
                event.name,
                event.short_code,
                event.kind,
                event.parent_id,
                "active",
                None,
                at,
                at,
            )
    if row is None:
        return None
    match event:
        case UnitRenamed():
            return replace(
                row, version=version, name=event.name, short_code=event.short_code, updated_at=at
            )
        case UnitMoved():
            return replace(row, version=version, parent_id=event.to_parent_id, updated_at=at)
        case UnitMerged():
            return replace(
                row,
                version=version,
                status="merged",
                successor_id=event.successor_id,
                updated_at=at,
            )
        case UnitSplit():
            return replace(
                row,
                version=version,
                status="split",
                successor_id=event.default_successor_id,
                updated_at=at,
            )
        case UnitDissolved():
            return replace(
                row,
                version=version,
                status="dissolved",
                successor_id=event.successor_id,
                updated_at=at,
            )
    return row


_UNIT_COLUMNS = (
    "unit_id, version, name, short_code, kind, parent_id, status, successor_id, "
    "registered_at, updated_at"
)


async def write(
    connection: DbConnection,
    changes: list[tuple[Event, int]],
    at: datetime,
    *,
    refresh_closure: bool = True,
) -> None:
    """Apply appended events (with their stream versions) to the directory tables."""
    units_changed = False
    for event, version in changes:
        match event:
            case RoleGranted():
                await connection.execute(
                    "INSERT INTO user_roles (role_id, user_id, role, unit_id, granted_at) "
                    "VALUES ($1, $2, $3, $4, $5)",
                    event.role_id,
                    event.user_id,
                    event.role,
                    event.unit_id,
                    at,
                )
            case ModelRegistered():
                await connection.execute(
                    "INSERT INTO exemplary_models (model_id, version, unit_id, year, field, kind, "
                    "title, registered_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
                    event.model_id,
                    version,
                    event.unit_id,
                    event.year,
                    event.field,
                    event.kind,
                    event.title,
                    at,
                )
            case ModelReported():
                await connection.execute(
                    "UPDATE exemplary_models SET reports = reports + 1, version = $2 "
                    "WHERE model_id = $1",
                    event.model_id,
                    version,
                )
            case ModelCommended():
                await connection.execute(
                    "UPDATE exemplary_models SET commendations = commendations || $2::text, "
                    "version = $3 WHERE model_id = $1",
                    event.model_id,
                    event.level,
                    version,
                )
            case RoleRevoked():
                await connection.execute(
                    "UPDATE user_roles SET revoked_at = $2 WHERE role_id = $1", event.role_id, at
                )
            case (
                UnitRegistered()
                | UnitRenamed()
                | UnitMoved()
                | UnitMerged()
                | UnitSplit()
                | UnitDissolved()
            ):
                await _write_unit(connection, event, version, at)
                units_changed = True
            case _ if isinstance(event, plan_list.PLAN_EVENTS):
                await plan_list.write(connection, event, version, at)
            case _ if isinstance(event, deadline_steps.EVENTS):
                await deadline_steps.write(connection, event)
    if units_changed and refresh_closure:
        await connection.execute("SELECT unit_closure_refresh()")


async def _write_unit(connection: DbConnection, event: Any, version: int, at: datetime) -> None:
    record = await connection.fetchrow(
        f"SELECT {_UNIT_COLUMNS} FROM unit_directory WHERE unit_id = $1", event.unit_id
    )
    row = apply_unit(UnitRow(**dict(record)) if record else None, event, version, at)
    if row is None:
        return
    await connection.execute(
        f"INSERT INTO unit_directory ({_UNIT_COLUMNS}, search_key) "
        "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) "
        "ON CONFLICT (unit_id) DO UPDATE SET version = EXCLUDED.version, name = EXCLUDED.name, "
        "short_code = EXCLUDED.short_code, kind = EXCLUDED.kind, parent_id = EXCLUDED.parent_id, "
        "status = EXCLUDED.status, successor_id = EXCLUDED.successor_id, "
        "search_key = EXCLUDED.search_key, updated_at = EXCLUDED.updated_at",
        row.unit_id,
        row.version,
        row.name,
        row.short_code,
        row.kind,
        row.parent_id,
        row.status,
        row.successor_id,
        row.registered_at,
        row.updated_at,
        row.search_key,
    )


async def rebuild(pool: asyncpg.Pool[Any], store: EventStore) -> int:
    """Drop the directory (units and their closure, roles, models, the plan list) and fold
    every unit, user, model and plan event into it again, in feed order, in one transaction.
    Returns the number of events applied.

    Commands write these tables in their own transaction, so once TRUNCATE holds the lock every
    event that matters has committed (and is read here) or waits for this rebuild to finish."""
    applied = 0
    async with pool.acquire() as connection, connection.transaction():
        await connection.execute(
            "TRUNCATE unit_directory, user_roles, exemplary_models, plan_list, unit_closure"
        )
        async for event in store.replay(connection, categories=["unit", "user", "model", "plan"]):
            assert event.data is not None
            await write(
                connection, [(event.data, event.version)], event.recorded_at, refresh_closure=False
            )
            applied += 1
        await connection.execute("SELECT unit_closure_refresh()")
    return applied
