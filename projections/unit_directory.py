"""The unit directory: units as they stand, the tree's closure, and the queries over them.

A pure `apply` folds a unit's events into its row; `write` keeps the table in step inside the
transaction of the command that appended the events (an inline read model), and with it the
closure (ancestor, descendant) the compliance roll-up joins on: a registration adds the new
unit's rows, a move, merge, split or dissolution replaces those of the units below the one
that changed (migration 0014 says why that is enough).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any
from uuid import UUID

import asyncpg

from events.catalog import Event
from events.organisation import (
    UnitDissolved,
    UnitMerged,
    UnitMoved,
    UnitRegistered,
    UnitRenamed,
    UnitSplit,
)
from events.store import DbConnection
from projections.change import Change
from projections.filters import Filters, escape_like
from projections.rows import RowTable, values_of
from services.domain.text import code_look, fold

EVENTS = (UnitRegistered, UnitRenamed, UnitMoved, UnitMerged, UnitSplit, UnitDissolved)


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

    @property
    def code_look(self) -> str:
        return code_look(self.short_code)


def apply(row: UnitRow | None, event: Event, version: int, at: datetime) -> UnitRow | None:
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


COLUMNS = (
    "unit_id",
    "version",
    "name",
    "short_code",
    "kind",
    "parent_id",
    "status",
    "successor_id",
    "registered_at",
    "updated_at",
)


def _from_record(record: Mapping[str, Any]) -> UnitRow:
    return UnitRow(**{name: record[name] for name in COLUMNS})


TABLE = RowTable(
    "unit_directory",
    "unit_id",
    (*COLUMNS, "search_key", "code_look"),
    _from_record,
    lambda row: (*values_of(row), row.search_key, row.code_look),
    read_columns=COLUMNS,
)


RESHAPING = (UnitMoved, UnitMerged, UnitSplit, UnitDissolved)
"""Events that change a unit's place in the tree (its parent, or its successor)."""


async def write(connection: DbConnection, changes: Sequence[Change]) -> None:
    added: list[UUID] = []
    reshaped: list[UUID] = []
    for change in changes:
        event: Any = change.event
        row = apply(await TABLE.get(connection, event.unit_id), event, change.version, change.at)
        if row is not None:
            await TABLE.put(connection, row)
        if isinstance(event, UnitRegistered):
            added.append(event.unit_id)
        elif isinstance(event, RESHAPING) and event.unit_id not in reshaped:
            reshaped.append(event.unit_id)
    if added or reshaped:
        await connection.execute("SELECT unit_closure_apply($1, $2)", added, reshaped)


# -- queries ----------------------------------------------------------------------------------

_LISTED = "unit_id, version, name, short_code, kind, parent_id, status, successor_id"


async def get(pool: asyncpg.Pool[Any], unit_id: UUID) -> asyncpg.Record | None:
    return await pool.fetchrow(f"SELECT {_LISTED} FROM unit_directory WHERE unit_id = $1", unit_id)


@dataclass(frozen=True)
class UnitPage:
    items: list[asyncpg.Record]
    next: tuple[str, UUID] | None
    """Where the next page starts after: (search key, unit id)."""


async def search(
    pool: asyncpg.Pool[Any],
    *,
    q: str | None,
    parent: UUID | None,
    status: str | None,
    limit: int,
    after: tuple[str, UUID] | None,
    code: str | None = None,
) -> UnitPage:
    """Units by name (folded: with or without diacritics), by short code (every unit that
    writes it: a code is a document symbol, "TU" is many provinces'), under a parent, in a
    status."""
    f = Filters()
    if code:
        f.add(f"short_code = upper({f.param(code.strip())})")
    if q:
        f.add(f"search_key LIKE {f.param('%' + escape_like(fold(q)) + '%')}")
    if parent is not None:
        f.add(f"parent_id = {f.param(parent)}")
    if status is not None:
        f.add(f"status = {f.param(status)}")
    if after is not None:
        f.add(f"(search_key, unit_id) > ({f.param(after[0])}, {f.param(after[1])})")
    rows = await pool.fetch(
        f"SELECT {_LISTED}, search_key FROM unit_directory {f.where} "
        f"ORDER BY search_key, unit_id LIMIT {f.param(limit + 1)}",
        *f.params,
    )
    more = len(rows) > limit
    rows = rows[:limit]
    last = (rows[-1]["search_key"], rows[-1]["unit_id"]) if more and rows else None
    return UnitPage(list(rows), last)


async def active_children(pool: asyncpg.Pool[Any], unit_id: UUID) -> int:
    count = await pool.fetchval(
        "SELECT count(*) FROM unit_directory WHERE parent_id = $1 AND status = 'active'", unit_id
    )
    return int(count)


async def sibling_codes(
    pool: asyncpg.Pool[Any], parent_id: UUID | None, unit_id: UUID, looks: Sequence[str]
) -> list[str]:
    """The short codes of the active units under `parent_id` (the roots when None), but
    `unit_id`'s, that look like one of `looks` (`code_look`): the codes a new or changed code
    may not look like. Found by index, whatever the number of siblings."""
    if not looks:
        return []
    where = "parent_id IS NULL" if parent_id is None else "parent_id = $3"
    # A row without its look (written by a process older than migration 0016 during a rolling
    # upgrade) is read too: the decider compares the codes themselves.
    rows = await pool.fetch(
        f"SELECT short_code FROM unit_directory WHERE {where} "
        "AND code_look = ANY(array_append($1::text[], '')) "
        "AND status = 'active' AND unit_id <> $2 ORDER BY short_code",
        list(looks),
        unit_id,
        *([] if parent_id is None else [parent_id]),
    )
    return [row["short_code"] for row in rows]


