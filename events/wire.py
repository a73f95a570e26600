"""Stored events on the wire, in the shape consumers code against: from a recorded event
(`wire`), or straight from feed rows (`ndjson`, `page_json`), where `data` and `metadata` are
the stored JSON passed through, never decoded, so a feed page costs little more than reading it.

The shape is the one consumers code against (DESIGN.md): event_id, stream_id, version,
position, cursor, type, schema_version, data, metadata, tags, recorded_at, prev_hash, hash.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any
from uuid import UUID

import msgspec

from events.cursor import Cursor
from events.envelope import RecordedEvent


def wire(event: RecordedEvent) -> dict[str, Any]:
    """A stored event in the shape consumers code against (DESIGN.md)."""
    return {
        "event_id": event.event_id,
        "stream_id": event.stream_id,
        "version": event.version,
        "position": event.position,
        "cursor": event.cursor,
        "type": event.type,
        "schema_version": event.schema_version,
        "data": msgspec.Raw(event.raw_data),
        "metadata": event.metadata,
        "tags": event.tags,
        "recorded_at": event.recorded_at,
        "prev_hash": event.prev_hash.hex() if event.prev_hash else None,
        "hash": event.hash.hex(),
    }


class WireTags(msgspec.Struct):
    category: str
    plan_id: UUID | None
    units: list[UUID]


class WireEvent(msgspec.Struct):
    event_id: UUID
    stream_id: str
    version: int
    position: int
    cursor: str
    type: str
    schema_version: int
    data: msgspec.Raw
    metadata: msgspec.Raw
    tags: WireTags
    recorded_at: datetime
    prev_hash: str | None
    hash: str


_encoder = msgspec.json.Encoder()


def wire_events(rows: Sequence[Any], epoch: str) -> list[WireEvent]:
    return [
        WireEvent(
            row["event_id"],
            row["stream_id"],
            row["version"],
            row["position"],
            Cursor(epoch, row["tx_id"], row["position"]).encode(),
            row["type"],
            row["schema_version"],
            msgspec.Raw(row["data"]),
            msgspec.Raw(row["metadata"]),
            WireTags(row["category"], row["plan_id"], row["units"]),
            row["recorded_at"],
            row["prev_hash"].hex() if row["prev_hash"] else None,
            row["hash"].hex(),
        )
        for row in rows
    ]


def ndjson(rows: Sequence[Any], epoch: str) -> bytes:
    """One event a line."""
    return _encoder.encode_lines(wire_events(rows, epoch))


def page_json(rows: Sequence[Any], epoch: str, next_cursor: str | None) -> bytes:
    return _encoder.encode({"events": wire_events(rows, epoch), "next": next_cursor})
