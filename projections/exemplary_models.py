"""Exemplary models ("mô hình điển hình") with their reports and commendations: an inline read
model, and the list behind GET /models."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any
from uuid import UUID

import asyncpg

from events.catalog import Event
from events.models import ModelCommended, ModelRegistered, ModelReported
from events.store import DbConnection
from projections.change import Change
from projections.filters import Filters
from projections.rows import RowTable

EVENTS = (ModelRegistered, ModelReported, ModelCommended)


@dataclass(frozen=True)
class ModelRow:
    model_id: UUID
    version: int
    unit_id: UUID
    year: int
    field: str
    kind: str
    title: str
    reports: int
    commendations: tuple[str, ...]
    registered_at: datetime


def apply(row: ModelRow | None, event: Event, version: int, at: datetime) -> ModelRow | None:
    match event:
        case ModelRegistered():
            return ModelRow(
                event.model_id,
                version,
                event.unit_id,
                event.year,
                event.field,
                event.kind,
                event.title,
                0,
                (),
                at,
            )
    if row is None:
        return None
    match event:
        case ModelReported():
            return replace(row, version=version, reports=row.reports + 1)
        case ModelCommended():
            return replace(row, version=version, commendations=(*row.commendations, event.level))
    return row


COLUMNS = tuple(ModelRow.__dataclass_fields__)


def _from_record(record: Mapping[str, Any]) -> ModelRow:
    values = {name: record[name] for name in COLUMNS}
    return ModelRow(**{**values, "commendations": tuple(values["commendations"])})


def _values(row: ModelRow) -> list[Any]:
    return [list(v) if isinstance(v, tuple) else v for v in (getattr(row, c) for c in COLUMNS)]


TABLE = RowTable("exemplary_models", "model_id", COLUMNS, _from_record, _values)


async def write(connection: DbConnection, changes: Sequence[Change]) -> None:
    for change in changes:
        event: Any = change.event
        row = apply(await TABLE.get(connection, event.model_id), event, change.version, change.at)
        if row is not None:
            await TABLE.put(connection, row)


async def listing(
    pool: asyncpg.Pool[Any],
    *,
    year: int | None,
    unit: UUID | None,
    limit: int,
    readable_by: list[UUID] | None = None,
) -> list[asyncpg.Record]:
    """Models newest year first; `readable_by` (None: every model) keeps those whose unit is
    among these units (the read rule: a model is read by its unit's reach)."""
    f = Filters()
    if readable_by is not None:
        f.add(f"unit_id = ANY({f.param(readable_by)}::uuid[])")
    if year is not None:
        f.add(f"year = {f.param(year)}")
    if unit is not None:
        f.add(f"unit_id = {f.param(unit)}")
    return list(
        await pool.fetch(
            "SELECT model_id, version, unit_id, year, field, kind, title, reports, commendations "
            f"FROM exemplary_models {f.where} ORDER BY year DESC, title, model_id "
            f"LIMIT {f.param(limit)}",
            *f.params,
        )
    )
