"""Reading: a stream, the global feed (pages, backlog), scans and replays for read models, a
plan's events, and the streams some events concern.

Reads of the global feed follow the xid8 rule: only rows below `store_visible_horizon()` are
returned, ordered by (tx_id, position), so a follower never skips an event that commits late with
a lower position. The horizon waits only for transactions that write events in this database
(migration 0013): every such transaction registers before it has an id.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping, Sequence
from datetime import datetime
from typing import Any
from uuid import UUID

import asyncpg
import msgspec

from events.catalog import Event
from events.cursor import Cursor
from events.envelope import Metadata, Page, RecordedEvent, Tags
from events.errors import CursorFromAnotherEpoch
from events.store.ids import StoreBase
from events.store.pool import DbConnection
from events.wire import SQL_LINE

_EVENT_COLUMNS = (
    "event_id, stream_id, version, position, tx_id, type, schema_version, data, metadata, "
    "category, plan_id, units, recorded_at, prev_hash, hash"
)

_metadata_decoder = msgspec.json.Decoder(Metadata)


def _feed_conditions(
    start: Cursor | None,
    types: Sequence[str],
    categories: Sequence[str],
    streams: Sequence[str],
    plan_id: UUID | None,
    units: Sequence[UUID],
    hidden_categories: Sequence[str] = (),
    drafts_of: Sequence[UUID] | None = None,
) -> tuple[list[str], list[Any]]:
    """The WHERE conditions (and their parameters) of a feed read: finished transactions only,
    after the cursor, filters combined with AND and values of one filter with OR.

    `drafts_of` (None: no such filter) keeps an event of a plan that is a draft now only when
    the plan's issuer is among these units. The plan's status is read from `plan_list`, which
    the command path writes in the transaction of the plan's events, so it is never behind
    them; once issued, a plan's draft events are shown like its others."""
    conditions = ["tx_id < store_visible_horizon()"]
    params: list[Any] = []

    def param(value: Any) -> str:
        params.append(value)
        return f"${len(params)}"

    if start is not None:
        tx_id, position = param(start.tx_id), param(start.position)
        conditions.append(f"(tx_id, position) > ({tx_id}::bigint, {position}::bigint)")
    if types:
        conditions.append(f"type = ANY({param(list(types))}::text[])")
    if categories:
        conditions.append(f"category = ANY({param(list(categories))}::text[])")
    if streams:
        conditions.append(f"stream_id = ANY({param(list(streams))}::text[])")
    if plan_id is not None:
        conditions.append(f"plan_id = {param(plan_id)}::uuid")
    if units:
        conditions.append(f"units && {param(list(units))}::uuid[]")
    if hidden_categories:
        conditions.append(f"category <> ALL({param(list(hidden_categories))}::text[])")
    if drafts_of is not None:
        conditions.append(_draft_condition(param(list(drafts_of))))
    return conditions, params


def _draft_condition(issuers: str) -> str:
    """Rows of `events` not belonging to a draft plan whose issuer is outside `issuers`."""
    return (
        "(events.plan_id IS NULL OR NOT EXISTS (SELECT 1 FROM plan_list draft "
        "WHERE draft.plan_id = events.plan_id AND draft.status = 'draft' "
        f"AND draft.issuer_unit_id <> ALL({issuers}::uuid[])))"
    )


