"""The PostgreSQL event store: append (optimistic, multi-stream, all or nothing) and reads.

Reads of the global feed follow the xid8 rule: only rows of transactions older than every
transaction still running are returned, ordered by (tx_id, position), so a follower never skips
an event that commits late with a lower position.
"""

from __future__ import annotations

import os
import re
import time
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, TypeAlias
from uuid import UUID

import asyncpg
import msgspec
from asyncpg.pgproto.pgproto import UUID as FastUUID

from events import metrics
from events.catalog import Catalog, Event
from events.catalog import catalog as domain_catalog
from events.codec import (
    canonical,
    chain_hash,
    envelope_jcs,
    register_jsonb_codec,
    tags_json,
    utc_text,
)
from events.cursor import Cursor
from events.envelope import (
    AppendResult,
    IdempotencyEntry,
    Metadata,
    NewEvent,
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
    DuplicateEvent,
    IdempotencyKeyInUse,
    IdempotencyKeyReused,
    InvalidAppend,
    ReservationTaken,
    UnstorableText,
    VersionConflict,
)
from events.wakeup import WakeUpSender

if TYPE_CHECKING:
    from asyncpg.pool import PoolConnectionProxy

if TYPE_CHECKING:
    DbConnection: TypeAlias = asyncpg.Connection[Any] | PoolConnectionProxy[Any]
    """A connection of its own or one borrowed from a pool."""
else:
    DbConnection = Any

STREAM_ID = re.compile(r"^[a-z][a-z0-9_]*-[A-Za-z0-9._:-]{1,200}$")
MAX_EVENTS_PER_APPEND = 10_000

_APPEND_SQL = """
SELECT out_event_id, out_position, out_tx_id, out_epoch, out_hash FROM store_append(
    $1::text[], $2::int[], $3::bool[], $4::int[], $5::int[], $6::uuid[], $7::text[], $8::int[],
    $9::jsonb[], $10::text[], $11::uuid[], $12::text[], $13::bytea[], $14::jsonb,
    $15::timestamptz, $16::text[], $17::text[], $18::text[], $19::text[], $20::text[],
    $21::text, $22::text, $23::bytea, $24::jsonb)
"""

# A plain append (no reservation, no idempotency entry, no stream only read) whose stream heads
# the application knows: the chain hashes are computed here, and one statement locks each
# stream (exclusive, transaction-scoped, in id order), checks its head (version and hash) and
# inserts. A writer that raced past the lock's snapshot is stopped by UNIQUE (stream_id, version).
_PLAIN_APPEND_SQL = """
WITH streams AS MATERIALIZED (
    SELECT s.stream_id, s.expected, s.head,
           pg_advisory_xact_lock(hashtextextended(s.stream_id, 0)) AS locked
    FROM unnest($1::text[], $2::int[], $3::bytea[]) AS s(stream_id, expected, head)
),
checked AS MATERIALIZED (
    SELECT bool_and(
               CASE WHEN coalesce(h.version, 0) = st.expected
                         AND h.hash IS NOT DISTINCT FROM st.head
                    THEN true ELSE store_head_moved(st.stream_id, st.expected, h.version) END
           ) AS ok
    FROM streams st
    LEFT JOIN LATERAL (
        SELECT e.version, e.hash FROM events e
        WHERE e.stream_id = st.stream_id ORDER BY e.version DESC LIMIT 1
    ) h ON true
),
epoch AS MATERIALIZED (
    SELECT token, tx_offset,
           CASE WHEN abs(extract(epoch FROM clock_timestamp() - $14::timestamptz)) <= 5
                THEN true ELSE store_assert_clock($14::timestamptz) END AS ok
    FROM store_epochs ORDER BY id DESC LIMIT 1
),
inserted AS (
    INSERT INTO events (tx_id, event_id, stream_id, version, type, schema_version, data,
                        metadata, category, plan_id, units, recorded_at, prev_hash, hash)
    SELECT pg_current_xact_id()::text::bigint + epoch.tx_offset, n.id, n.stream_id, n.version,
           n.type, n.schema, n.data, $15::jsonb, split_part(n.stream_id, '-', 1), n.plan,
           n.units::uuid[], $14::timestamptz, n.prev, n.hash
    FROM unnest($4::text[], $5::int[], $6::uuid[], $7::text[], $8::int[], $9::jsonb[],
                $10::uuid[], $11::text[], $12::bytea[], $13::bytea[])
         WITH ORDINALITY AS n(stream_id, version, id, type, schema, data, plan, units, prev, hash,
                              ord),
         epoch, checked
    WHERE epoch.ok AND checked.ok
    ORDER BY n.ord
    RETURNING event_id, position, tx_id
)
SELECT (SELECT token FROM epoch) AS epoch, array_agg(event_id) AS ids,
       array_agg(position) AS positions, max(tx_id) AS tx_id
FROM inserted
"""

