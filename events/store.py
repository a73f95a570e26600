"""The PostgreSQL event store: append (optimistic, multi-stream, all or nothing) and reads.

Reads of the global feed follow the xid8 rule: only rows of transactions older than every
transaction still running are returned, ordered by (tx_id, position), so a follower never skips
an event that commits late with a lower position.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, datetime
from typing import Any
from uuid import UUID, uuid4

import asyncpg
import msgspec

from events import metrics
from events.catalog import Catalog
from events.catalog import catalog as domain_catalog
from events.codec import canonical, envelope_jcs, register_jsonb_codec, tags_json, utc_text
from events.cursor import Cursor
from events.envelope import (
    AppendResult,
    IdempotencyEntry,
    Metadata,
    Page,
    RecordedEvent,
    RecordedRef,
    Reservation,
    StoredAnswer,
    StreamWrite,
    Tags,
)
from events.errors import (
    ClockSkew,
    Conflict,
    CursorFromAnotherEpoch,
    IdempotencyKeyInUse,
    IdempotencyKeyReused,
    InvalidAppend,
    ReservationTaken,
    VersionConflict,
)
from events.wakeup import WakeUpSender

STREAM_ID = re.compile(r"^[a-z][a-z0-9_]*-[A-Za-z0-9._:-]{1,200}$")
MAX_EVENTS_PER_APPEND = 10_000

_APPEND_SQL = """
SELECT out_event_id, out_position, out_tx_id, out_epoch FROM store_append(
    $1::text[], $2::int[], $3::bool[], $4::int[], $5::int[], $6::uuid[], $7::text[], $8::int[],
    $9::jsonb[], $10::text[], $11::uuid[], $12::text[], $13::bytea[], $14::jsonb,
    $15::timestamptz, $16::text[], $17::text[], $18::text[], $19::text, $20::text, $21::bytea,
    $22::jsonb)