class Reading(StoreBase):
    """The reads of the events (set up by `EventStore`)."""

    # -- reads -------------------------------------------------------------------------------

    async def stream_version(self, stream_id: str) -> int:
        version = await self.pool.fetchval(
            "SELECT max(version) FROM events WHERE stream_id = $1", stream_id
        )
        return int(version or 0)

    async def read_stream(
        self,
        stream_id: str,
        *,
        after_version: int = 0,
        limit: int | None = None,
        decode: bool = True,
    ) -> list[RecordedEvent]:
        epoch = await self.epoch()
        rows = await self.pool.fetch(
            f"SELECT {_EVENT_COLUMNS} FROM events WHERE stream_id = $1 AND version > $2 "
            "ORDER BY version LIMIT $3",
            stream_id,
            after_version,
            limit,
        )
        events = [self._recorded(row, epoch, decode) for row in rows]
        if events:
            self._heads.remember(stream_id, events[-1].version, events[-1].hash)
        return events

    async def read_streams(self, after: Mapping[str, int]) -> dict[str, list[RecordedEvent]]:
        """The events of several streams, each after its version, in one query: every stream
        named is in the answer (an empty list when nothing follows)."""
        found: dict[str, list[RecordedEvent]] = {stream_id: [] for stream_id in after}
        if not after:
            return found
        epoch = await self.epoch()
        # Each stream by its own index scan (LATERAL, in version order): a join let the
        # planner pick bitmap scans whose cost grew with the store.
        rows = await self.pool.fetch(
            "SELECT e.* FROM unnest($1::text[], $2::bigint[]) AS wanted(stream_id, after) "
            f"CROSS JOIN LATERAL (SELECT {_EVENT_COLUMNS} FROM events "
            "WHERE events.stream_id = wanted.stream_id AND events.version > wanted.after "
            "ORDER BY events.version) e ORDER BY e.stream_id, e.version",
            list(after),
            list(after.values()),
        )
        for row in rows:
            found[row["stream_id"]].append(self._recorded(row, epoch, True))
        for stream_id, events in found.items():
            if events:
                self._heads.remember(stream_id, events[-1].version, events[-1].hash)
        return found

    async def read_all(
        self,
        *,
        after: str | None = None,
        limit: int = 500,
        types: Sequence[str] = (),
        categories: Sequence[str] = (),
        streams: Sequence[str] = (),
        plan_id: UUID | None = None,
        units: Sequence[UUID] = (),
        hidden_categories: Sequence[str] = (),
        drafts_of: Sequence[UUID] | None = None,
        decode: bool = False,
        raw: bool = False,
    ) -> Page:
        """Events in feed order after a cursor, only from finished transactions. With `raw`,
        the page carries rows of each event's wire line (`events.wire.SQL_LINE`), not events."""
        start = Cursor.decode(after) if after else None
        conditions, params = _feed_conditions(
            start, types, categories, streams, plan_id, units, hidden_categories, drafts_of
        )
        limit = max(1, min(limit, 10_000))
        params.append(limit)
        # The epoch comes with the page, so a restore is noticed at once, even with no events.
        columns = f"event_id, tx_id, position, {SQL_LINE} AS line" if raw else _EVENT_COLUMNS
        sql = (
            "WITH epoch AS (SELECT token, store_visible_horizon() AS horizon FROM store_epochs "
            "ORDER BY id DESC LIMIT 1) "
            "SELECT epoch.token AS epoch_token, epoch.horizon AS scan_horizon, page.* "
            "FROM epoch LEFT JOIN LATERAL ("
            f"SELECT {columns} FROM events WHERE {' AND '.join(conditions)} "
            f"ORDER BY tx_id, position LIMIT ${len(params)}) page ON true"
        )
        rows = await self.pool.fetch(sql, *params)
        epoch: str = rows[0]["epoch_token"]
        self._epoch = epoch
        if start is not None and start.epoch != epoch:
            raise CursorFromAnotherEpoch(start.epoch, epoch)
        found = [row for row in rows if row["event_id"]]
        # Every transaction below the horizon has ended, and this one statement saw them all:
        # a page that is not full holds every matching event up to there.
        scanned = (
            Cursor(epoch, max(0, rows[0]["scan_horizon"] - 1), 2**63 - 1).encode()
            if len(found) < limit
            else None
        )
        if raw:
            last = Cursor(epoch, found[-1]["tx_id"], found[-1]["position"]) if found else None
            return Page(
                [], last.encode() if last else after, rows=found, epoch=epoch, scanned=scanned
            )
        events = [self._recorded(row, epoch, decode) for row in found]
        return Page(events, events[-1].cursor if events else after, scanned=scanned)

    async def backlog(
        self,
        *,
        after: str | None,
        types: Sequence[str] = (),
        categories: Sequence[str] = (),
        streams: Sequence[str] = (),
        plan_id: UUID | None = None,
        units: Sequence[UUID] = (),
        hidden_categories: Sequence[str] = (),
        drafts_of: Sequence[UUID] | None = None,
        cap: int = 10_000,
    ) -> tuple[int, datetime | None]:
        """How many visible events match after a cursor (counted up to `cap`), and when the
        oldest of them was recorded: a follower's lag."""
        start = Cursor.decode(after) if after else None
        if start is not None and start.epoch != (epoch := await self.epoch(refresh=True)):
            raise CursorFromAnotherEpoch(start.epoch, epoch)
        conditions, params = _feed_conditions(
            start, types, categories, streams, plan_id, units, hidden_categories, drafts_of
        )
        params.append(max(1, cap))
        row = await self.pool.fetchrow(
            f"SELECT count(*) AS pending, min(recorded_at) AS oldest FROM ("
            f"SELECT recorded_at FROM events WHERE {' AND '.join(conditions)} "
            f"ORDER BY tx_id, position LIMIT ${len(params)}) pending",
            *params,
        )
        assert row is not None
        return int(row["pending"]), row["oldest"]

    async def scan(
        self, *, categories: Sequence[str], after: tuple[int, int] = (0, 0), limit: int = 10_000
    ) -> list[tuple[tuple[int, int], str, Event]]:
        """Decoded events of these categories after a feed position, in feed order, from
        finished transactions (as the feed), without the envelope: what a rebuild folds."""
        rows = await self.pool.fetch(
            "SELECT tx_id, position, stream_id, type, schema_version, data FROM events "
            "WHERE category = ANY($1::text[]) AND tx_id < store_visible_horizon() "
            "AND (tx_id, position) > ($2::bigint, $3::bigint) ORDER BY tx_id, position LIMIT $4",
            list(categories),
            after[0],
            after[1],
            limit,
        )
        decode = self.catalog.decode
        return [
            (
                (row[0], row[1]),
                row[2],
                decode(row[3], row[4], row[5]),
            )
            for row in rows
        ]

    async def replay(
        self, connection: DbConnection, *, categories: Sequence[str]
    ) -> AsyncIterator[RecordedEvent]:
        """Every committed event of these categories, in feed order, decoded, read in one
        snapshot on `connection` (which must be in a transaction). Unlike the feed this ignores
        the visibility horizon: a rebuild that holds the lock of its tables needs every event
        committed before it, and must not stop early behind some unrelated open transaction."""
        epoch = await self.epoch(refresh=True)
        async for row in connection.cursor(
            f"SELECT {_EVENT_COLUMNS} FROM events WHERE category = ANY($1::text[]) "
            "ORDER BY tx_id, position",
            list(categories),
            prefetch=1000,
        ):
            yield self._recorded(row, epoch, True)

    async def history(
        self,
        plan_ids: Sequence[UUID],
        *,
        after: str | None = None,
        limit: int = 1000,
        units: Sequence[UUID] = (),
        hidden_categories: Sequence[str] = (),
        drafts_of: Sequence[UUID] | None = None,
    ) -> Page:
        """Events tagged with these plans, in feed order, after a cursor, only from finished
        transactions (as the feed): a page that ends at a cursor never skips an event that an
        older transaction commits later. `units`, `hidden_categories` and `drafts_of` narrow
        it as they narrow the feed."""
        start = Cursor.decode(after) if after else None
        epoch = await self.epoch(refresh=True)
        if start is not None and start.epoch != epoch:
            raise CursorFromAnotherEpoch(start.epoch, epoch)
        conditions, params = _feed_conditions(
            None, (), (), (), None, units, hidden_categories, drafts_of
        )
        size = max(1, min(limit, 10_000))
        params += [list(plan_ids), start.tx_id if start else -1, start.position if start else -1]
        params.append(size)
        n = len(params)
        rows = await self.pool.fetch(
            f"SELECT {_EVENT_COLUMNS} FROM events WHERE {' AND '.join(conditions)} "
            f"AND plan_id = ANY(${n - 3}::uuid[]) "
            f"AND (tx_id, position) > (${n - 2}::bigint, ${n - 1}::bigint) "
            f"ORDER BY tx_id, position LIMIT ${n}",
            *params,
        )
        events = [self._recorded(row, epoch, False) for row in rows]
        full = len(events) == size
        return Page(events, events[-1].cursor if full else None)

    async def position_at(self, instant: datetime) -> tuple[int, int] | None:
        """The feed position of the last event recorded by `instant` (None before the first),
        among finished transactions (as the feed), so the answer for a past instant is stable."""
        row = await self.pool.fetchrow(
            "SELECT tx_id, position FROM events WHERE recorded_at <= $1 "
            "AND tx_id < store_visible_horizon() ORDER BY tx_id DESC, position DESC LIMIT 1",
            instant,
        )
        return (row["tx_id"], row["position"]) if row else None

    async def plan_events_through(
        self, plan_id: UUID, through: tuple[int, int]
    ) -> list[RecordedEvent]:
        """Every event tagged with the plan up to a feed position, in feed order, decoded."""
        epoch = await self.epoch(refresh=True)
        rows = await self.pool.fetch(
            f"SELECT {_EVENT_COLUMNS} FROM events WHERE plan_id = $1 "
            "AND (tx_id, position) <= ($2::bigint, $3::bigint) ORDER BY tx_id, position",
            plan_id,
            *through,
        )
        return [self._recorded(row, epoch, True) for row in rows]

    async def streams_of_plan(self, plan_id: UUID) -> list[str]:
        """The streams with events tagged with the plan: the plan's own and its tasks'."""
        rows = await self.pool.fetch(
            "SELECT DISTINCT stream_id FROM events WHERE plan_id = $1 ORDER BY 1", plan_id
        )
        return [row["stream_id"] for row in rows]

    async def units_of_stream(self, stream_id: str) -> list[UUID] | None:
        """The units a stream's events concern; None when the stream has no event."""
        row = await self.pool.fetchrow(
            "SELECT count(*) AS events, array_agg(DISTINCT u) FILTER (WHERE u IS NOT NULL) "
            "AS units FROM events LEFT JOIN LATERAL unnest(units) AS u ON true "
            "WHERE stream_id = $1",
            stream_id,
        )
        assert row is not None
        return None if row["events"] == 0 else list(row["units"] or [])

    async def streams_with_type_without(self, event_type: str, *, without: str) -> list[str]:
        """Streams with an event of one type and none of another, in stream id order."""
        rows = await self.pool.fetch(
            "SELECT stream_id FROM events WHERE type = $1 "
            "EXCEPT SELECT stream_id FROM events WHERE type = $2 ORDER BY 1",
            event_type,
            without,
        )
        return [row["stream_id"] for row in rows]

    async def streams_concerning(
        self, unit_id: UUID, *, category: str, types: Sequence[str]
    ) -> list[str]:
        """Streams of a category with events of these types tagged with the unit, committed so
        far. Unlike the feed this ignores the visibility horizon: a decision needs every
        committed stream, not a gap-free order."""
        rows = await self.pool.fetch(
            "SELECT DISTINCT stream_id FROM events WHERE category = $1 AND units && $2::uuid[] "
            "AND type = ANY($3::text[])",
            category,
            [unit_id],
            list(types),
        )
        return [row["stream_id"] for row in rows]

    def _recorded(self, row: asyncpg.Record, epoch: str, decode: bool) -> RecordedEvent:
        raw = row["data"]
        return RecordedEvent(
            event_id=row["event_id"],
            stream_id=row["stream_id"],
            version=row["version"],
            position=row["position"],
            cursor=Cursor(epoch, row["tx_id"], row["position"]).encode(),
            type=row["type"],
            schema_version=row["schema_version"],
            raw_data=raw,
            metadata=_metadata_decoder.decode(row["metadata"]),
            tags=Tags(category=row["category"], plan_id=row["plan_id"], units=tuple(row["units"])),
            recorded_at=row["recorded_at"],
            prev_hash=row["prev_hash"],
            hash=row["hash"],
            data=self.catalog.decode(row["type"], row["schema_version"], raw) if decode else None,
        )