# The same for the most common append: one event to one stream, with scalar parameters.
_PLAIN_ONE_SQL = """
WITH stream AS MATERIALIZED (
    SELECT $1::text AS stream_id, pg_advisory_xact_lock(hashtextextended($1::text, 0)) AS locked
),
checked AS MATERIALIZED (
    SELECT CASE WHEN coalesce(h.version, 0) = $2::int AND h.hash IS NOT DISTINCT FROM $3::bytea
                THEN true ELSE store_head_moved(st.stream_id, $2::int, h.version) END AS ok
    FROM stream st
    LEFT JOIN LATERAL (
        SELECT e.version, e.hash FROM events e
        WHERE e.stream_id = st.stream_id ORDER BY e.version DESC LIMIT 1
    ) h ON true
),
epoch AS MATERIALIZED (
    SELECT token, tx_offset,
           CASE WHEN abs(extract(epoch FROM clock_timestamp() - $10::timestamptz)) <= 5
                THEN true ELSE store_assert_clock($10::timestamptz) END AS ok
    FROM store_epochs ORDER BY id DESC LIMIT 1
)
INSERT INTO events (tx_id, event_id, stream_id, version, type, schema_version, data, metadata,
                    category, plan_id, units, recorded_at, prev_hash, hash)
SELECT pg_current_xact_id()::text::bigint + epoch.tx_offset, $4::uuid, $1::text, $2::int + 1,
       $5::text, $6::int, $7::jsonb, $11::jsonb, split_part($1::text, '-', 1), $8::uuid,
       $9::text::uuid[], $10::timestamptz, $3::bytea, $12::bytea
FROM epoch, checked
WHERE epoch.ok AND checked.ok
RETURNING position, tx_id, (SELECT token FROM epoch) AS epoch
"""

_EVENT_COLUMNS = (
    "event_id, stream_id, version, position, tx_id, type, schema_version, data, metadata, "
    "category, plan_id, units, recorded_at, prev_hash, hash"
)

_TAKEN_VERSION = re.compile(r"Key \(stream_id, version\)=\((.+), (\d+)\) already exists")
_metadata_decoder = msgspec.json.Decoder(Metadata)
_ref_decoder = msgspec.json.Decoder(list[tuple[UUID, str, int, int, int]])


def _feed_conditions(
    start: Cursor | None,
    types: Sequence[str],
    categories: Sequence[str],
    streams: Sequence[str],
    plan_id: UUID | None,
    units: Sequence[UUID],
    hidden_categories: Sequence[str] = (),
) -> tuple[list[str], list[Any]]:
    """The WHERE conditions (and their parameters) of a feed read: finished transactions only,
    after the cursor, filters combined with AND and values of one filter with OR."""
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
    return conditions, params


def category_of(stream_id: str) -> str:
    return stream_id.split("-", 1)[0]


async def _init_connection(connection: asyncpg.Connection[Any]) -> None:
    await register_jsonb_codec(connection)


class PoolConnection(asyncpg.Connection):
    """A pooled connection released without the reset round trip.

    The store keeps no session state on pooled connections: no LISTEN (the listener has its own
    connection), no session-level advisory lock (appends take transaction-scoped ones), no
    session SET. asyncpg still rolls back any transaction left open on release.
    """

    def get_reset_query(self) -> str:
        return ""


async def create_pool(dsn: str, *, min_size: int = 2, max_size: int = 10) -> asyncpg.Pool[Any]:
    """A pool whose connections speak jsonb as raw bytes and never idle inside a transaction."""
    pool = await asyncpg.create_pool(
        dsn,
        connection_class=PoolConnection,
        min_size=min_size,
        max_size=max_size,
        init=_init_connection,
        server_settings={
            "application_name": "campaign-ledger",
            "idle_in_transaction_session_timeout": "30000",
            # The store's statements are few and fixed; replanning the append for each call
            # (custom plans) costs more than executing it.
            "plan_cache_mode": "force_generic_plan",
        },
    )
    assert pool is not None
    return pool


