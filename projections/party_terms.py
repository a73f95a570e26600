"""Party committee terms that restart document numbering, as operators set them (reference
data, not events), and the term a date falls in."""

from __future__ import annotations

from datetime import date
from typing import Any
from uuid import UUID

import asyncpg


class TermOverlaps(Exception):
    def __init__(self, label: str) -> None:
        super().__init__(f"the term overlaps the term {label} of that unit")
        self.label = label


async def label_on(pool: asyncpg.Pool[Any], unit_id: UUID, on: date) -> str | None:
    """The label of the unit's term that `on` falls in, if an operator set one."""
    label: str | None = await pool.fetchval(
        "SELECT label FROM party_terms WHERE unit_id = $1 AND starts_on <= $2 AND $2 < ends_on",
        unit_id,
        on,
    )
    return label


async def put(pool: asyncpg.Pool[Any], unit_id: UUID, starts: date, ends: date, label: str) -> None:
    """Set the term starting on `starts` (replacing one that starts that day); refused
    (TermOverlaps) when it overlaps another of the unit's terms."""
    async with pool.acquire() as connection, connection.transaction():
        overlapping = await connection.fetchval(
            "SELECT label FROM party_terms WHERE unit_id = $1 AND starts_on < $3 "
            "AND $2 < ends_on AND starts_on <> $2",
            unit_id,
            starts,
            ends,
        )
        if overlapping:
            raise TermOverlaps(overlapping)
        await connection.execute(
            "INSERT INTO party_terms (unit_id, starts_on, ends_on, label) VALUES ($1, $2, $3, $4) "
            "ON CONFLICT (unit_id, starts_on) DO UPDATE SET ends_on = EXCLUDED.ends_on, "
            "label = EXCLUDED.label",
            unit_id,
            starts,
            ends,
            label,
        )


async def listing(pool: asyncpg.Pool[Any]) -> list[asyncpg.Record]:
    """Every term with its unit's short code, by unit then start."""
    return list(
        await pool.fetch(
            "SELECT t.unit_id, d.short_code, t.starts_on, t.ends_on, t.label FROM party_terms t "
            "LEFT JOIN unit_directory d USING (unit_id) ORDER BY d.short_code, t.starts_on"
        )
    )
