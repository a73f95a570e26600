"""PostgreSQL builds each feed line (`events.wire.SQL_LINE`): byte for byte what msgspec makes
of the same event in the shape consumers code against, whatever the values."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime
from typing import Any

import asyncpg
import msgspec
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from events.cursor import Cursor
from events.store import create_pool
from events.wire import SQL_LINE


class Tags(msgspec.Struct):
    category: str
    plan_id: uuid.UUID | None
    units: list[uuid.UUID]


class Expected(msgspec.Struct):
    """The wire shape as DESIGN.md gives it, encoded by msgspec: the reference."""

    event_id: uuid.UUID
    stream_id: str
    version: int
    position: int
    cursor: str
    type: str
    schema_version: int
    data: msgspec.Raw
    metadata: msgspec.Raw
    tags: Tags
    recorded_at: datetime
    prev_hash: str | None
    hash: str


# PostgreSQL text holds no NUL and no lone surrogate (neither is stored).
TEXT = st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00")
JSON = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**53), 2**53) | st.text(TEXT, max_size=20),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(TEXT, max_size=8), inner, max_size=3)
    ),
    max_leaves=8,
)
EVENTS = st.fixed_dictionaries(
    {
        "epoch": st.text("0123456789abcdef", min_size=1, max_size=40),
        "event_id": st.uuids(),
        "stream_id": st.text(TEXT, min_size=1, max_size=60),
        "version": st.integers(1, 2**31),
        "position": st.integers(1, 2**62),
        "tx_id": st.integers(1, 2**62),
        "type": st.text(TEXT, min_size=1, max_size=40),
        "schema_version": st.integers(1, 9),
        "data": JSON,
        "metadata": st.dictionaries(
            st.sampled_from(["actor", "request_id"]), st.text(TEXT, max_size=9)
        ),
        "category": st.sampled_from(["assignment", "plan", "unit"]),
        "plan_id": st.none() | st.uuids(),
        "units": st.lists(st.uuids(), max_size=3),
        "recorded_at": st.datetimes(
            min_value=datetime(1970, 1, 1), max_value=datetime(2200, 1, 1), timezones=st.just(UTC)
        ),
        "prev_hash": st.none() | st.binary(min_size=32, max_size=32),
        "hash": st.binary(min_size=32, max_size=32),
    }
)

QUERY = f"""WITH epoch AS (SELECT $1::text AS token),
events AS (SELECT $2::uuid AS event_id, $3::text AS stream_id, $4::bigint AS version,
    $5::bigint AS position, $6::bigint AS tx_id, $7::text AS type, $8::int AS schema_version,
    $9::jsonb AS data, $10::jsonb AS metadata, $11::text AS category, $12::uuid AS plan_id,
    $13::uuid[] AS units, $14::timestamptz AS recorded_at, $15::bytea AS prev_hash,
    $16::bytea AS hash)
SELECT {SQL_LINE} AS line, data::text AS data_text, metadata::text AS metadata_text
FROM events, epoch"""


async def check(dsn: str, examples: list[dict[str, Any]]) -> None:
    pool = await create_pool(dsn, min_size=1, max_size=1)
    try:
        for e in examples:
            row = await pool.fetchrow(
                QUERY,
                e["epoch"],
                e["event_id"],
                e["stream_id"],
                e["version"],
                e["position"],
                e["tx_id"],
                e["type"],
                e["schema_version"],
                msgspec.json.encode(e["data"]),
                msgspec.json.encode(e["metadata"]),
                e["category"],
                e["plan_id"],
                e["units"],
                e["recorded_at"],
                e["prev_hash"],
                e["hash"],
            )
            expected = Expected(
                e["event_id"],
                e["stream_id"],
                e["version"],
                e["position"],
                Cursor(e["epoch"], e["tx_id"], e["position"]).encode(),
                e["type"],
                e["schema_version"],
                msgspec.Raw(row["data_text"].encode()),
                msgspec.Raw(row["metadata_text"].encode()),
                Tags(e["category"], e["plan_id"], e["units"]),
                e["recorded_at"],
                e["prev_hash"].hex() if e["prev_hash"] else None,
                e["hash"].hex(),
            )
            assert row["line"] == msgspec.json.encode(expected)
    finally:
        await pool.close()


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(examples=st.lists(EVENTS, min_size=1, max_size=5))
def test_a_line_built_by_postgresql_is_the_msgspec_encoding_of_the_event(
    dsn: str, examples: list[dict[str, Any]]
) -> None:
    asyncio.run(check(dsn, examples))


def test_whole_seconds_long_cursors_and_every_escape_are_written_alike(dsn: str) -> None:
    every_escape = "".join(chr(c) for c in range(1, 128)) + "\u2028\u2029\ufeff😀"
    base = {
        "event_id": uuid.uuid4(),
        "stream_id": every_escape,
        "version": 3,
        "position": 2**62,
        "tx_id": 2**62 - 1,
        "type": "AssignmentIssued",
        "schema_version": 1,
        "data": {every_escape: [every_escape, 1.5, None]},
        "metadata": {"actor": every_escape},
        "category": "assignment",
        "plan_id": None,
        "units": [uuid.uuid4()],
        "prev_hash": None,
        "hash": bytes(range(32)),
    }
    for recorded_at, epoch in (
        (datetime(2026, 12, 3, 13, 0, 0, tzinfo=UTC), "e" * 40),  # base64 past 57 bytes
        (datetime(2026, 12, 3, 13, 0, 0, 1, tzinfo=UTC), "a"),
    ):
        asyncio.run(check(dsn, [{**base, "recorded_at": recorded_at, "epoch": epoch}]))


async def test_the_feed_reads_lines_that_decode_to_the_stored_events(
    pool: asyncpg.Pool[Any],
) -> None:
    from events.store import EventStore
    from tests.support import METADATA, new_stream, test_catalog, write

    store = EventStore(pool, catalog=test_catalog)
    stream = new_stream()
    await store.append([write(stream, 0, "một", "hai")], METADATA)
    page = await store.read_all(limit=10, raw=True)
    events = (await store.read_all(limit=10)).events
    lines = [msgspec.json.decode(row["line"]) for row in page.rows]
    assert [(x["event_id"], x["cursor"], x["data"]) for x in lines] == [
        (str(e.event_id), e.cursor, msgspec.json.decode(e.raw_data)) for e in events
    ]
    assert [x["data"]["text"] for x in lines] == ["một", "hai"]
    assert page.next == events[-1].cursor
