"""An API process keeps the tokens it authenticated in memory, and forgets them the moment who
holds what changes anywhere: a token revoked or a role withdrawn by another process, a person
erased; the process that made the change forgets at once; a lost notice channel stops the
caching until it is back."""

from __future__ import annotations

from contextlib import AbstractAsyncContextManager
from datetime import UTC, datetime
from typing import Any

import asyncpg
import httpx
from prometheus_client import REGISTRY

from events.store import EventStore
from projections import user_roles
from services.api.app import create_app
from services.handlers import users
from services.handlers.auth import OPERATOR, hash_token
from services.handlers.command_path import CommandContext, execute
from services.runtime.config import load_settings
from tests.http import api_client
from tests.org import bearer, make_user
from tests.waiting import until

KILL_LISTENER = (
    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
    "WHERE application_name = 'campaign-ledger-listener' AND datname = current_database()"
)


def lookups(source: str) -> float:
    return REGISTRY.get_sample_value("campaign_token_lookups_total", {"source": source}) or 0.0


def serving(pool: asyncpg.Pool[Any], dsn: str) -> AbstractAsyncContextManager[httpx.AsyncClient]:
    """The API with its DATABASE_URL set, so that it listens for changes and caches tokens."""
    return api_client(create_app(load_settings({"DATABASE_URL": dsn}), pool=pool))


async def served_from_memory(client: httpx.AsyncClient, token: str) -> None:
    """Ask until an answer came from the cache (its listener connects in the background)."""

    async def cached() -> bool:
        before = lookups("cache")
        assert (await client.get("/units", headers=bearer(token))).status_code == 200
        return lookups("cache") > before

    await until(cached, 30, "a token served from memory")


async def refused(client: httpx.AsyncClient, token: str, path: str = "/units") -> bool:
    return (await client.get(path, headers=bearer(token))).status_code in (401, 403)


async def test_a_token_is_read_once_then_served_from_memory(
    domain_store: EventStore, pool: asyncpg.Pool[Any], dsn: str
) -> None:
    async with serving(pool, dsn) as client:
        _, token = await make_user(domain_store, "admin")
        await served_from_memory(client, token)
        database, cache = lookups("database"), lookups("cache")
        for _ in range(5):
            assert (await client.get("/units", headers=bearer(token))).status_code == 200
        assert (lookups("database") - database, lookups("cache") - cache) == (0, 5)


async def test_a_token_revoked_by_another_process_is_refused_at_once(
    domain_store: EventStore, pool: asyncpg.Pool[Any], dsn: str
) -> None:
    async with serving(pool, dsn) as client:
        _, token = await make_user(domain_store, "admin")
        _, other = await make_user(domain_store, "admin")
        await served_from_memory(client, token)
        await served_from_memory(client, other)
        await pool.execute(  # as `campaign users revoke-token` in another process does
            "UPDATE api_tokens SET revoked_at = now() WHERE token_hash = $1", hash_token(token)
        )
        await until(lambda: refused(client, token), 5, "the revoked token refused")
        assert (await client.get("/units", headers=bearer(other))).status_code == 200


async def test_a_role_withdrawn_elsewhere_is_withdrawn_here(
    domain_store: EventStore, pool: asyncpg.Pool[Any], dsn: str
) -> None:
    async with serving(pool, dsn) as client:
        user, token = await make_user(domain_store, "admin")
        await served_from_memory(client, token)
        assert (await client.get("/users", headers=bearer(token))).status_code == 200
        [role] = await user_roles.held_by(pool, user)
        now = datetime.now(UTC)
        await execute(
            domain_store,
            CommandContext(OPERATOR, now),
            users.revoke_handler(user, role["role_id"], OPERATOR),
        )
        await until(lambda: refused(client, token, "/users"), 5, "the admin role gone")


async def test_the_process_that_revokes_forgets_before_it_answers(
    domain_store: EventStore, pool: asyncpg.Pool[Any], dsn: str
) -> None:
    async with serving(pool, dsn) as client:
        user, token = await make_user(domain_store, "admin")
        target, target_token = await make_user(domain_store, "admin")
        await served_from_memory(client, target_token)
        await served_from_memory(client, token)
        # No notice will come: what keeps the next request honest is this process forgetting.
        await pool.execute(KILL_LISTENER)
        row = await pool.fetchrow(
            "SELECT token_id FROM api_tokens WHERE token_hash = $1", hash_token(target_token)
        )
        revoked = await client.delete(
            f"/users/{target}/tokens/{row['token_id']}", headers=bearer(token)
        )
        assert revoked.status_code == 200
        assert await refused(client, target_token)  # the very next request, no wait
        erased = await client.delete(f"/users/{user}/personal-data", headers=bearer(token))
        assert erased.status_code == 200
        assert (await client.get("/units", headers=bearer(token))).status_code == 401


async def test_a_lost_notice_channel_never_leaves_a_revoked_token_working(
    domain_store: EventStore, pool: asyncpg.Pool[Any], dsn: str
) -> None:
    async with serving(pool, dsn) as client:
        _, token = await make_user(domain_store, "admin")
        await served_from_memory(client, token)
        # The listener's connection dies; a revocation is made while no one hears it.
        await pool.execute(KILL_LISTENER)
        await pool.execute(
            "UPDATE api_tokens SET revoked_at = now() WHERE token_hash = $1", hash_token(token)
        )
        await until(lambda: refused(client, token), 30, "the revoked token refused")
