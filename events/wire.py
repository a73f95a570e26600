"""Stored events on the wire, in the shape consumers code against: from a recorded event
(`wire`), or straight from feed rows (`ndjson`, `page_json`), where `data` and `metadata` are
the stored JSON passed through, never decoded, so a feed page costs little more than reading it.

The shape is the one consumers code against (DESIGN.md): event_id, stream_id, version,
position, cursor, type, schema_version, data, metadata, tags, recorded_at, prev_hash, hash.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import msgspec

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


_encoder = msgspec.json.Encoder()

SQL_LINE = """convert_to((SELECT row_to_json(w) FROM (SELECT event_id, stream_id, version, position,
    rtrim(translate(encode(convert_to('c1.' || epoch.token || '.' || to_hex(tx_id) || '.'
        || to_hex(position), 'UTF8'), 'base64'), E'+/\\n', '-_'), '=') AS cursor,
    type, schema_version, data, metadata,
    (SELECT row_to_json(t) FROM (SELECT category, plan_id, units) t) AS tags,
    to_char(recorded_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS')
        || CASE WHEN date_part('microseconds', recorded_at)::bigint % 1000000 = 0 THEN ''
           ELSE to_char(recorded_at AT TIME ZONE 'UTC', '.US') END || 'Z' AS recorded_at,
    encode(prev_hash, 'hex') AS prev_hash, encode(hash, 'hex') AS hash) w)::text, 'UTF8')"""
"""One event on the wire as a line of compact JSON, built by PostgreSQL from a row of `events`
(with `epoch.token` in scope): the bytes msgspec makes of the same event (`wire`'s shape,
`Cursor.encode`, datetimes as msgspec writes them), without a Python object per event. A feed
page costs little more than reading it (issue 20: 0.46 of a raw read when built in Python)."""


def ndjson(rows: Sequence[Any]) -> bytes:
    """One event a line, from rows read with their `line` (`SQL_LINE`)."""
    return b"".join([row["line"] + b"\n" for row in rows])


def page_json(rows: Sequence[Any], next_cursor: str | None) -> bytes:
    events = b",".join([row["line"] for row in rows])
    return b'{"events":[' + events + b'],"next":' + _encoder.encode(next_cursor) + b"}"
