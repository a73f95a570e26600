"""An append's rows, prepared in the application: event ids, canonical data and metadata, tags,
each event's RFC 8785 envelope and, when the stream heads are known here, the chain hashes."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from uuid import UUID

import msgspec

from events.catalog import Catalog
from events.codec import canonical, chain_hash, envelope_jcs, tags_json, utc_text
from events.envelope import IdempotencyEntry, Metadata, NewEvent, Reservation, StreamWrite
from events.errors import InvalidAppend
from events.store.ids import STREAM_ID, category_of, new_event_id, new_event_ids

MAX_EVENTS_PER_APPEND = 10_000


def _json_text(text: str) -> bytes:
    return msgspec.json.encode(text)


@dataclass
class Batch:
    """One append's rows, in the caller's order, ready for either many-event append path."""

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

    def statement_arguments(self) -> list[Any]:
        """The arguments of the many-event statement (hashes chained here)."""
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

    def function_arguments(
        self,
        reservations: Sequence[Reservation],
        releases: Sequence[Reservation],
        idempotency: IdempotencyEntry | None,
    ) -> list[Any]:
        """The arguments of store_append (hashes chained in PostgreSQL)."""
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


@dataclass
class OneRow:
    """The one event of a one-event append to a stream whose head is known, hash chained."""

    arguments: list[Any]
    event_id: UUID
    digest: bytes

    @property
    def recorded_at(self) -> datetime:
        value: datetime = self.arguments[9]
        return value


class Rows:
    """Prepares append rows with the store's catalogue and clock."""

    def __init__(self, catalog: Catalog, clock: Callable[[], datetime]) -> None:
        self.catalog = catalog
        self.clock = clock
        self._tags_cache: dict[tuple[str, UUID | None, tuple[UUID, ...]], tuple[bytes, str]] = {}

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

    def one(self, write: StreamWrite, metadata: Metadata, head: bytes | None) -> OneRow | None:
        """The row of the one-event statement chained from `head` (the stream's hash at the
        expected version), or None when the stream id is malformed (the full checks refuse it)."""
        if not STREAM_ID.match(write.stream_id):
            return None
        new = write.events[0]
        type_name, schema_version = self.catalog.name_of(new.data)
        event_id = new.event_id or new_event_id()
        recorded_at = self.clock()
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
        digest = chain_hash(head, jcs)
        arguments = [
            write.stream_id,
            write.expected_version,
            head,
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
        return OneRow(arguments, event_id, digest)

    def batch(self, writes: Sequence[StreamWrite], metadata: Metadata) -> Batch:
        """Every row of the append, checked (stream ids, versions, size), without hashes."""
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

        recorded_at = self.clock()
        recorded_text = utc_text(recorded_at)
        metadata_json = canonical(metadata)
        batch = Batch(ordered, recorded_at, metadata_json)
        fresh_ids = iter(new_event_ids(sum(len(w.events) for w in writes)))
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
