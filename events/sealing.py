"""Seals in the database: seal what the feed shows, read the latest seal, and check the log
against an exported seal. The computation is pure, in `events.seal`."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

import asyncpg
import msgspec

from events.seal import Finding, Head, Seal, SealedEvent, StreamState, compare, next_seal
from events.store.pool import DbConnection

MAX_EVENTS_PER_SEAL = 50_000
"""A seal covers at most this many events; more waiting are sealed by several seals at once."""

_LOCK = "SELECT pg_advisory_xact_lock(hashtextextended('campaign_seals', 0))"

_SEAL_COLUMNS = (
    "seq, epoch, after_tx_id, after_position, last_tx_id, last_position, count, total, heads, "
    "positions, prev_seal_hash, seal_hash, sealed_at"
)

# Only events below the feed's visible horizon: every transaction that could still commit an
# event with a lower feed position has ended, so none ever falls between two seals.
_TO_SEAL = """
SELECT tx_id, position, stream_id, version, hash FROM events
WHERE tx_id < store_visible_horizon() AND (tx_id, position) > ($1::bigint, $2::bigint)
ORDER BY tx_id, position LIMIT $3
"""

_PENDING = """
SELECT (SELECT count(*) FROM (
            SELECT 1 FROM events
            WHERE tx_id < store_visible_horizon() AND (tx_id, position) > ($1::bigint, $2::bigint)
            ORDER BY tx_id, position LIMIT $3) AS waiting) AS pending,
       clock_timestamp() AS now
"""

_INSERT = """
INSERT INTO seals (seq, epoch, after_tx_id, after_position, last_tx_id, last_position, count,
                   total, heads, positions, prev_seal_hash, seal_hash, sealed_at)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)
"""


def _seal(row: asyncpg.Record) -> Seal:
    heads: dict[str, dict[str, Any]] = msgspec.json.decode(row["heads"])
    return Seal(
        seq=row["seq"],
        epoch=row["epoch"],
        after=(
            (row["after_tx_id"], row["after_position"]) if row["after_tx_id"] is not None else None
        ),
        last=(row["last_tx_id"], row["last_position"]),
        count=row["count"],
        total=row["total"],
        heads={
            stream: Head(head["version"], bytes.fromhex(head["hash"]))
            for stream, head in heads.items()
        },
        prev_seal_hash=row["prev_seal_hash"],
        seal_hash=row["seal_hash"],
        sealed_at=row["sealed_at"],
        positions=tuple(row["positions"]),
    )


def _heads_json(seal: Seal) -> bytes:
    return msgspec.json.encode(
        {s: {"hash": h.hash.hex(), "version": h.version} for s, h in sorted(seal.heads.items())}
    )


async def current_epoch(connection: asyncpg.Pool[Any] | DbConnection) -> str:
    epoch: str = await connection.fetchval(
        "SELECT token FROM store_epochs ORDER BY id DESC LIMIT 1"
    )
    return epoch


async def latest(connection: asyncpg.Pool[Any] | DbConnection) -> Seal | None:
    row = await connection.fetchrow(f"SELECT {_SEAL_COLUMNS} FROM seals ORDER BY seq DESC LIMIT 1")
    return _seal(row) if row else None


async def pending(pool: asyncpg.Pool[Any], *, cap: int) -> tuple[int, float | None]:
    """How many sealable events wait (counted up to `cap`), and how many seconds ago the latest
    seal was made (None before the first)."""
    last = await latest(pool)
    after = last.last if last else (-1, -1)
    row = await pool.fetchrow(_PENDING, *after, max(1, cap))
    assert row is not None
    age = (row["now"] - last.sealed_at).total_seconds() if last and last.sealed_at else None
    return int(row["pending"]), age


async def seal_now(
    pool: asyncpg.Pool[Any],
    *,
    max_events: int = MAX_EVENTS_PER_SEAL,
    clock: Callable[[], datetime] | None = None,
) -> list[Seal]:
    """Seal every event the feed shows that no seal covers yet: the seals made (none when
    there was nothing to seal). Sealers serialise on a lock, so two never race."""
    made: list[Seal] = []
    while True:
        async with pool.acquire() as connection, connection.transaction():
            await connection.execute(_LOCK)
            previous = await latest(connection)
            after = previous.last if previous else (-1, -1)
            rows = await connection.fetch(_TO_SEAL, *after, max_events)
            if not rows:
                return made
            now: datetime = clock() if clock else await connection.fetchval("SELECT now()")
            seal = next_seal(
                previous,
                [
                    SealedEvent(r["tx_id"], r["position"], r["stream_id"], r["version"], r["hash"])
                    for r in rows
                ],
                await current_epoch(connection),
                now,
            )
            await connection.execute(
                _INSERT,
                seal.seq,
                seal.epoch,
                *(seal.after or (None, None)),
                *seal.last,
                seal.count,
                seal.total,
                _heads_json(seal),
                list(seal.positions),
                seal.prev_seal_hash,
                seal.seal_hash,
                seal.sealed_at,
            )
        made.append(seal)
        if len(rows) < max_events:
            return made


async def check(
    pool: asyncpg.Pool[Any], anchor: Seal, *, also: Sequence[Seal] = (), limit: int = 100
) -> list[Finding]:
    """The log against a seal kept outside the database: what is missing, moved or rewritten
    up to it (empty when nothing is); `also`, earlier exported seals, each compared with the
    database's copy. Reads every event's feed key and hash in one snapshot."""
    async with (
        pool.acquire() as connection,
        connection.transaction(isolation="repeatable_read", readonly=True),
    ):
        seals = [
            _seal(row)
            for row in await connection.fetch(
                f"SELECT {_SEAL_COLUMNS} FROM seals WHERE seq <= $1 ORDER BY seq", anchor.seq
            )
        ]
        events = [
            SealedEvent(r["tx_id"], r["position"], r["stream_id"], r["version"], r["hash"])
            async for r in connection.cursor(
                "SELECT tx_id, position, stream_id, version, hash FROM events "
                "ORDER BY tx_id, position",
                prefetch=5000,
            )
        ]
        named: dict[str, set[int]] = {}
        for seal in [*seals, anchor]:
            for stream, head in seal.heads.items():
                named.setdefault(stream, set()).add(head.version)
        rows = await connection.fetch(
            "SELECT n.stream_id, (SELECT max(version) FROM events e "
            "WHERE e.stream_id = n.stream_id) AS last_version, "
            "coalesce(jsonb_object_agg(e.version, encode(e.hash, 'hex')) "
            "FILTER (WHERE e.version IS NOT NULL), '{}') AS hashes "
            "FROM unnest($1::text[], $2::int[]) AS n(stream_id, version) "
            "LEFT JOIN events e ON e.stream_id = n.stream_id AND e.version = n.version "
            "GROUP BY n.stream_id",
            [s for s, versions in named.items() for _ in versions],
            [v for versions in named.values() for v in versions],
        )
    streams = {
        row["stream_id"]: StreamState(
            row["last_version"] or 0,
            {int(v): bytes.fromhex(h) for v, h in msgspec.json.decode(row["hashes"]).items()},
        )
        for row in rows
    }
    return compare(seals, anchor, events, streams, also=also, limit=limit)
