"""GET /events/live over a real HTTP server: resume with Last-Event-ID and miss nothing, 200
clients all get a new event while idle clients hold no database connection, and a client
that reads nothing does not hold back the others."""

from __future__ import annotations

import asyncio
import json
import socket
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import asyncpg
import httpx
import uvicorn
from prometheus_client import REGISTRY

from events.envelope import Metadata, NewEvent, StreamWrite
from events.store import EventStore
from services.api.app import create_app
from services.ops.demo import load_demo
from services.runtime.config import load_settings
from tests.org import bearer, make_user
from tests.support import Noted
from tests.waiting import until


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@asynccontextmanager
async def serving(dsn: str, pool: asyncpg.Pool[Any], **env: str) -> AsyncIterator[str]:
    port = free_port()
    app = create_app(load_settings({"DATABASE_URL": dsn, **env}), pool=pool)
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on")
    )
    task = asyncio.create_task(server.serve())
    for _ in range(500):
        if server.started:
            break
        await asyncio.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await asyncio.wait_for(task, 10)


def catching_up() -> float:
    """This process's SSE clients still catching up from the store."""
    return REGISTRY.get_sample_value("campaign_sse_clients_catching_up") or 0.0


async def frames(
    response: httpx.Response, lines: AsyncIterator[str] | None = None
) -> AsyncIterator[tuple[str, dict[str, Any]]]:
    """(id, event) for each SSE event (of `lines`, when some were read already); comments are
    skipped."""
    event_id, data = None, None
    async for line in lines or response.aiter_lines():
        if line.startswith("id: "):
            event_id = line[4:]
        elif line.startswith("data: "):
            data = json.loads(line[6:])
        elif line == "" and event_id and data is not None:
            yield event_id, data
            event_id, data = None, None


Frames = AsyncIterator[tuple[str, dict[str, Any]]]


async def take(events: Frames, count: int) -> list[tuple[str, dict[str, Any]]]:
    return [await anext(events) for _ in range(count)]


async def note(store: EventStore, count: int = 1) -> None:
    stream = f"note-{uuid.uuid4()}"
    await store.append(
        [StreamWrite(stream, 0, [NewEvent(Noted(text=f"{n}")) for n in range(count)])],
        Metadata(),
    )


async def test_a_client_resumes_with_last_event_id_and_misses_nothing(
    domain_store: EventStore, store: EventStore, pool: asyncpg.Pool[Any], dsn: str
) -> None:
    await load_demo(domain_store)
    _, token = await make_user(domain_store, "admin")
    admin = bearer(token)
    async with serving(dsn, pool) as url, httpx.AsyncClient(base_url=url, timeout=20) as client:
        every = (await client.get("/events", headers=admin, params={"limit": "1000"})).json()
        expected = [e["cursor"] for e in every["events"]]
        async with client.stream("GET", "/events/live", headers=admin) as first:
            assert first.headers["content-type"].startswith("text/event-stream")
            part = await take(frames(first), 40)  # then the connection drops
        resume = {**admin, "Last-Event-ID": part[-1][0]}
        async with client.stream("GET", "/events/live", headers=resume) as second:
            events = frames(second)
            rest = await take(events, len(expected) - 40)
            await note(store)  # a new event arrives live
            (live,) = await take(events, 1)
    assert [i for i, _ in part + rest] == expected
    assert [e["cursor"] for _, e in part + rest] == expected
    assert live[1]["type"] == "Noted" and live[0] == live[1]["cursor"]


async def test_two_hundred_clients_get_a_new_event_and_idle_ones_hold_no_connection(
    domain_store: EventStore, store: EventStore, pool: asyncpg.Pool[Any], dsn: str
) -> None:
    _, token = await make_user(domain_store, "admin")
    admin = bearer(token)
    catching_up_before = catching_up()
    # One user's 201 connections: above the default cap of live connections per user.
    async with serving(dsn, pool, LIVE_CONNECTIONS_PER_USER="250") as url:
        head = (await domain_store.head()) or ""
        limits = httpx.Limits(max_connections=300)
        async with httpx.AsyncClient(base_url=url, timeout=30, limits=limits) as client:
            # The first client starts the process's tail (its LISTEN connection).
            async with client.stream(
                "GET", "/events/live", headers={**admin, "Last-Event-ID": head}
            ) as probe:
                await probe.aiter_lines().__anext__()
            streams = []
            for _ in range(200):
                request = client.build_request(
                    "GET", "/events/live", headers={**admin, "Last-Event-ID": head}
                )
                streams.append(await client.send(request, stream=True))
            lines = [s.aiter_lines() for s in streams]
            await asyncio.gather(*(anext(each) for each in lines))  # ": connected": all are in

            def idle() -> bool:  # caught up, waiting: none holds a connection of the pool
                return catching_up() == catching_up_before and pool.get_idle_size() == (
                    pool.get_size()
                )

            # Were idle clients to hold connections, this would never hold.
            await until(idle, 30, "every client caught up and idle, holding no connection")
            await note(store)
            got = await asyncio.gather(
                *(take(frames(s, each), 1) for s, each in zip(streams, lines, strict=True))
            )
            assert all(g[0][1]["type"] == "Noted" for g in got)
            assert len({g[0][0] for g in got}) == 1
            for s in streams:
                await s.aclose()


async def test_a_client_that_reads_nothing_does_not_hold_back_the_others(
    domain_store: EventStore, store: EventStore, pool: asyncpg.Pool[Any], dsn: str
) -> None:
    _, token = await make_user(domain_store, "admin")
    admin = bearer(token)
    async with serving(dsn, pool) as url, httpx.AsyncClient(base_url=url, timeout=30) as client:
        head = (await domain_store.head()) or ""
        headers = {**admin, "Last-Event-ID": head}
        stuck = await client.send(
            client.build_request("GET", "/events/live", headers=headers), stream=True
        )
        async with client.stream("GET", "/events/live", headers=headers) as reader:
            for _ in range(6):
                await note(store, 1000)  # 6,000 events: more than a queue holds
            got = await asyncio.wait_for(take(frames(reader), 6000), 30)
        assert len(got) == 6000 and len({i for i, _ in got}) == 6000
        await stuck.aclose()


async def test_a_consumer_gets_over_sse_exactly_what_the_feed_shows_it(
    domain_store: EventStore, store: EventStore, pool: asyncpg.Pool[Any], dsn: str
) -> None:
    from services.ops.demo import demo_id

    await load_demo(domain_store)
    group = demo_id("unit:sl-t1")
    _, token = await make_user(domain_store, "consumer", group)
    consumer = bearer(token)
    async with serving(dsn, pool) as url, httpx.AsyncClient(base_url=url, timeout=20) as client:
        fed = (await client.get("/events", headers=consumer, params={"limit": "1000"})).json()
        async with client.stream("GET", "/events/live", headers=consumer) as live:
            events = frames(live)
            caught_up = await take(events, len(fed["events"]))
            # Live: an event of no unit of the consumer's, then one of party group 1.
            for units in ((demo_id("unit:sl-cd"),), (group,)):
                await store.append(
                    [
                        StreamWrite(
                            f"note-{uuid.uuid4()}", 0, [NewEvent(Noted(text="x"), units=units)]
                        )
                    ],
                    Metadata(),
                )
            (next_one,) = await take(events, 1)
    assert [e for _, e in caught_up] == fed["events"]
    assert len(caught_up) == 17  # test_feed_http writes them out (with one more role there)
    assert next_one[1]["tags"]["units"] == [str(group)]  # the union's never came
