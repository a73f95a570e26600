"""How far the committed events of some categories go: what a read model's projector, rebuild
and lag gauges ask the store, so that nothing outside `events/` reads the events table.

Unlike the feed these ignore the visibility horizon: they count every committed event (a
projector that has caught up with all of them is at the end, whatever transaction is still
open elsewhere). Positions are feed positions, (tx_id, position) pairs. Bounds are plain
parameters and every scan runs in feed order under a LIMIT, so even the generic plan of a
prepared statement reads the feed index from the position on.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from events.store.ids import StoreBase

# Events after the position counted up to the cap; when the first of them was recorded.
_BACKLOG_SQL = """
SELECT (SELECT count(*) FROM (
            SELECT 1 FROM events WHERE category = ANY($1::text[])
              AND (tx_id, position) > ($2::bigint, $3::bigint)
            ORDER BY tx_id, position LIMIT $4) AS pending) AS pending,
       (SELECT recorded_at FROM events WHERE category = ANY($1::text[])
          AND (tx_id, position) > ($2::bigint, $3::bigint)
        ORDER BY tx_id, position LIMIT 1) AS oldest
"""

# The first event in the range, under a LIMIT (an EXISTS would drop the order and the LIMIT,
# and its generic plan may scan the whole table).
_ANY_BETWEEN_SQL = """
SELECT (SELECT 1 FROM events WHERE category = ANY($1::text[])
          AND (tx_id, position) > ($2::bigint, $3::bigint)
          AND (tx_id, position) <= ($4::bigint, $5::bigint)
        ORDER BY tx_id, position LIMIT 1) IS NOT NULL
"""

_LAST_SQL = """
SELECT tx_id, position FROM events WHERE category = ANY($1::text[])
ORDER BY tx_id DESC, position DESC LIMIT 1
"""

_LAST_AND_COUNT_SQL = """
SELECT tx_id, position, (SELECT count(*) FROM events WHERE category = ANY($1::text[])) AS total
FROM events WHERE category = ANY($1::text[])
ORDER BY tx_id DESC, position DESC LIMIT 1
"""


class Progress(StoreBase):
    """Where the committed events of some categories end (set up by `EventStore`)."""

    async def last_position(self, categories: Sequence[str]) -> tuple[int, int] | None:
        """The feed position of the last committed event of these categories; None when there
        is none. A follower at or past it has seen every such event committed so far."""
        row = await self.pool.fetchrow(_LAST_SQL, list(categories))
        return (row["tx_id"], row["position"]) if row else None

    async def last_position_and_count(
        self, categories: Sequence[str]
    ) -> tuple[tuple[int, int] | None, int]:
        """`last_position(categories)` and how many committed events these categories hold,
        read in one statement (one snapshot): where a rebuild's fold ends and how many events
        it folds. (None, 0) when there is none."""
        row = await self.pool.fetchrow(_LAST_AND_COUNT_SQL, list(categories))
        return ((row["tx_id"], row["position"]), int(row["total"])) if row else (None, 0)

    async def backlog_after(
        self, position: tuple[int, int], categories: Sequence[str], *, cap: int = 10_000_000
    ) -> tuple[int, datetime | None]:
        """How many committed events of these categories lie after `position` (counted in feed
        order up to `cap`), and when the first of them in feed order was recorded (None when
        there is none): a projection's lag from its checkpoint."""
        row = await self.pool.fetchrow(_BACKLOG_SQL, list(categories), *position, max(1, cap))
        assert row is not None
        return int(row["pending"]), row["oldest"]

    async def any_between(
        self, categories: Sequence[str], after: tuple[int, int], upto: tuple[int, int]
    ) -> bool:
        """Whether a committed event of these categories lies after `after` and at or before
        `upto` (feed positions): has a projection at `after` all it needs to answer as of
        `upto`?"""
        return bool(await self.pool.fetchval(_ANY_BETWEEN_SQL, list(categories), *after, *upto))

    async def count_events(self) -> int:
        """How many events the store holds (every committed one)."""
        return int(await self.pool.fetchval("SELECT count(*) FROM events"))