"""

_EVENT_COLUMNS = (
    "event_id, stream_id, version, position, tx_id, type, schema_version, data, metadata, "
    "category, plan_id, units, recorded_at, prev_hash, hash"
)

_metadata_decoder = msgspec.json.Decoder(Metadata)
_ref_decoder = msgspec.json.Decoder(list[tuple[UUID, str, int, int, int]])


def category_of(stream_id: str) -> str:
    return stream_id.split("-", 1)[0]


async def _init_connection(connection: asyncpg.Connection[Any]) -> None:
    await register_jsonb_codec(connection)


async def create_pool(dsn: str, *, min_size: int = 2, max_size: int = 10) -> asyncpg.Pool[Any]:
    """A pool whose connections speak jsonb as raw bytes and never idle inside a transaction."""
    pool = await asyncpg.create_pool(
        dsn,
        min_size=min_size,
        max_size=max_size,
        init=_init_connection,
        server_settings={
            "application_name": "campaign-ledger",
            "idle_in_transaction_session_timeout": "30000",
        },
    )
    assert pool is not None
    return pool


class EventStore:
    def __init__(
        self,
        pool: asyncpg.Pool[Any],
        *,
        catalog: Catalog = domain_catalog,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        wake_channel: str = "campaign_events",
    ) -> None:
        self.pool = pool
        self.catalog = catalog
        self._clock = clock
        self._epoch: str | None = None
        self.wake_channel = wake_channel
        self._wake = WakeUpSender(pool, wake_channel)

    async def close(self) -> None:
        await self._wake.close()

    # -- epoch -------------------------------------------------------------------------------

    async def epoch(self, *, refresh: bool = False) -> str:
        if self._epoch is None or refresh:
            self._epoch = await self.pool.fetchval(
                "SELECT token FROM store_epochs ORDER BY id DESC LIMIT 1"
            )
        assert self._epoch is not None
        return self._epoch

    async def _check_epoch(self, cursor: Cursor) -> None:
        if cursor.epoch != await self.epoch():
            current = await self.epoch(refresh=True)
            if cursor.epoch != current:
                raise CursorFromAnotherEpoch(cursor.epoch, current)

    # -- append ------------------------------------------------------------------------------

    async def append(
        self,
        writes: Sequence[StreamWrite],
        metadata: Metadata,
        *,
        reservations: Sequence[Reservation] = (),
        idempotency: IdempotencyEntry | None = None,
        connection: asyncpg.Connection[Any] | None = None,
    ) -> AppendResult:
        """Append to one or more streams in one transaction, or to none of them.

        With `connection` inside a transaction of the caller's, the append joins it and the
        caller must call `wake_followers()` after committing.
        """
        args, planned = self._append_arguments(writes, metadata, reservations, idempotency)
        started = time.perf_counter()
        try:
            if connection is None:
                async with self.pool.acquire() as acquired:
                    rows = await acquired.fetch(_APPEND_SQL, *args)
            else:
                rows = await connection.fetch(_APPEND_SQL, *args)
        except asyncpg.PostgresError as error:
            outcome = await self._refusal(error, writes, idempotency)
            metrics.APPENDS.labels(getattr(outcome, "code", "error")).inc()
            raise outcome from error
        metrics.APPEND_SECONDS.observe(time.perf_counter() - started)
        metrics.APPENDS.labels("ok").inc()
        metrics.EVENTS_APPENDED.inc(len(rows))
        if connection is None or not connection.is_in_transaction():
            self.wake_followers()
        return self._append_result(rows, planned)

    def wake_followers(self) -> None:
        self._wake.signal()

    def _append_arguments(
        self,
        writes: Sequence[StreamWrite],
        metadata: Metadata,
        reservations: Sequence[Reservation],
        idempotency: IdempotencyEntry | None,
    ) -> tuple[list[Any], list[tuple[UUID, str, int]]]:
        if not writes:
            raise InvalidAppend("an append names at least one stream")
        ordered = sorted(writes, key=lambda w: w.stream_id)
        index: dict[str, int] = {}
        for number, write in enumerate(ordered, 1):
            if write.stream_id in index:
                raise InvalidAppend(f"stream {write.stream_id} appears twice in one append")
            if not STREAM_ID.match(write.stream_id):
                raise InvalidAppend(f"{write.stream_id!r} is not a stream id (<category>-<id>)")
            if write.expected_version < 0:
                raise InvalidAppend(f"expected version of {write.stream_id} is negative")
            index[write.stream_id] = number

        recorded_at = self._clock()
        recorded_text = utc_text(recorded_at)
        metadata_json = canonical(metadata)
        ev_idx: list[int] = []
        ev_version: list[int] = []
        ev_id: list[UUID] = []
        ev_type: list[str] = []
        ev_schema: list[int] = []
        ev_data: list[bytes] = []
        ev_category: list[str] = []
        ev_plan: list[UUID | None] = []
        ev_units: list[str] = []
        ev_jcs: list[bytes] = []
        planned: list[tuple[UUID, str, int]] = []
        for write in writes:
            category = category_of(write.stream_id)
            for offset, new in enumerate(write.events, 1):
                type_name, schema_version = self.catalog.name_of(new.data)
                event_id = new.event_id or uuid4()
                units = sorted({str(unit) for unit in new.units})
                plan = str(new.plan_id) if new.plan_id is not None else None
                data = canonical(new.data)
                version = write.expected_version + offset
                planned.append((event_id, write.stream_id, version))
                ev_idx.append(index[write.stream_id])
                ev_version.append(version)
                ev_id.append(event_id)
                ev_type.append(type_name)
                ev_schema.append(schema_version)
                ev_data.append(data)
                ev_category.append(category)
                ev_plan.append(new.plan_id)
                ev_units.append("{" + ",".join(units) + "}")
                ev_jcs.append(
                    envelope_jcs(
                        stream_id=write.stream_id,
                        version=version,
                        event_id=str(event_id),
                        type_name=type_name,
                        schema_version=schema_version,
                        data=data,
                        metadata=metadata_json,
                        tags=tags_json(category, plan, units),
                        recorded_at=recorded_text,
                    )
                )
        if len(ev_id) > MAX_EVENTS_PER_APPEND:
            raise InvalidAppend(f"at most {MAX_EVENTS_PER_APPEND} events in one append")
        unique_reservations = sorted(
            {(r.scope, r.key): r for r in reservations}.values(), key=lambda r: (r.scope, r.key)
        )
        args = [
            [w.stream_id for w in ordered],
            [w.expected_version for w in ordered],
            [bool(w.events) for w in ordered],
            ev_idx,
            ev_version,
            ev_id,
            ev_type,
            ev_schema,
            ev_data,
            ev_category,
            ev_plan,
            ev_units,
            ev_jcs,
            metadata_json,
            recorded_at,
            [r.scope for r in unique_reservations],
            [r.key for r in unique_reservations],
            [r.stream_id for r in unique_reservations],
            idempotency.actor if idempotency else None,
            idempotency.key if idempotency else None,
            idempotency.request_hash if idempotency else None,
            idempotency.answer if idempotency else None,
        ]
        return args, planned

    def _append_result(
        self, rows: Iterable[asyncpg.Record], planned: list[tuple[UUID, str, int]]
    ) -> AppendResult:
        by_id = {row["out_event_id"]: row for row in rows}
        refs: list[RecordedRef] = []
        for event_id, stream_id, version in planned:
            row = by_id[event_id]
            cursor = Cursor(row["out_epoch"], row["out_tx_id"], row["out_position"]).encode()
            refs.append(RecordedRef(event_id, stream_id, version, row["out_position"], cursor))
        refs.sort(key=lambda ref: ref.position)
        return AppendResult(refs, refs[-1].cursor if refs else None)

    async def _refusal(
        self,
        error: asyncpg.PostgresError,
        writes: Sequence[StreamWrite],
        idempotency: IdempotencyEntry | None,
    ) -> Exception:
        state = getattr(error, "sqlstate", None)
        detail: dict[str, Any] = {}
        raw_detail = getattr(error, "detail", None)
        if raw_detail and raw_detail.startswith("{"):
            detail = msgspec.json.decode(raw_detail)
        if state == "CLV01":
            return VersionConflict(detail["stream"], detail["expected"], detail["actual"])
        if state == "CLR01":
            return ReservationTaken(detail["scope"], detail["key"], detail.get("holder"))
        if state == "CLI01" and idempotency is not None:
            return IdempotencyKeyInUse(idempotency.actor, idempotency.key)
        if state == "CLT01":
            return ClockSkew(str(error))
        if state == "CLX01":
            return InvalidAppend(str(error))
        if isinstance(error, asyncpg.UniqueViolationError):
            # A race the row locks should prevent; report it as the conflict it is.
            for write in writes:
                actual = await self.stream_version(write.stream_id)
                if actual != write.expected_version:
                    return VersionConflict(write.stream_id, write.expected_version, actual)
            return Conflict(f"a concurrent append won: {error}")
        if isinstance(error, asyncpg.DeadlockDetectedError):
            return Conflict("concurrent appends deadlocked; retry")
        return error

    # -- idempotency -------------------------------------------------------------------------

    async def recall(self, actor: str, key: str, request_hash: bytes) -> StoredAnswer | None:
        """The first answer to this request under the actor's key, if there was one.

        The same key with a different request is refused: a retry must repeat the request.
        """
        answer = await self.find_answer(actor, key)
        if answer is not None and answer.request_hash != request_hash:
            raise IdempotencyKeyReused(actor, key)
        return answer

    async def find_answer(self, actor: str, key: str) -> StoredAnswer | None:
        row = await self.pool.fetchrow(
            "SELECT request_hash, answer, events FROM idempotency WHERE actor = $1 AND key = $2",
            actor,
            key,
        )
        if row is None:
            return None
        epoch = await self.epoch()
        refs = [
            RecordedRef(
                event_id, stream_id, version, position, Cursor(epoch, tx_id, position).encode()
            )
            for event_id, stream_id, version, position, tx_id in _ref_decoder.decode(row["events"])
        ]
        return StoredAnswer(
            bytes(row["request_hash"]), row["answer"], refs, refs[-1].cursor if refs else None
        )

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
        return [self._recorded(row, epoch, decode) for row in rows]

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
        decode: bool = False,
    ) -> Page:
        """Events in feed order after a cursor, only from finished transactions."""
        start = Cursor.decode(after) if after else None
        if start is not None:
            await self._check_epoch(start)
        epoch = await self.epoch()
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
        sql = (
            f"SELECT {_EVENT_COLUMNS} FROM events WHERE {' AND '.join(conditions)} "
            f"ORDER BY tx_id, position LIMIT {param(max(1, min(limit, 10_000)))}"
        )
        rows = await self.pool.fetch(sql, *params)
        events = [self._recorded(row, epoch, decode) for row in rows]
        return Page(events, events[-1].cursor if events else after)

    async def head(self) -> str | None:
        """The cursor of the last visible event, or None for an empty store."""
        epoch = await self.epoch()
        row = await self.pool.fetchrow(
            "SELECT tx_id, position FROM events WHERE tx_id < store_visible_horizon() "
            "ORDER BY tx_id DESC, position DESC LIMIT 1"
        )
        return Cursor(epoch, row["tx_id"], row["position"]).encode() if row else None

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
