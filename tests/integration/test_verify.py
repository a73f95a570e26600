"""Tamper evidence: the chain of hashes names the first altered event."""

from __future__ import annotations

from typing import Any

import asyncpg
import rfc8785

from events.codec import chain_hash
from events.store import EventStore
from events.verify import verify
from tests.cli import campaign
from tests.support import METADATA, new_stream, write


async def test_verify_passes_on_a_clean_store_and_names_an_altered_event(
    store: EventStore, pool: asyncpg.Pool[Any], dsn: str
) -> None:
    streams = [new_stream() for _ in range(3)]
    for stream in streams:
        await store.append([write(stream, 0, "một", "hai", "ba")], METADATA)
        await store.append([write(stream, 3, "bốn")], METADATA)

    clean = campaign(dsn, "verify")
    assert clean.returncode == 0, clean.stdout + clean.stderr
    assert "12 events in 3 streams" in clean.stdout

    victim = streams[1]
    position = await pool.fetchval(
        "SELECT position FROM events WHERE stream_id = $1 AND version = 2", victim
    )
    async with pool.acquire() as connection, connection.transaction():
        # What a superuser can do behind the triggers' back.
        await connection.execute("SET LOCAL session_replication_role = replica")
        await connection.execute(
            "UPDATE events SET data = jsonb_set(data, '{text}', '\"hai (sửa)\"') "
            "WHERE stream_id = $1 AND version = 2",
            victim,
        )

    broken = campaign(dsn, "verify")
    assert broken.returncode == 2
    assert f"BROKEN: {victim} version 2 (position {position})" in broken.stdout
    report = await verify(pool)
    assert [(b.stream_id, b.version) for b in report.breaks] == [(victim, 2)]


async def test_the_hash_is_sha256_of_prev_hash_and_the_jcs_envelope(
    store: EventStore, pool: asyncpg.Pool[Any]
) -> None:
    """What an auditor does with any RFC 8785 library, as the README documents it."""
    stream = new_stream()
    await store.append([write(stream, 0, "Đoàn Văn Tú", "😀")], METADATA)
    rows = await pool.fetch("SELECT * FROM events WHERE stream_id = $1 ORDER BY version", stream)
    previous = None
    for row in rows:
        import msgspec

        envelope = {
            "stream_id": row["stream_id"],
            "version": row["version"],
            "event_id": str(row["event_id"]),
            "type": row["type"],
            "schema_version": row["schema_version"],
            "data": msgspec.json.decode(row["data"]),
            "metadata": msgspec.json.decode(row["metadata"]),
            "tags": {
                "category": row["category"],
                "plan_id": row["plan_id"],
                "units": [str(u) for u in row["units"]],
            },
            "recorded_at": row["recorded_at"].strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
        }
        assert row["prev_hash"] == previous
        assert row["hash"] == chain_hash(previous, rfc8785.dumps(envelope))
        previous = row["hash"]


async def test_every_append_path_writes_the_same_verifiable_chain(
    store: EventStore, pool: asyncpg.Pool[Any]
) -> None:
    """One event, a multi-stream batch, a reservation, an idempotency entry, an asserted
    stream, and a store that does not know the head: each path chains the same way."""
    from events.envelope import IdempotencyEntry, Reservation, StreamWrite

    first, second, rule = new_stream(), new_stream(), new_stream("plan")
    await store.append([write(first, 0, "one")], METADATA)
    await store.append([write(first, 1, "a", "b"), write(second, 0, "c")], METADATA)
    await store.append(
        [write(first, 3, "reserved")],
        METADATA,
        reservations=[Reservation("test", "k", first)],
    )
    await store.append(
        [write(second, 1, "idempotent")],
        METADATA,
        idempotency=IdempotencyEntry("u", "key", b"hash"),
    )
    await store.append([write(rule, 0, "rule")], METADATA)
    await store.append([StreamWrite(rule, 1), write(first, 4, "asserted")], METADATA)
    cold = EventStore(pool, catalog=store.catalog)  # knows no stream head
    await cold.append([write(first, 5, "cold")], METADATA)
    await store.append([write(first, 6, "warm again")], METADATA)
    await cold.close()

    report = await verify(pool)
    assert report.ok, [b.describe() for b in report.breaks]
    assert report.events == 10