class _RandomBytes:
    """os.urandom read in blocks: one system call per 256 event ids."""

    def __init__(self, block: int = 4096) -> None:
        self._block = block
        self._buffer = b""
        self._offset = 0

    def take(self, size: int) -> bytes:
        if self._offset + size > len(self._buffer):
            self._buffer = os.urandom(max(self._block, size))
            self._offset = 0
        chunk = self._buffer[self._offset : self._offset + size]
        self._offset += size
        return chunk

    def forget(self) -> None:
        self._buffer, self._offset = b"", 0


_random = _RandomBytes()
# A forked child must not hand out the ids its parent's buffer still holds.
os.register_at_fork(after_in_child=_random.forget)
_VERSION_4 = (0x4000 << 64) | (0x8000 << 48)
_VERSION_MASK = ~(0xF000 << 64) & ~(0xC000 << 48)


def _new_event_id() -> UUID:
    """A random (version 4) UUID as asyncpg's UUID type, a fast subclass of uuid.UUID."""
    value = (int.from_bytes(_random.take(16)) & _VERSION_MASK) | _VERSION_4
    return FastUUID(value.to_bytes(16))


def _new_event_ids(count: int) -> list[UUID]:
    return [_new_event_id() for _ in range(count)]


def _json_text(text: str) -> bytes:
    return msgspec.json.encode(text)


