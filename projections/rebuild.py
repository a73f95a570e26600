"""Rebuild a projected read model (`task_facts`) beside the live table and swap the new one in.

The projector keeps serving the old table while the rebuild folds every event in memory
(page by page, in feed order) and writes the rows with COPY, in chunks of their own
transactions, into a fresh table; no transaction stays open long enough to hold back the
feed's horizon. The swap is one short transaction: the new table takes the old one's name,
indexes and constraint names, and the checkpoint moves to where the fold stopped with a new
owner epoch, so the active projector is fenced and resumes from there on the new table.
"""

from __future__ import annotations

import asyncio
import gc
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import asyncpg
import structlog

from events.store import EventStore
from projections.projected import ProjectedModel

log = structlog.get_logger(__name__)

Progress = Callable[[str, int, int], None]
"""Called with (phase, done, total) as the rebuild goes: "fold" in events, "write" in rows."""

_INDEX = re.compile(r"^CREATE (UNIQUE )?INDEX (\S+) ON (\S+) (.*)$")


class RebuildRunning(Exception):
    """Another rebuild of the projection holds its lock."""


@dataclass(frozen=True)
class Rebuilt:
    events: int
    rows: int
    seconds: float
    position: tuple[int, int]

    @property
    def rate(self) -> float:
        return self.events / self.seconds if self.seconds > 0 else float("inf")


def _quiet(_: str, __: int, ___: int) -> None:
    return None


async def rebuild_beside(
    model: ProjectedModel,
    store: EventStore,
    *,
    progress: Progress = _quiet,
    page: int = 10_000,
    chunk: int = 20_000,
) -> Rebuilt:
    pool = store.pool
    started = time.perf_counter()
    async with pool.acquire() as guard:
        key = f"rebuild:{model.name}"
        if not await guard.fetchval("SELECT pg_try_advisory_lock(hashtextextended($1, 0))", key):
            raise RebuildRunning(f"another rebuild of {model.name} is running")
        try:
            position, events, rows = await _fold(model, store, page, progress)
            await _write(model, pool, rows, chunk, progress)
            await _swap(model, pool, position, events, await store.epoch(refresh=True))
        finally:
            await guard.execute("SELECT pg_advisory_unlock(hashtextextended($1, 0))", key)
    done = Rebuilt(events, len(rows), time.perf_counter() - started, position)
    log.info("projection rebuilt", projection=model.name, events=events, rows=len(rows))
    return done


async def _fold(
    model: ProjectedModel, store: EventStore, page: int, progress: Progress
) -> tuple[tuple[int, int], int, list[Any]]:
    """Every event of the model's category committed when the rebuild started, folded in feed
    order. The feed holds events back while an older transaction is open, so a short page is
    not the end."""
    categories = [model.category]
    end, total = await store.last_position_and_count(categories)
    last = end or (0, 0)
    rows: dict[str, Any] = {}
    position, applied = (0, 0), 0
    apply = model.apply
    # Millions of small objects stay alive until the write: the cyclic collector would walk
    # them again and again for nothing (they hold no cycles), so it pauses during the fold.
    collecting = gc.isenabled()
    gc.disable()
    try:
        following = asyncio.ensure_future(
            store.scan(categories=categories, after=position, limit=page)
        )
        while True:
            batch = await following
            if batch:
                position = batch[-1][0]
            done = len(batch) < page and position >= last
            if not done:  # read the next page while this one is folded
                following = asyncio.ensure_future(
                    store.scan(categories=categories, after=position, limit=page)
                )
            for _, stream_id, event in batch:
                rows[stream_id] = apply(rows.get(stream_id), event)
            applied += len(batch)
            if batch:
                progress("fold", applied, max(total, applied))
            if done:
                break
            if len(batch) < page:
                await asyncio.sleep(0.05)  # held back behind an older open transaction
    finally:
        if collecting:
            gc.enable()
    return position, applied, [row for row in rows.values() if row is not None]


async def _write(
    model: ProjectedModel, pool: asyncpg.Pool[Any], rows: list[Any], chunk: int, progress: Progress
) -> None:
    table, fresh = model.table, f"{model.table}_rebuild"
    async with pool.acquire() as connection:
        await connection.execute(f"DROP TABLE IF EXISTS {fresh}")
        await connection.execute(
            f"CREATE TABLE {fresh} (LIKE {table} INCLUDING DEFAULTS INCLUDING CONSTRAINTS)"
        )
        written = 0
        for start in range(0, len(rows), chunk):
            part = rows[start : start + chunk]
            async with connection.transaction():
                await connection.copy_records_to_table(
                    fresh, records=[model.values(row) for row in part], columns=model.columns
                )
            written += len(part)
            progress("write", written, len(rows))
        for _, definition in await _indexes(connection, table):
            await connection.execute(definition)
        await connection.execute(f"ANALYZE {fresh}")


async def _indexes(connection: Any, table: str) -> list[tuple[str, str]]:
    """The live table's indexes as (name, definition on the fresh table under a new name)."""
    found = []
    for row in await connection.fetch(
        "SELECT indexname, indexdef FROM pg_indexes "
        "WHERE schemaname = current_schema() AND tablename = $1 ORDER BY indexname",
        table,
    ):
        match = _INDEX.match(row["indexdef"])
        assert match is not None, row["indexdef"]
        unique, name, _, rest = match.groups()
        found.append((name, f"CREATE {unique or ''}INDEX {name}_rebuild ON {table}_rebuild {rest}"))
    return found


async def _swap(
    model: ProjectedModel,
    pool: asyncpg.Pool[Any],
    position: tuple[int, int],
    events: int,
    epoch: str,
) -> None:
    table = model.table
    async with pool.acquire() as connection, connection.transaction():
        # The table first, then the checkpoint row: the projector's order, so no deadlock.
        await connection.execute(f"LOCK TABLE {table} IN ACCESS EXCLUSIVE MODE")
        primary = await connection.fetchval(
            "SELECT c.conname FROM pg_constraint c WHERE c.conrelid = $1::regclass "
            "AND c.contype = 'p'",
            table,
        )
        indexes = await _indexes(connection, table)
        await connection.execute(f"DROP TABLE {table}")
        await connection.execute(f"ALTER TABLE {table}_rebuild RENAME TO {table}")
        for name, _ in indexes:
            if name == primary:
                await connection.execute(
                    f"ALTER TABLE {table} ADD CONSTRAINT {name} PRIMARY KEY USING INDEX "
                    f"{name}_rebuild"
                )
            else:
                await connection.execute(f"ALTER INDEX {name}_rebuild RENAME TO {name}")
        await connection.execute(
            "INSERT INTO projector_checkpoints (name) VALUES ($1) ON CONFLICT DO NOTHING",
            model.name,
        )
        await connection.execute(
            """UPDATE projector_checkpoints
               SET tx_id = $2, position = $3, events = $4, epoch = $5,
                   owner_epoch = owner_epoch + 1, owner = NULL, heartbeat_at = NULL
               WHERE name = $1""",
            model.name,
            position[0],
            position[1],
            events,
            epoch,
        )
