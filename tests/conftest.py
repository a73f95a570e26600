"""Real PostgreSQL for every integration test: each test run migrates a template database once
and each test gets a fresh copy of it, dropped afterwards."""

from __future__ import annotations

import asyncio
import itertools
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import pytest

from events.migrate import migrate
from events.store import EventStore, create_pool
from services.ops.migrate import migrate_and_rebuild
from tests.servers import Servers, with_database
from tests.support import test_catalog


@pytest.fixture(scope="session")
def servers() -> Iterator[Servers]:
    found = Servers()
    yield found
    found.stop()


@pytest.fixture(scope="session")
def admin_dsn(servers: Servers) -> str:
    return servers.postgres()


@pytest.fixture(scope="session")
def template_database(admin_dsn: str) -> Iterator[str]:
    name = f"cl_tpl_{uuid.uuid4().hex[:10]}"

    async def create() -> None:
        admin = await asyncpg.connect(admin_dsn)
        try:
            await admin.execute(f'CREATE DATABASE "{name}"')
        finally:
            await admin.close()
        await migrate_and_rebuild(with_database(admin_dsn, name))

    async def drop() -> None:
        admin = await asyncpg.connect(admin_dsn)
        try:
            await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await admin.close()

    asyncio.run(create())
    yield name
    asyncio.run(drop())


@pytest.fixture
async def dsn(admin_dsn: str, template_database: str) -> AsyncIterator[str]:
    """A fresh, migrated database of this test's own."""
    name = f"cl_test_{uuid.uuid4().hex[:12]}"
    admin = await asyncpg.connect(admin_dsn)
    try:
        await admin.execute(f'CREATE DATABASE "{name}" TEMPLATE "{template_database}"')
    finally:
        await admin.close()
    # A copy of the template is a copy of a database: as after a restore, migrate opens its epoch.
    await migrate(with_database(admin_dsn, name))
    yield with_database(admin_dsn, name)
    admin = await asyncpg.connect(admin_dsn)
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await admin.close()


@pytest.fixture
async def pool(dsn: str) -> AsyncIterator[asyncpg.Pool[Any]]:
    created = await create_pool(dsn, min_size=1, max_size=40)
    yield created
    await created.close()


@pytest.fixture
async def store(pool: asyncpg.Pool[Any]) -> AsyncIterator[EventStore]:
    created = EventStore(pool, catalog=test_catalog)
    yield created
    await created.close()


@pytest.fixture
async def domain_store(pool: asyncpg.Pool[Any]) -> AsyncIterator[EventStore]:
    """A store speaking the domain's catalogue (units, users, plans...)."""
    import events.domain  # noqa: F401 - registers every domain event

    created = EventStore(pool)
    yield created
    await created.close()


@pytest.fixture
async def redis_url(servers: Servers) -> AsyncIterator[str]:
    """A Redis database for this test. On the tests' own server: a database of its own, emptied
    before and after. On the one `TEST_REDIS_URL` gives: that database, never emptied; the keys
    this test made are deleted afterwards."""
    from redis.asyncio import Redis

    url = servers.redis()
    if servers.owns_redis:
        url = redis_database(url, next(_redis_databases))
    client = Redis.from_url(url)
    try:
        if servers.owns_redis:
            await client.flushdb()
        _keys_before[url] = {key async for key in client.scan_iter(count=1000)}
        yield url
        await lose_test_keys(url)
    finally:
        _keys_before.pop(url, None)
        await client.aclose()


_keys_before: dict[str, set[bytes]] = {}


async def lose_test_keys(url: str) -> None:
    """Redis loses everything the running test put in it (as a restarted Redis without
    persistence would), and nothing that was there before the test."""
    from redis.asyncio import Redis

    client = Redis.from_url(url)
    try:
        before = _keys_before.get(url, set())
        made = [key async for key in client.scan_iter(count=1000) if key not in before]
        if made:
            await client.delete(*made)
    finally:
        await client.aclose()


@pytest.fixture
def lose_redis(redis_url: str) -> Callable[[], Awaitable[None]]:
    """Call to make Redis lose every job and key this test made."""
    return lambda: lose_test_keys(redis_url)


_redis_databases = itertools.cycle(range(1, 16))


def redis_database(url: str, number: int) -> str:
    """`url` naming database `number` (redis://host:port/N or unix://path?db=N)."""
    parts = urlsplit(url)
    if parts.scheme == "unix":
        return urlunsplit(parts._replace(query=f"db={number}"))
    return urlunsplit(parts._replace(path=f"/{number}"))
