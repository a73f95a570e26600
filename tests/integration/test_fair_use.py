"""Fair use (security review row 17): commands per token a minute and live connections per
user, counted in Redis so that every API process shares them (else in the process), 429 with
`Retry-After` beyond; `Retry-After` on 503 and 409 `busy` too."""

from __future__ import annotations

import asyncio
import socket
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AsyncExitStack, asynccontextmanager
from datetime import UTC, datetime
from typing import Any

import asyncpg
import httpx
import pytest
import uvicorn
from litestar import Litestar, get
from structlog.testing import capture_logs

from events import errors as store_errors
from events.store import EventStore
from services.api.app import create_app
from services.api.problems import EXCEPTION_HANDLERS, Problem
from services.handlers.auth import issue_token
from services.handlers.command_path import Busy
from services.runtime.config import load_settings
from tests.http import api_client
from tests.org import bearer, event_count, make_user
from tests.servers import Servers


@pytest.fixture
def shared_redis(servers: Servers) -> str:
    """The test Redis; every key these tests make names a user or token of their own."""
    return servers.redis()


def unit(code: str) -> dict[str, str]:
    return {"name": f"Đơn vị {code}", "short_code": code, "kind": "office"}


async def wait_until(check: Callable[[], Awaitable[bool]], timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while not await check():
        assert time.monotonic() < deadline, "timed out"
        await asyncio.sleep(0.1)


async def test_commands_per_token_are_counted_in_redis_across_api_processes(
    pool: asyncpg.Pool[Any], domain_store: EventStore, shared_redis: str
) -> None:
    env = {"REDIS_URL": shared_redis, "COMMANDS_PER_MINUTE": "3"}
    _, token = await make_user(domain_store, "admin")
    _, other_token = await make_user(domain_store, "admin")
    one, other = bearer(token), bearer(other_token)
    async with (
        api_client(create_app(load_settings(env), pool=pool)) as first,
        api_client(create_app(load_settings(env), pool=pool)) as second,
    ):
        sent = [
            await first.post("/units", headers=one, json=unit("A1")),
            await second.post("/units", headers=one, json=unit("A2")),
            await first.post("/units", headers=one, json=unit("A3")),
        ]
        assert [answer.status_code for answer in sent] == [201, 201, 201]
        before = await event_count(pool)
        for client in (second, first):
            refused = await client.post("/units", headers=one, json=unit("A4"))
            assert refused.status_code == 429, refused.text
            assert refused.json()["type"] == "/problems/too-many-requests"
            assert 1 <= int(refused.headers["Retry-After"]) <= 60
        assert await event_count(pool) == before
        assert (await first.get("/units", headers=one)).status_code == 200  # reads: not commands
        assert (await second.post("/units", headers=other, json=unit("B1"))).status_code == 201


async def test_commands_per_token_are_counted_in_the_process_without_redis(
    pool: asyncpg.Pool[Any], domain_store: EventStore
) -> None:
    _, token = await make_user(domain_store, "admin")
    app = create_app(load_settings({"COMMANDS_PER_MINUTE": "2"}), pool=pool)
    async with api_client(app) as client:
        statuses = [
            (await client.post("/units", headers=bearer(token), json=unit(f"C{n}"))).status_code
            for n in range(3)
        ]
        refused = await client.post("/units", headers=bearer(token), json=unit("C9"))
    assert statuses == [201, 201, 429]
    assert refused.status_code == 429 and int(refused.headers["Retry-After"]) >= 1


async def test_no_command_limit_when_commands_per_minute_is_0(
    pool: asyncpg.Pool[Any], domain_store: EventStore
) -> None:
    _, token = await make_user(domain_store, "admin")
    app = create_app(load_settings({"COMMANDS_PER_MINUTE": "0"}), pool=pool)
    async with api_client(app) as client:
        statuses = [
            (await client.post("/units", headers=bearer(token), json=unit(f"Z{n}"))).status_code
            for n in range(5)
        ]
    assert statuses == [201] * 5


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@asynccontextmanager
async def serving(pool: asyncpg.Pool[Any], env: dict[str, str]) -> AsyncIterator[str]:
    """An API process of its own (a real server: SSE needs one), on the test's pool."""
    port = free_port()
    app = create_app(load_settings(env), pool=pool)
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on")
    )
    task = asyncio.create_task(server.serve())
    for _ in range(1000):
        if server.started:
            break
        await asyncio.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await asyncio.wait_for(task, 20)