@dataclass
class _Batch:
    """One append's rows, in the caller's order, ready for either append statement."""

    ordered: list[StreamWrite]
    recorded_at: datetime
    metadata_json: bytes
    planned: list[tuple[UUID, str, int]] = field(default_factory=list)
    ev_idx: list[int] = field(default_factory=list)
    ev_version: list[int] = field(default_factory=list)
    ev_id: list[UUID] = field(default_factory=list)
    ev_type: list[str] = field(default_factory=list)
    ev_schema: list[int] = field(default_factory=list)
    ev_data: list[bytes] = field(default_factory=list)
    ev_category: list[str] = field(default_factory=list)
    ev_plan: list[UUID | None] = field(default_factory=list)
    ev_units: list[str] = field(default_factory=list)
    ev_jcs: list[bytes] = field(default_factory=list)

    ev_stream: list[str] = field(default_factory=list)
    ev_prev: list[bytes | None] = field(default_factory=list)
    ev_hash: list[bytes] = field(default_factory=list)
    heads: list[bytes | None] = field(default_factory=list)

    def chain(self, known: Callable[[str, int], bytes | bool | None]) -> bool:
        """Compute every event's chain hash from the stream heads `known` returns (None for a
        new stream, False when unknown); False, computing nothing, if any head is unknown."""
        heads: dict[str, bytes | None] = {}
        for write in self.ordered:
            head = known(write.stream_id, write.expected_version)
            if head is False:
                return False
            heads[write.stream_id] = head if isinstance(head, bytes) else None
        self.heads = [heads[w.stream_id] for w in self.ordered]
        for stream_id, jcs in zip(self.ev_stream, self.ev_jcs, strict=True):
            prev = heads[stream_id]
            digest = chain_hash(prev, jcs)
            self.ev_prev.append(prev)
            self.ev_hash.append(digest)
            heads[stream_id] = digest
        return True

    def one_arguments(self) -> list[Any]:
        return [
            self.ev_stream[0],
            self.ordered[0].expected_version,
            self.heads[0],
            self.ev_id[0],
            self.ev_type[0],
            self.ev_schema[0],
            self.ev_data[0],
            self.ev_plan[0],
            self.ev_units[0],
            self.recorded_at,
            self.metadata_json,
            self.ev_hash[0],
        ]

    def plain_arguments(self) -> list[Any]:
        return [
            [w.stream_id for w in self.ordered],
            [w.expected_version for w in self.ordered],
            self.heads,
            self.ev_stream,
            self.ev_version,
            self.ev_id,
            self.ev_type,
            self.ev_schema,
            self.ev_data,
            self.ev_plan,
            self.ev_units,
            self.ev_prev,
            self.ev_hash,
            self.recorded_at,
            self.metadata_json,
        ]

    def full_arguments(
        self,
        reservations: Sequence[Reservation],
        releases: Sequence[Reservation],
        idempotency: IdempotencyEntry | None,
    ) -> list[Any]:
        unique = sorted(
            {(r.scope, r.key): r for r in reservations}.values(), key=lambda r: (r.scope, r.key)
        )
        return [
            [w.stream_id for w in self.ordered],
            [w.expected_version for w in self.ordered],
            [bool(w.events) for w in self.ordered],
            self.ev_idx,
            self.ev_version,
            self.ev_id,
            self.ev_type,
            self.ev_schema,
            self.ev_data,
            self.ev_category,
            self.ev_plan,
            self.ev_units,
            self.ev_jcs,
            self.metadata_json,
            self.recorded_at,
            [r.scope for r in unique],
            [r.key for r in unique],
            [r.stream_id for r in unique],
            [r.scope for r in releases],
            [r.key for r in releases],
            idempotency.actor if idempotency else None,
            idempotency.key if idempotency else None,
            idempotency.request_hash if idempotency else None,
            idempotency.answer if idempotency else None,
        ]


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
        self._heads: dict[str, tuple[int, bytes]] = {}
        self._tags_cache: dict[tuple[str, UUID | None, tuple[UUID, ...]], tuple[bytes, str]] = {}
        self._heads_limit = 100_000

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

    # -- append ------------------------------------------------------------------------------

    async def append(
        self,
        writes: Sequence[StreamWrite],
        metadata: Metadata,
        *,
        reservations: Sequence[Reservation] = (),
        releases: Sequence[Reservation] = (),
        idempotency: IdempotencyEntry | None = None,
        connection: DbConnection | None = None,
    ) -> AppendResult:
        """Append to one or more streams in one transaction, or to none of them.

        `reservations` take unique keys for a stream; `releases` free keys held by a stream of
        this append.

        With `connection` inside a transaction of the caller's, the append joins it and the
        caller must call `wake_followers()` after committing.
        """
        one = (
            self._one_arguments(writes[0], metadata)
            if len(writes) == 1
            and len(writes[0].events) == 1
            and writes[0].expected_version >= 0
            and not reservations
            and not releases
            and idempotency is None
            else None
        )
        batch = self._prepare(writes, metadata) if one is None else None
        plain = (
            batch is not None
            and not reservations
            and not releases
            and idempotency is None
            and all(w.events for w in writes)
            and batch.chain(self._known_head)
        )
        started = time.perf_counter()
        target: Any = connection if connection is not None else self.pool
        try:
            if one is not None:
                arguments, event_id, digest = one
                row = await target.fetchrow(_PLAIN_ONE_SQL, *arguments)
                assert row is not None
            elif plain:
                assert batch is not None
                row = await target.fetchrow(_PLAIN_APPEND_SQL, *batch.plain_arguments())
                assert row is not None
            else:
                assert batch is not None
                rows = await target.fetch(
                    _APPEND_SQL, *batch.full_arguments(reservations, releases, idempotency)
                )
        except asyncpg.PostgresError as error:
            refusal = self._refusal(error, writes, idempotency)
            metrics.APPENDS.labels(getattr(refusal, "code", "error")).inc()
            if isinstance(refusal, Conflict):
                for write in writes:
                    self._heads.pop(write.stream_id, None)
            raise refusal from error
        metrics.APPEND_SECONDS.observe(time.perf_counter() - started)
        metrics.APPENDS_OK.inc()
        # A caller's transaction may still roll back: remember heads only of committed appends.
        committed = connection is None or not connection.is_in_transaction()
        if committed:
            self.wake_followers()
        if one is not None:
            write = writes[0]
            version = write.expected_version + 1
            if committed:
                self._remember_head(write.stream_id, version, digest)
            metrics.EVENTS_APPENDED.inc()
            ref = RecordedRef(
                event_id, write.stream_id, version, row["position"], row["tx_id"], row["epoch"]
            )
            return AppendResult([ref], arguments[9])
        assert batch is not None
        if plain:
            outcome = dict(zip(row["ids"], row["positions"], strict=True))
            hashes = dict(zip(batch.ev_id, batch.ev_hash, strict=True))
            epoch, tx_id = row["epoch"], row["tx_id"]
        else:
            outcome = {r["out_event_id"]: r["out_position"] for r in rows}
            hashes = {r["out_event_id"]: r["out_hash"] for r in rows}
            epoch = rows[0]["out_epoch"] if rows else await self.epoch()
            tx_id = rows[0]["out_tx_id"] if rows else 0
        metrics.EVENTS_APPENDED.inc(len(outcome))
        refs = []
        for event_id, stream_id, version in batch.planned:
            if committed:
                self._remember_head(stream_id, version, hashes[event_id])
            refs.append(RecordedRef(event_id, stream_id, version, outcome[event_id], tx_id, epoch))
        refs.sort(key=lambda ref: ref.position)
        return AppendResult(refs, batch.recorded_at)

    def wake_followers(self) -> None:
        self._wake.signal()

    def _known_head(self, stream_id: str, version: int) -> bytes | bool | None:
        """The hash of `stream_id` at `version` if known here (events never change, so any
        remembered pair stays true); None for a new stream; False when not known."""
        if version == 0:
            return None
        known = self._heads.get(stream_id)
        return known[1] if known is not None and known[0] == version else False

    def _remember_head(self, stream_id: str, version: int, digest: bytes) -> None:
        self._heads.pop(stream_id, None)
        self._heads[stream_id] = (version, digest)
        if len(self._heads) > self._heads_limit:
            self._heads.pop(next(iter(self._heads)))

    def _tags(self, category: str, new: NewEvent) -> tuple[bytes, str]:
        """The event's tags as canonical JSON and its units as a PostgreSQL array literal."""
        key = (category, new.plan_id, tuple(new.units))
        cached = self._tags_cache.get(key)
        if cached is None:
            unit_texts = sorted({str(unit) for unit in new.units})
            plan = str(new.plan_id) if new.plan_id is not None else None
            cached = (tags_json(category, plan, unit_texts), "{" + ",".join(unit_texts) + "}")
            if len(self._tags_cache) > 10_000:
                self._tags_cache.clear()
            self._tags_cache[key] = cached
        return cached

    def _one_arguments(
        self, write: StreamWrite, metadata: Metadata
    ) -> tuple[list[Any], UUID, bytes] | None:
        """Arguments of the one-event statement, or None when the stream head is not known."""
        head = self._known_head(write.stream_id, write.expected_version)
        if head is False or not STREAM_ID.match(write.stream_id):
            return None
        new = write.events[0]
        type_name, schema_version = self.catalog.name_of(new.data)
        event_id = new.event_id or _new_event_id()
        recorded_at = self._clock()
        metadata_json = canonical(metadata)
        data = canonical(new.data)
        tags, units_literal = self._tags(category_of(write.stream_id), new)
        jcs = envelope_jcs(
            stream_json=_json_text(write.stream_id),
            version=write.expected_version + 1,
            event_id=str(event_id),
            type_name=type_name,
            schema_version=schema_version,
            data=data,
            metadata=metadata_json,
            tags=tags,
            recorded_at=utc_text(recorded_at),
        )
        prev = head if isinstance(head, bytes) else None
        digest = chain_hash(prev, jcs)
        arguments = [
            write.stream_id,
            write.expected_version,
            prev,
            event_id,
            type_name,
            schema_version,
            data,
            new.plan_id,
            units_literal,
            recorded_at,
            metadata_json,
            digest,
        ]
        return arguments, event_id, digest

    def _prepare(self, writes: Sequence[StreamWrite], metadata: Metadata) -> _Batch:
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
        if sum(len(w.events) for w in writes) > MAX_EVENTS_PER_APPEND:
            raise InvalidAppend(f"at most {MAX_EVENTS_PER_APPEND} events in one append")

        recorded_at = self._clock()
        recorded_text = utc_text(recorded_at)
        metadata_json = canonical(metadata)
        batch = _Batch(ordered, recorded_at, metadata_json)
        fresh_ids = iter(_new_event_ids(sum(len(w.events) for w in writes)))
        for write in writes:
            category = category_of(write.stream_id)
            stream_json = _json_text(write.stream_id)
            for offset, new in enumerate(write.events, 1):
                type_name, schema_version = self.catalog.name_of(new.data)
                event_id = new.event_id or next(fresh_ids)
                tags, units_literal = self._tags(category, new)
                data = canonical(new.data)
                version = write.expected_version + offset
                batch.planned.append((event_id, write.stream_id, version))
                batch.ev_stream.append(write.stream_id)
                batch.ev_idx.append(index[write.stream_id])
                batch.ev_version.append(version)
                batch.ev_id.append(event_id)
                batch.ev_type.append(type_name)
                batch.ev_schema.append(schema_version)
                batch.ev_data.append(data)
                batch.ev_category.append(category)
                batch.ev_plan.append(new.plan_id)
                batch.ev_units.append(units_literal)
                batch.ev_jcs.append(
                    envelope_jcs(
                        stream_json=stream_json,
                        version=version,
                        event_id=str(event_id),
                        type_name=type_name,
                        schema_version=schema_version,
                        data=data,
                        metadata=metadata_json,
                        tags=tags,
                        recorded_at=recorded_text,
                    )
                )
        return batch

    def _refusal(
        self,
        error: asyncpg.PostgresError,
        writes: Sequence[StreamWrite],
        idempotency: IdempotencyEntry | None,
    ) -> Exception:
        """The typed refusal an error of the append stands for. It must not touch the database:
        the caller's connection may sit in the aborted transaction."""
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
        if state in ("CLX01", "CLX02"):
            return InvalidAppend(str(error))
        if isinstance(error, asyncpg.UniqueViolationError):
            constraint = getattr(error, "constraint_name", None)
            if constraint == "events_event_id_key":
                return DuplicateEvent(f"an event with this id is already stored: {raw_detail}")
            # A writer that waited on the stream's lock, then found its version taken.
            taken = _TAKEN_VERSION.search(raw_detail or "")
            if taken is not None:
                stream_id, version = taken[1], int(taken[2])
                expected = next(
                    (w.expected_version for w in writes if w.stream_id == stream_id), version - 1
                )
                return VersionConflict(stream_id, expected, version)
            return Conflict(f"a concurrent append won: {error}")
        if state in ("22P05", "22021"):
            return UnstorableText(
                "a text holds a character PostgreSQL cannot store (such as U+0000)"
            )
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
            RecordedRef(event_id, stream_id, version, position, tx_id, epoch)
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
        events = [self._recorded(row, epoch, decode) for row in rows]
        if events:
            self._remember_head(stream_id, events[-1].version, events[-1].hash)
        return events

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
        decode: bool = False,
        raw: bool = False,
    ) -> Page:
        """Events in feed order after a cursor, only from finished transactions. With `raw`,
        the page carries the rows as read (for `events.wire`), not events."""
        start = Cursor.decode(after) if after else None
        conditions, params = _feed_conditions(
            start, types, categories, streams, plan_id, units, hidden_categories
        )
        limit = max(1, min(limit, 10_000))
        params.append(limit)
        # The epoch comes with the page, so a restore is noticed at once, even with no events.
        columns = _EVENT_COLUMNS
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
        cap: int = 10_000,
    ) -> tuple[int, datetime | None]:
        """How many visible events match after a cursor (counted up to `cap`), and when the
        oldest of them was recorded: a follower's lag."""
        start = Cursor.decode(after) if after else None
        if start is not None and start.epoch != (epoch := await self.epoch()):
            raise CursorFromAnotherEpoch(start.epoch, epoch)
        conditions, params = _feed_conditions(
            start, types, categories, streams, plan_id, units, hidden_categories
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
        self, plan_ids: Sequence[UUID], *, after: str | None = None, limit: int = 1000
    ) -> Page:
        """Events tagged with these plans, in feed order, after a cursor, only from finished
        transactions (as the feed): a page that ends at a cursor never skips an event that an
        older transaction commits later."""
        start = Cursor.decode(after) if after else None
        epoch = await self.epoch(refresh=True)
        if start is not None and start.epoch != epoch:
            raise CursorFromAnotherEpoch(start.epoch, epoch)
        rows = await self.pool.fetch(
            f"SELECT {_EVENT_COLUMNS} FROM events WHERE plan_id = ANY($1::uuid[]) "
            "AND tx_id < store_visible_horizon() "
            "AND (tx_id, position) > ($2::bigint, $3::bigint) ORDER BY tx_id, position LIMIT $4",
            list(plan_ids),
            start.tx_id if start else -1,
            start.position if start else -1,
            max(1, min(limit, 10_000)),
        )
        events = [self._recorded(row, epoch, False) for row in rows]
        full = len(events) == max(1, min(limit, 10_000))
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