async def parent_of(pool: asyncpg.Pool[Any], unit_id: UUID) -> UUID | None:
    parent: UUID | None = await pool.fetchval(
        "SELECT parent_id FROM unit_directory WHERE unit_id = $1", unit_id
    )
    return parent


async def parents_of(pool: asyncpg.Pool[Any], unit_ids: Sequence[UUID]) -> dict[UUID, UUID | None]:
    """The parent of each of the units (None for a root or a unit not in the directory)."""
    rows = await pool.fetch(
        "SELECT unit_id, parent_id FROM unit_directory WHERE unit_id = ANY($1::uuid[])",
        list(unit_ids),
    )
    found: dict[UUID, UUID | None] = dict.fromkeys(unit_ids)
    found.update((row["unit_id"], row["parent_id"]) for row in rows)
    return found


async def active_by_short_code(pool: asyncpg.Pool[Any], code: str) -> list[asyncpg.Record]:
    return list(
        await pool.fetch(
            "SELECT unit_id, name FROM unit_directory WHERE short_code = upper($1) "
            "AND status = 'active'",
            code,
        )
    )


async def successors_in_place(pool: asyncpg.Pool[Any], unit_ids: set[UUID]) -> dict[UUID, UUID]:
    """Each unit itself while active, else the unit its work went to (followed to the end)."""
    rows = await pool.fetch(
        """WITH RECURSIVE chain(origin, unit_id, status, successor_id, depth) AS (
               SELECT unit_id, unit_id, status, successor_id, 0 FROM unit_directory
               WHERE unit_id = ANY($1::uuid[])
               UNION ALL
               SELECT chain.origin, d.unit_id, d.status, d.successor_id, chain.depth + 1
               FROM unit_directory d JOIN chain ON d.unit_id = chain.successor_id
               WHERE chain.status <> 'active' AND chain.depth < 32)
           SELECT DISTINCT ON (origin) origin, unit_id FROM chain
           ORDER BY origin, depth DESC""",
        list(unit_ids),
    )
    found = {row["origin"]: row["unit_id"] for row in rows}
    return {unit: found.get(unit, unit) for unit in unit_ids}


_ANCESTRY = """
WITH RECURSIVE up(unit_id, parent_id, depth) AS (
    SELECT unit_id, parent_id, 0 FROM unit_directory WHERE unit_id = ANY($1::uuid[])
    UNION
    SELECT d.unit_id, d.parent_id, up.depth + 1
    FROM unit_directory d JOIN up ON d.unit_id = up.parent_id
    WHERE up.depth < 64
)
SELECT DISTINCT unit_id FROM up
"""

_SUBTREES = """
WITH RECURSIVE down(unit_id, depth) AS (
    SELECT unit_id, 0 FROM unit_directory WHERE unit_id = ANY($1::uuid[])
    UNION
    SELECT d.unit_id, down.depth + 1 FROM unit_directory d JOIN down ON d.parent_id = down.unit_id
    WHERE down.depth < 64
)
SELECT DISTINCT unit_id FROM down
"""


async def with_ancestors(pool: asyncpg.Pool[Any], unit_ids: list[UUID]) -> set[UUID]:
    """The units and every unit above them."""
    return {row["unit_id"] for row in await pool.fetch(_ANCESTRY, unit_ids)}


async def with_descendants(pool: asyncpg.Pool[Any], unit_ids: list[UUID]) -> set[UUID]:
    """The units and every unit below them."""
    return {row["unit_id"] for row in await pool.fetch(_SUBTREES, unit_ids)}


_GROUP = """
SELECT d.unit_id FROM unit_directory d
WHERE d.status = 'active' AND d.unit_id <> $1
  AND (cardinality($2::text[]) = 0 OR d.kind = ANY($2::text[]))
  AND CASE WHEN $3 THEN d.unit_id IN (SELECT descendant_id FROM unit_closure
                                      WHERE ancestor_id = $1)
           ELSE d.parent_id = $1 END
ORDER BY d.short_code, d.name, d.unit_id
"""


async def group_members(
    pool: asyncpg.Pool[Any], within: UUID, kinds: Sequence[str], subtree: bool
) -> list[UUID]:
    """The active units a group names: under `within` (directly, or anywhere with `subtree`),
    of the kinds given (any when none), by short code and name."""
    return [row["unit_id"] for row in await pool.fetch(_GROUP, within, list(kinds), subtree)]


async def names_of(pool: asyncpg.Pool[Any], unit_ids: Iterable[UUID]) -> dict[UUID, dict[str, str]]:
    """Each unit's name and short code as it stands (`{"name", "short_code"}`), for reading an
    answer the way an official does; units not in the directory are left out."""
    wanted = list(dict.fromkeys(unit_ids))
    if not wanted:
        return {}
    rows = await pool.fetch(
        "SELECT unit_id, name, short_code FROM unit_directory WHERE unit_id = ANY($1::uuid[])",
        wanted,
    )
    return {r["unit_id"]: {"name": r["name"], "short_code": r["short_code"]} for r in rows}


async def top_codes_taken(
    pool: asyncpg.Pool[Any], codes: Sequence[str], others_than: Sequence[UUID]
) -> bool:
    """Whether an active top unit, other than those given, already uses one of the codes."""
    return bool(
        await pool.fetchval(
            "SELECT EXISTS (SELECT 1 FROM unit_directory WHERE parent_id IS NULL "
            "AND status = 'active' AND short_code = ANY($1::text[]) "
            "AND unit_id <> ALL($2::uuid[]))",
            list(codes),
            list(others_than),
        )
    )