async def open_live(
    stack: AsyncExitStack, client: httpx.AsyncClient, headers: dict[str, str]
) -> httpx.Response:
    """A live connection, or the refusal; an accepted one is held open until the stack ends."""
    response = await client.send(
        client.build_request("GET", "/events/live", headers=headers), stream=True
    )
    stack.push_async_callback(response.aclose)
    if response.status_code == 200:
        lines = response.aiter_lines()
        await anext(lines)  # ": connected"
        # Kept: a line iterator collected as garbage would close the connection.
        stack.push_async_callback(lines.aclose)
    else:
        await response.aread()
    return response


@pytest.mark.parametrize("with_redis", [True, False])
async def test_live_connections_per_user_are_capped(
    pool: asyncpg.Pool[Any], domain_store: EventStore, shared_redis: str, with_redis: bool
) -> None:
    env = {"LIVE_CONNECTIONS_PER_USER": "2", **({"REDIS_URL": shared_redis} if with_redis else {})}
    user, token = await make_user(domain_store, "admin")
    _, other = await make_user(domain_store, "admin")
    _, second_token, _ = await issue_token(pool, user, datetime.now(UTC), days=1)
    processes = 2 if with_redis else 1
    async with AsyncExitStack() as servers_stack:
        urls = [
            await servers_stack.enter_async_context(serving(pool, env)) for _ in range(processes)
        ]
        clients = [
            await servers_stack.enter_async_context(httpx.AsyncClient(base_url=url, timeout=30))
            for url in urls
        ]
        async with AsyncExitStack() as held:
            first = await open_live(held, clients[0], bearer(token))
            # Another token of the same user, on another process when they share Redis.
            second = await open_live(held, clients[-1], bearer(second_token))
            assert (first.status_code, second.status_code) == (200, 200)
            for client in clients:
                refused = await open_live(held, client, bearer(token))
                assert refused.status_code == 429, refused.text
                assert refused.json()["type"] == "/problems/too-many-requests"
                assert int(refused.headers["Retry-After"]) >= 1
            assert (await open_live(held, clients[0], bearer(other))).status_code == 200
            await first.aclose()  # one of the user's connections ends: its place is free

            async def admitted() -> bool:
                async with AsyncExitStack() as probe:
                    return (await open_live(probe, clients[-1], bearer(token))).status_code == 200

            await wait_until(admitted)


async def test_while_its_redis_is_away_fair_use_refuses_nobody(
    pool: asyncpg.Pool[Any], domain_store: EventStore
) -> None:
    # Nothing listens on this port: every count fails, and the API serves on uncounted.
    env = {
        "REDIS_URL": f"redis://127.0.0.1:{free_port()}/0",
        "COMMANDS_PER_MINUTE": "1",
        "LIVE_CONNECTIONS_PER_USER": "1",
    }
    _, token = await make_user(domain_store, "admin")
    with capture_logs() as logs:
        async with (
            serving(pool, env) as url,
            httpx.AsyncClient(base_url=url, timeout=30) as client,
            AsyncExitStack() as held,
        ):
            statuses = [
                (await client.post("/units", headers=bearer(token), json=unit(f"R{n}"))).status_code
                for n in range(3)
            ]
            live = [(await open_live(held, client, bearer(token))).status_code for _ in range(2)]
    assert statuses == [201, 201, 201] and live == [200, 200]
    warned = {entry["event"] for entry in logs if entry["log_level"] == "warning"}
    assert {"command rate not counted", "live connection not counted"} <= warned


async def test_retry_after_on_503_and_409_busy() -> None:
    @get("/busy")
    async def busy() -> None:
        raise Busy("the command kept conflicting")

    @get("/skew")
    async def skew() -> None:
        raise store_errors.ClockSkew("the clock is 10 s ahead")

    @get("/unready")
    async def unready() -> None:
        raise Problem(503, "not-ready", "Not ready")

    app = Litestar([busy, skew, unready], exception_handlers=EXCEPTION_HANDLERS)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        answers = {path: await client.get(path) for path in ("/busy", "/skew", "/unready")}
    assert {path: a.status_code for path, a in answers.items()} == {
        "/busy": 409,
        "/skew": 503,
        "/unready": 503,
    }
    assert answers["/busy"].headers["Retry-After"] == "1"
    assert all(int(a.headers["Retry-After"]) >= 1 for a in answers.values())
