"""Appending: optimistic, multi-stream, all or nothing; and the answers kept for idempotency.

An append takes one of three paths, all writing the same rows:
- "function": store_append in PL/pgSQL, the chain hashes computed in PostgreSQL; it carries every
  append, and is the only one that takes reservations, releases, idempotency entries and
  streams only read by the decision;
- "statement": one SQL statement, the chain hashes computed here from stream heads known here;
- "one": the same for one event to one stream, with scalar parameters.
The store picks the cheapest path that can carry the append ("auto"). `EventStore(append_path=)`
forces one path for every append it can carry (reading unknown heads first), so the contract
tests run on each path; what it cannot carry still takes the function.
"""

from __future__ import annotations

import re
import time
from collections import Counter
from collections.abc import Sequence
from typing import Any, Literal
from uuid import UUID

import asyncpg
import msgspec

from events import metrics
from events.envelope import (
    AppendResult,
    IdempotencyEntry,
    Metadata,
    RecordedRef,
    Reservation,
    StoredAnswer,
    StreamWrite,
)
from events.errors import (
    ClockSkew,
    Conflict,
    DuplicateEvent,
    IdempotencyKeyInUse,
    IdempotencyKeyReused,
    InvalidAppend,
    ReservationTaken,
    UnstorableText,
    VersionConflict,
)
from events.store.ids import STREAM_ID, StoreBase
from events.store.pool import DbConnection
from events.store.rows import Batch, OneRow, Rows
from events.wakeup import WakeUpSender

AppendPath = Literal["auto", "function", "statement", "one"]
APPEND_PATHS: tuple[AppendPath, ...] = ("auto", "function", "statement", "one")

# Every append can take this path: the chain hashes are computed in PostgreSQL, where the
# stream heads are known (migration 0001). Only it takes reservations, releases, idempotency
# entries and streams only read by the decision.
_FUNCTION_SQL = """
SELECT out_event_id, out_position, out_tx_id, out_epoch, out_hash FROM store_append(
    $1::text[], $2::int[], $3::bool[], $4::int[], $5::int[], $6::uuid[], $7::text[], $8::int[],
    $9::jsonb[], $10::text[], $11::uuid[], $12::text[], $13::bytea[], $14::jsonb,
    $15::timestamptz, $16::text[], $17::text[], $18::text[], $19::text[], $20::text[],
    $21::text, $22::text, $23::bytea, $24::jsonb)
"""

# The statement path: a plain append (no reservation, no idempotency entry, no stream only
# read) whose stream heads the application knows: the chain hashes are computed here, and one
# statement locks each stream (exclusive, transaction-scoped, in id order), checks its head
# (version and hash) and inserts. A writer that raced past the lock's snapshot is stopped by
# UNIQUE (stream_id, version).
_STATEMENT_SQL = """
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

# The one path: the same for the most common append, one event to one stream, with scalar
# parameters.
_ONE_SQL = """
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


# A forced path reads the hash of each stream at the version its decision saw (events never
# change, so the answer stays true). A stream with no event at that version gets a hash no head
# has, and the statement's check refuses the append as the function would.
_HEADS_SQL = """
SELECT s.stream_id, e.hash FROM unnest($1::text[], $2::int[]) AS s(stream_id, version)
LEFT JOIN events e ON e.stream_id = s.stream_id AND e.version = s.version
"""
_NO_HEAD = b""

_TAKEN_VERSION = re.compile(r"Key \(stream_id, version\)=\((.+), (\d+)\) already exists")
_ref_decoder = msgspec.json.Decoder(list[tuple[UUID, str, int, int, int]])


