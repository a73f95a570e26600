"""Webhook subscriptions as rows: their configuration, kept from their events in the
transaction of the subscription command (with the signing secret, which no event carries), and
their delivery state (cursor, lease, failures), which the delivery workers move.

Not a rebuildable read model: the secret and the delivery state exist only here.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any
from uuid import UUID

import asyncpg

from events.store import DbConnection
from events.subscriptions import (
    SubscriptionCreated,
    SubscriptionParked,
    SubscriptionPaused,
    SubscriptionReset,
    SubscriptionResumed,
)
from projections.change import Change

COLUMNS = (
    "subscription_id, owner_user_id, name, url, types, categories, streams, plan_id, units, "
    "status, version, created_at, cursor, delivered, attempts, failures, next_attempt_at, "
    "last_attempt_at, last_delivered_at, last_error, parked_reason, lease_until"
)


async def write(
    connection: DbConnection, changes: Sequence[Change], secret: str, at: datetime
) -> None:
    """Keep the `subscriptions` table in step with the events just appended."""
    for change in changes:
        event, version = change.event, change.version
        match event:
            case SubscriptionCreated():
                f = event.filter
                await connection.execute(
                    "INSERT INTO subscriptions (subscription_id, owner_user_id, name, url, secret, "
                    "types, categories, streams, plan_id, units, status, version, created_at, "
                    "cursor) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, 'active', $11, "
                    "$12, $13)",
                    event.subscription_id,
                    event.owner_user_id,
                    event.name,
                    event.url,
                    secret,
                    list(f.types),
                    list(f.categories),
                    list(f.streams),
                    f.plan_id,
                    list(f.units),
                    version,
                    at,
                    event.start_after,
                )
            case SubscriptionPaused():
                await connection.execute(
                    "UPDATE subscriptions SET status = 'paused', version = $2 "
                    "WHERE subscription_id = $1",
                    event.subscription_id,
                    version,
                )
            case SubscriptionResumed():
                await connection.execute(
                    "UPDATE subscriptions SET status = 'active', version = $2, failures = 0, "
                    "next_attempt_at = '-infinity', parked_reason = NULL "
                    "WHERE subscription_id = $1",
                    event.subscription_id,
                    version,
                )
            case SubscriptionReset():
                # The lease is kept (no second delivery starts before it ends) but its token is
                # dropped, so a delivery in flight cannot move the cursor past the reset.
                await connection.execute(
                    "UPDATE subscriptions SET cursor = $2, version = $3, failures = 0, "
                    "next_attempt_at = '-infinity', lease_token = NULL "
                    "WHERE subscription_id = $1",
                    event.subscription_id,
                    event.after,
                    version,
                )
            case SubscriptionParked():
                await connection.execute(
                    "UPDATE subscriptions SET status = 'parked', version = $2, failures = $3, "
                    "parked_reason = $4, last_error = $4 WHERE subscription_id = $1",
                    event.subscription_id,
                    version,
                    event.failures,
                    event.reason,
                )


async def lease_held(connection: DbConnection, subscription_id: UUID, token: UUID) -> bool:
    """Whether the delivery lease is still `token`'s (the row locked until the transaction
    ends, so a park cannot cross a reset)."""
    return bool(
        await connection.fetchval(
            "SELECT lease_token = $2 FROM subscriptions WHERE subscription_id = $1 FOR UPDATE",
            subscription_id,
            token,
        )
    )


async def get(pool: asyncpg.Pool[Any], subscription_id: UUID) -> asyncpg.Record | None:
    return await pool.fetchrow(
        f"SELECT {COLUMNS} FROM subscriptions WHERE subscription_id = $1", subscription_id
    )


async def secret_of(pool: asyncpg.Pool[Any], subscription_id: UUID) -> str | None:
    secret: str | None = await pool.fetchval(
        "SELECT secret FROM subscriptions WHERE subscription_id = $1", subscription_id
    )
    return secret


async def listing(pool: asyncpg.Pool[Any], owner: UUID | None, limit: int) -> list[asyncpg.Record]:
    """Newest first: every subscription (`owner` None) or one user's."""
    if owner is None:
        rows = await pool.fetch(
            f"SELECT {COLUMNS} FROM subscriptions ORDER BY created_at DESC, subscription_id "
            "LIMIT $1",
            limit,
        )
    else:
        rows = await pool.fetch(
            f"SELECT {COLUMNS} FROM subscriptions WHERE owner_user_id = $1 "
            "ORDER BY created_at DESC, subscription_id LIMIT $2",
            owner,
            limit,
        )
    return list(rows)


async def counts_by_status(pool: asyncpg.Pool[Any]) -> dict[str, int]:
    rows = await pool.fetch("SELECT status, count(*) AS n FROM subscriptions GROUP BY status")
    return {row["status"]: row["n"] for row in rows}


