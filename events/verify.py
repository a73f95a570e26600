"""Recompute every stream's hash chain and report the first broken link.

The triggers refuse UPDATE, DELETE and TRUNCATE, but a superuser can disable them: the chain is
the evidence. A rehashed chain, a deleted tail or stream, or a reordered feed is caught by the
seals (`events.seal`, `events.sealing`) against a seal exported outside the database.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import asyncpg
import msgspec

from events.codec import canonical, chain_hash, envelope_jcs, tags_json, utc_text


@dataclass(frozen=True)
class Break:
    stream_id: str
    version: int
    position: int
    reason: str

    def describe(self) -> str:
        return f"{self.stream_id} version {self.version} (position {self.position}): {self.reason}"


@dataclass
class VerifyReport:
    streams: int = 0
    events: int = 0
    breaks: list[Break] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.breaks

    @property
    def first_break(self) -> Break | None:
        return min(self.breaks, key=lambda b: b.position, default=None)


def recompute(row: asyncpg.Record | dict[str, Any]) -> bytes:
    """The JCS envelope of a stored row, from its stored columns."""
    return envelope_jcs(
        stream_json=msgspec.json.encode(row["stream_id"]),
        version=row["version"],
        event_id=str(row["event_id"]),
        type_name=row["type"],
        schema_version=row["schema_version"],
        data=canonical(msgspec.json.decode(row["data"])),
        metadata=canonical(msgspec.json.decode(row["metadata"])),
        tags=tags_json(
            row["category"],
            str(row["plan_id"]) if row["plan_id"] is not None else None,
            [str(unit) for unit in row["units"]],
        ),
        recorded_at=utc_text(row["recorded_at"]),
    )


async def verify(
    pool: asyncpg.Pool[Any], *, streams: list[str] | None = None, max_breaks: int = 100
) -> VerifyReport:
    report = VerifyReport()
    where = "WHERE stream_id = ANY($1::text[])" if streams is not None else ""
    args: list[Any] = [streams] if streams is not None else []
    async with pool.acquire() as connection, connection.transaction(isolation="repeatable_read"):
        current: str | None = None
        previous_hash: bytes | None = None
        previous_version = 0

        async for row in connection.cursor(
            "SELECT event_id, stream_id, version, position, type, schema_version, data, metadata,"
            " category, plan_id, units, recorded_at, prev_hash, hash"
            f" FROM events {where} ORDER BY stream_id, version",
            *args,
            prefetch=2000,
        ):
            if row["stream_id"] != current:
                current = row["stream_id"]
                previous_hash, previous_version = None, 0
                report.streams += 1
            report.events += 1
            reason = None
            if row["version"] != previous_version + 1:
                reason = f"version follows {previous_version}"
            elif row["prev_hash"] != previous_hash:
                reason = "prev_hash is not the hash of the event before"
            elif chain_hash(row["prev_hash"], recompute(row)) != row["hash"]:
                reason = "hash does not match the stored envelope (the row was altered)"
            if reason is not None and len(report.breaks) < max_breaks:
                report.breaks.append(
                    Break(row["stream_id"], row["version"], row["position"], reason)
                )
            previous_hash, previous_version = row["hash"], row["version"]
    return report
