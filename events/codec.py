"""JSON for the store: the binary jsonb codec for asyncpg and RFC 8785 canonical JSON (JCS).

An event's hash is sha256(prev_hash || JCS(envelope)), the envelope being
{stream_id, version, event_id, type, schema_version, data, metadata, tags, recorded_at}
with recorded_at in UTC with microseconds ("2026-11-22T02:09:17.123456Z").
"""

from __future__ import annotations

import hashlib
import re
from datetime import UTC, datetime
from typing import Any

import asyncpg
import msgspec
import rfc8785

_encoder = msgspec.json.Encoder(order="sorted")
_four_byte_utf8 = re.compile(rb"[\xf0-\xf4]")


def canonical(value: Any) -> bytes:
    """RFC 8785 canonical JSON of a float-free value.

    msgspec's sorted output matches JCS except for the order of keys holding characters outside
    the Basic Multilingual Plane (JCS sorts by UTF-16 code units); those fall back to the
    reference implementation.
    """
    encoded = _encoder.encode(value)
    if _four_byte_utf8.search(encoded) is None:
        return encoded
    result: bytes = rfc8785.dumps(msgspec.json.decode(encoded))
    return result


def utc_text(instant: datetime) -> str:
    """RFC 3339 in UTC with microseconds: 2026-11-22T02:09:17.123456Z."""
    return instant.astimezone(UTC).replace(tzinfo=None).isoformat(timespec="microseconds") + "Z"


def envelope_jcs(
    *,
    stream_json: bytes,
    version: int,
    event_id: str,
    type_name: str,
    schema_version: int,
    data: bytes,
    metadata: bytes,
    tags: bytes,
    recorded_at: str,
) -> bytes:
    """JCS of the envelope from already canonical parts (the stream id as a JSON string);
    keys in JCS (sorted) order."""
    return _ENVELOPE % (
        data,
        event_id.encode(),
        metadata,
        recorded_at.encode(),
        schema_version,
        stream_json,
        tags,
        _encoder.encode(type_name),
        version,
    )


_ENVELOPE = (
    b'{"data":%b,"event_id":"%b","metadata":%b,"recorded_at":"%b","schema_version":%d,'
    b'"stream_id":%b,"tags":%b,"type":%b,"version":%d}'
)


def tags_json(category: str, plan_id: str | None, units: list[str]) -> bytes:
    return canonical({"category": category, "plan_id": plan_id, "units": units})


def chain_hash(prev_hash: bytes | None, jcs: bytes) -> bytes:
    return hashlib.sha256((prev_hash or b"") + jcs).digest()


def _encode_jsonb(value: bytes | str) -> bytes:
    raw = value.encode() if isinstance(value, str) else value
    return b"\x01" + raw


def _decode_jsonb(value: bytes) -> bytes:
    return value[1:]


async def register_jsonb_codec(connection: asyncpg.Connection[Any]) -> None:
    """jsonb in and out as raw JSON bytes (binary format), decoded by msgspec where needed."""
    await connection.set_type_codec(
        "jsonb",
        schema="pg_catalog",
        encoder=_encode_jsonb,
        decoder=_decode_jsonb,
        format="binary",
    )
