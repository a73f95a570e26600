"""A benchmark's own database on the local (or embedded) servers, dropped afterwards."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

import asyncpg

from tests.servers import Servers, with_database


@asynccontextmanager
async def scratch_database(
    prepare: Callable[[str], Awaitable[Any]],
) -> AsyncIterator[tuple[str, Servers]]:
    """A fresh database prepared by `prepare(dsn)` (a migration), and the servers it lives on."""
    servers = Servers()
    admin = servers.postgres()
    name = f"cl_bench_{uuid.uuid4().hex[:8]}"
    connection = await asyncpg.connect(admin)
    await connection.execute(f'CREATE DATABASE "{name}"')
    await connection.close()
    try:
        dsn = with_database(admin, name)
        await prepare(dsn)
        yield dsn, servers
    finally:
        connection = await asyncpg.connect(admin)
        await connection.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
        await connection.close()
        servers.stop()
