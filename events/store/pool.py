"""The store's connection pool: connections that speak jsonb as raw bytes, are released without
a reset round trip and never idle inside a transaction."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, TypeAlias

import asyncpg

from events.codec import register_jsonb_codec

if TYPE_CHECKING:
    from asyncpg.pool import PoolConnectionProxy

if TYPE_CHECKING:
    DbConnection: TypeAlias = asyncpg.Connection[Any] | PoolConnectionProxy[Any]
    """A connection of its own or one borrowed from a pool."""
else:
    DbConnection = Any


async def _init_connection(connection: asyncpg.Connection[Any]) -> None:
    await register_jsonb_codec(connection)


class PoolConnection(asyncpg.Connection):
    """A pooled connection released without the reset round trip.

    The store keeps no session state on pooled connections: no LISTEN (the listener has its own
    connection), no session-level advisory lock (appends take transaction-scoped ones), no
    session SET. asyncpg still rolls back any transaction left open on release.
    """

    def get_reset_query(self) -> str:
        return ""


async def create_pool(dsn: str, *, min_size: int = 2, max_size: int = 10) -> asyncpg.Pool[Any]:
    """A pool whose connections speak jsonb as raw bytes and never idle inside a transaction."""
    pool = await asyncpg.create_pool(
        dsn,
        connection_class=PoolConnection,
        min_size=min_size,
        max_size=max_size,
        init=_init_connection,
        server_settings={
            "application_name": "campaign-ledger",
            "idle_in_transaction_session_timeout": "30000",
            # The store's statements are few and fixed; replanning the append for each call
            # (custom plans) costs more than executing it.
            "plan_cache_mode": "force_generic_plan",
        },
    )
    assert pool is not None
    return pool
