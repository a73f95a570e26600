"""A read model the projector keeps: one row per stream of a category, folded by a pure
`apply(row, event)`, written in pages with the projector's checkpoint."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal
from uuid import UUID

import asyncpg

from events.catalog import Event
from events.store import EventStore


@dataclass(frozen=True)
class Backlog:
    events: int
    """Events of the model's category after its checkpoint (counted up to a cap)."""
    oldest_at: datetime | None


@dataclass(frozen=True)
class ProjectedModel:
    name: str
    summary: str
    handles: tuple[type[Event], ...]
    category: str
    table: str
    key: str
    """The key column: the id in the stream's name (`<category>-<id>`)."""
    columns: tuple[str, ...]
    apply: Callable[[Any, Event], Any]
    from_record: Callable[[Mapping[str, Any]], Any]
    values: Callable[[Any], Sequence[Any]]
    rows_are: str = "rows"
    """What a row stands for, in words (`campaign rebuild` says "11 tasks")."""
    mode: Literal["projector"] = "projector"

    @property
    def categories(self) -> tuple[str, ...]:
        return (self.category,)

    @property
    def tables(self) -> tuple[str, ...]:
        return (self.table,)

    def key_of(self, stream_id: str) -> UUID:
        return UUID(stream_id.removeprefix(f"{self.category}-"))

    async def checkpoint(self, pool: asyncpg.Pool[Any]) -> tuple[int, int]:
        row = await pool.fetchrow(
            "SELECT tx_id, position FROM projector_checkpoints WHERE name = $1", self.name
        )
        return (row["tx_id"], row["position"]) if row else (0, 0)

    async def backlog(self, store: EventStore, position: tuple[int, int] | None = None) -> Backlog:
        """What is not yet applied after `position` (default: the stored checkpoint)."""
        if position is None:
            position = await self.checkpoint(store.pool)
        behind, oldest = await store.backlog_after(position, [self.category], cap=10_000_000)
        return Backlog(behind, oldest)

    async def has_unapplied(self, store: EventStore, upto: tuple[int, int]) -> bool:
        """Whether an event of the category at or before `upto` is not yet applied."""
        done = await self.checkpoint(store.pool)
        if done >= upto:
            return False
        return await store.any_between([self.category], done, upto)