class Appending(StoreBase):
    """The append paths and the idempotency answers (set up by `EventStore`)."""

    append_path: AppendPath
    paths_taken: Counter[str]
    """How many appends (refused ones included) took each path: "function", "statement", "one"."""
    wake_channel: str
    _wake: WakeUpSender
    _rows: Rows

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
        target: Any = connection if connection is not None else self.pool
        plain = not reservations and not releases and idempotency is None
        one = await self._one_row(writes, metadata, target) if plain else None
        batch = self._rows.batch(writes, metadata) if one is None else None
        chained = batch is not None and plain and await self._chain(batch, target)
        path = "one" if one is not None else "statement" if chained else "function"
        self.paths_taken[path] += 1
        started = time.perf_counter()
        try:
            if one is not None:
                row = await target.fetchrow(_ONE_SQL, *one.arguments)
                assert row is not None
            elif chained:
                assert batch is not None
                row = await target.fetchrow(_STATEMENT_SQL, *batch.statement_arguments())
                assert row is not None
            else:
                assert batch is not None
                rows = await target.fetch(
                    _FUNCTION_SQL, *batch.function_arguments(reservations, releases, idempotency)
                )
        except asyncpg.PostgresError as error:
            refusal = _refusal(error, writes, idempotency)
            metrics.APPENDS.labels(getattr(refusal, "code", "error")).inc()
            if isinstance(refusal, Conflict):
                for write in writes:
                    self._heads.forget(write.stream_id)
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
                self._heads.remember(write.stream_id, version, one.digest)
            metrics.EVENTS_APPENDED.inc()
            ref = RecordedRef(
                one.event_id, write.stream_id, version, row["position"], row["tx_id"], row["epoch"]
            )
            return AppendResult([ref], one.recorded_at)
        assert batch is not None
        if chained:
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
                self._heads.remember(stream_id, version, hashes[event_id])
            refs.append(RecordedRef(event_id, stream_id, version, outcome[event_id], tx_id, epoch))
        refs.sort(key=lambda ref: ref.position)
        return AppendResult(refs, batch.recorded_at)

    def wake_followers(self) -> None:
        self._wake.signal()

    async def _one_row(
        self, writes: Sequence[StreamWrite], metadata: Metadata, target: Any
    ) -> OneRow | None:
        """The row of the one path, or None when this append takes another path."""
        if self.append_path not in ("auto", "one") or len(writes) != 1:
            return None
        write = writes[0]
        if len(write.events) != 1 or write.expected_version < 0:
            return None
        head = self._heads.known(write.stream_id, write.expected_version)
        if head is False:
            if self.append_path == "auto" or not STREAM_ID.match(write.stream_id):
                return None
            head = (await self._read_heads([write], target))[write.stream_id]
        return self._rows.one(write, metadata, head if isinstance(head, bytes) else None)

    async def _chain(self, batch: Batch, target: Any) -> bool:
        """Chain the batch's hashes for the statement path; False when it takes another path."""
        if self.append_path not in ("auto", "statement"):
            return False
        if not all(w.events for w in batch.ordered):
            return False
        if self.append_path == "auto":
            return batch.chain(self._heads.known)
        unknown = [
            w for w in batch.ordered if self._heads.known(w.stream_id, w.expected_version) is False
        ]
        read = await self._read_heads(unknown, target)
        return batch.chain(
            lambda stream, version: read.get(stream, self._heads.known(stream, version))
        )

    async def _read_heads(self, writes: Sequence[StreamWrite], target: Any) -> dict[str, bytes]:
        """Each stream's hash at the expected version, read from the events (forced paths)."""
        if not writes:
            return {}
        rows = await target.fetch(
            _HEADS_SQL, [w.stream_id for w in writes], [w.expected_version for w in writes]
        )
        return {row["stream_id"]: row["hash"] or _NO_HEAD for row in rows}

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


def _refusal(
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
    if state in ("CLX01", "CLX02", "CLX03"):
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
        return UnstorableText("a text holds a character PostgreSQL cannot store (such as U+0000)")
    if isinstance(error, asyncpg.DeadlockDetectedError):
        return Conflict("concurrent appends deadlocked; retry")
    return error
