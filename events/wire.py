"""Stored events on the wire, as PostgreSQL builds them (`EventStore.read_all(raw=True)`):
`data` and `metadata` are the stored JSON passed through, never decoded in Python, so a feed
page costs little more than reading it.

The shape is the one consumers code against (DESIGN.md): event_id, stream_id, version,
position, cursor, type, schema_version, data, metadata, tags, recorded_at, prev_hash, hash.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import msgspec

_encoder = msgspec.json.Encoder()


def ndjson(rows: Sequence[Any]) -> bytes:
    """One event a line, from rows read with `read_all(raw=True)`."""
    return "".join(row["line"] + "\n" for row in rows).encode()


def page_json(rows: Sequence[Any], next_cursor: str | None) -> bytes:
    events = ",".join(row["line"] for row in rows)
    return b'{"events":[' + events.encode() + b'],"next":' + _encoder.encode(next_cursor) + b"}"