async def active(pool: asyncpg.Pool[Any], limit: int) -> list[asyncpg.Record]:
    return list(
        await pool.fetch(
            f"SELECT {COLUMNS} FROM subscriptions WHERE status = 'active' LIMIT $1", limit
        )
    )


async def database_now(pool: asyncpg.Pool[Any]) -> datetime:
    """The database's clock, which stamps the events (for ages measured against them)."""
    now: datetime = await pool.fetchval("SELECT now()")
    return now


# -- the delivery state, moved by the delivery workers ----------------------------------------

_CLAIM = """
UPDATE subscriptions
SET lease_token = $2, lease_until = now() + make_interval(secs => $3), attempts = attempts + 1
WHERE subscription_id = $1 AND status = 'active' AND next_attempt_at <= now()
  AND (lease_until IS NULL OR lease_until < now())
RETURNING owner_user_id, url, secret, types, categories, streams, plan_id, units, cursor,
          failures, attempts
"""

# The cursor, lease and counters are the deliveries' bookkeeping, not events: their commits do
# not wait for the disk (synchronous_commit off for the statement's own transaction). A crash
# can lose the last moves; a batch is then sent again, which at-least-once delivery allows.
_LAZY_COMMIT = "WITH lazy AS MATERIALIZED (SELECT set_config('synchronous_commit', 'off', true))"

_ADVANCE = f"""
{_LAZY_COMMIT}
UPDATE subscriptions
SET cursor = $3, delivered = delivered + $4, failures = 0, next_attempt_at = '-infinity',
    last_attempt_at = now(), last_delivered_at = now(), last_error = NULL,
    lease_until = now() + make_interval(secs => $5)
FROM lazy
WHERE subscription_id = $1 AND lease_token = $2
RETURNING status = 'active' AS active
"""

_RETRY_LATER = """
UPDATE subscriptions
SET failures = $3, next_attempt_at = now() + make_interval(secs => $4), last_error = $5,
    last_attempt_at = now(), lease_token = NULL, lease_until = NULL
WHERE subscription_id = $1 AND lease_token = $2
"""

_SKIP = """
UPDATE subscriptions SET cursor = $3 WHERE subscription_id = $1 AND lease_token = $2
"""

_RENEW = f"""
{_LAZY_COMMIT}
UPDATE subscriptions SET lease_until = now() + make_interval(secs => $3)
FROM lazy
WHERE subscription_id = $1 AND lease_token = $2 AND status = 'active'
RETURNING 1
"""

_RELEASE = """
UPDATE subscriptions SET lease_token = NULL, lease_until = NULL
WHERE subscription_id = $1 AND lease_token = $2
RETURNING attempts
"""

_DUE = """
SELECT subscription_id, attempts, cursor FROM subscriptions
WHERE status = 'active' AND next_attempt_at <= now()
  AND (lease_until IS NULL OR lease_until < now())
"""


async def claim(
    pool: asyncpg.Pool[Any], subscription_id: UUID, token: UUID, lease_seconds: float
) -> asyncpg.Record | None:
    """Lease an active, due, unleased subscription to `token`: its row, or None."""
    return await pool.fetchrow(_CLAIM, subscription_id, token, lease_seconds)


async def advance(
    pool: asyncpg.Pool[Any],
    subscription_id: UUID,
    token: UUID,
    cursor: str,
    events: int,
    lease_seconds: float,
) -> bool | None:
    """Move the cursor past a delivered batch and extend the lease: None when the lease is no
    longer `token`'s, else whether the subscription is still active (not paused meanwhile)."""
    active: bool | None = await pool.fetchval(
        _ADVANCE, subscription_id, token, cursor, events, lease_seconds
    )
    return active


async def retry_later(
    pool: asyncpg.Pool[Any],
    subscription_id: UUID,
    token: UUID,
    failures: int,
    delay: float,
    error: str,
) -> None:
    await pool.execute(_RETRY_LATER, subscription_id, token, failures, delay, error)


async def skip(pool: asyncpg.Pool[Any], subscription_id: UUID, token: UUID, cursor: str) -> None:
    """Move the cursor past events none of which were for the subscription."""
    await pool.execute(_SKIP, subscription_id, token, cursor)


async def renew(
    pool: asyncpg.Pool[Any], subscription_id: UUID, token: UUID, lease_seconds: float
) -> bool:
    """Extend the lease; False when it was lost (paused, reset, taken over)."""
    return await pool.fetchval(_RENEW, subscription_id, token, lease_seconds) is not None


async def release(pool: asyncpg.Pool[Any], subscription_id: UUID, token: UUID) -> int | None:
    """Let the lease go: the subscription's claim count, or None when it was not `token`'s."""
    claims: int | None = await pool.fetchval(_RELEASE, subscription_id, token)
    return claims


async def due(pool: asyncpg.Pool[Any]) -> list[asyncpg.Record]:
    """Active subscriptions whose next attempt is due and that no delivery holds."""
    return list(await pool.fetch(_DUE))
