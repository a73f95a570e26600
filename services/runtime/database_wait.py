"""Waiting for PostgreSQL to accept connections, for a role that starts while it is away."""

from __future__ import annotations

import asyncio
import random
import time

import asyncpg
import structlog

from services.runtime.reconnect import ReconnectPolicy, after_failure, after_success

log = structlog.get_logger(__name__)


async def wait_for_database(dsn: str, role: str) -> None:
    """Until PostgreSQL accepts a connection: a role started while the database is away waits
    for it (capped, jittered backoff; said once), as it rides out an outage once running."""
    policy, outage = ReconnectPolicy(), None
    while True:
        try:
            connection = await asyncpg.connect(dsn, timeout=5)
        except (OSError, TimeoutError, asyncpg.PostgresError, asyncpg.InterfaceError) as error:
            retry = after_failure(policy, outage, time.monotonic(), random.random())
            if retry.announce:
                log.warning(
                    "waiting for the database to start", role=role, error=type(error).__name__
                )
            outage = retry.outage
            await asyncio.sleep(retry.delay)
            continue
        await connection.close()
        recovered = after_success(outage, time.monotonic())
        if recovered is not None:
            log.info("the database answers", role=role, waited_seconds=round(recovered.seconds, 2))
        return
