"""The PostgreSQL event store: append (optimistic, multi-stream, all or nothing) and reads.

One module per job, assembled here into `EventStore`:
- `pool`: the connection pool (`create_pool`, `DbConnection`);
- `ids`: stream ids and categories, event ids, the chain heads known here, the epoch, the head;
- `rows`: an append's rows prepared in the application (envelopes, tags, chain hashes);
- `append`: the three append paths, their refusals, and the idempotency answers;
- `reads`: a stream, the feed (pages, backlog), scans, replays, a plan's events, streams;
- `progress`: where the committed events of some categories end (projectors, rebuilds, lag).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import asyncpg

from events.catalog import Catalog
from events.catalog import catalog as domain_catalog
from events.store.append import APPEND_PATHS, Appending, AppendPath
from events.store.ids import STREAM_ID, StreamHeads, category_of
from events.store.pool import DbConnection, PoolConnection, create_pool
from events.store.progress import Progress
from events.store.reads import Reading
from events.store.rows import MAX_EVENTS_PER_APPEND, Rows
from events.wakeup import WakeUpSender


class EventStore(Appending, Reading, Progress):
    """The event store on a pool. `append_path` forces one append path for every append it
    can carry (tests); "auto" picks the cheapest."""

    def __init__(
        self,
        pool: asyncpg.Pool[Any],
        *,
        catalog: Catalog = domain_catalog,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        wake_channel: str = "campaign_events",
        append_path: AppendPath = "auto",
    ) -> None:
        if append_path not in APPEND_PATHS:
            raise ValueError(f"unknown append path {append_path!r}")
        self.pool = pool
        self.catalog = catalog
        self._epoch = None
        self._heads = StreamHeads()
        self._rows = Rows(catalog, clock)
        self.wake_channel = wake_channel
        self._wake = WakeUpSender(pool, wake_channel)
        self.append_path = append_path
        self.paths_taken = Counter()

    async def close(self) -> None:
        await self._wake.close()


__all__ = [
    "APPEND_PATHS",
    "MAX_EVENTS_PER_APPEND",
    "STREAM_ID",
    "AppendPath",
    "DbConnection",
    "EventStore",
    "PoolConnection",
    "category_of",
    "create_pool",
]
