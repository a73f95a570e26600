"""GET /events/live for a client that falls behind the shared tail (its queue fills) and for
one that waits: the first catches up from the store and misses nothing, the second gets
keep-alive comments (and a reader who may see nothing, only those)."""

from __future__ import annotations

import asyncio
from typing import Any

import asyncpg
import httpx
import pytest

from events.store import EventStore
from services.api import live
from tests.integration.test_live_http import frames, note, serving, take
from tests.org import bearer, make_user


async def test_a_client_whose_queue_fills_catches_up_and_misses_nothing(
    domain_store: EventStore,
    store: EventStore,
    pool: asyncpg.Pool[Any],
    dsn: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # A queue of 5 frames: a 700-event append offered in one go overflows it at once (and
    # more than a page of the store is read to catch up).
    monkeypatch.setattr(live, "QUEUE_FRAMES", 5)
    _, token = await make_user(domain_store, "admin")
    admin = bearer(token)
    async with serving(dsn, pool) as url, httpx.AsyncClient(base_url=url, timeout=30) as client:
        head = (await domain_store.head()) or ""
        async with client.stream(
            "GET", "/events/live", headers={**admin, "Last-Event-ID": head}
        ) as reader:
            events = frames(reader)
            await note(store, 700)
            burst = await asyncio.wait_for(take(events, 700), 30)
            await note(store, 3)  # and it follows the tail again afterwards
            after = await asyncio.wait_for(take(events, 3), 30)
        expected = (
            await client.get("/events", headers=admin, params={"after": head, "limit": "1000"})
        ).json()
    cursors = [i for i, _ in burst + after]
    assert cursors == [e["cursor"] for e in expected["events"]]
    assert [e["data"]["text"] for _, e in burst] == [str(n) for n in range(700)]


async def test_a_waiting_client_gets_keep_alives_and_a_reader_of_nothing_only_those(
    domain_store: EventStore,
    store: EventStore,
    pool: asyncpg.Pool[Any],
    dsn: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(live, "KEEP_ALIVE_SECONDS", 0.05)
    _, admin_token = await make_user(domain_store, "admin")
    _, roleless_token = await make_user(domain_store, None)  # signs in, may read no unit
    async with serving(dsn, pool) as url, httpx.AsyncClient(base_url=url, timeout=30) as client:
        heard: dict[str, list[str]] = {}
        for who, token in (("admin", admin_token), ("nobody", roleless_token)):
            async with client.stream("GET", "/events/live", headers=bearer(token)) as stream:
                lines = stream.aiter_lines()
                heard[who] = []
                while heard[who].count(": keep-alive") < 2:
                    line = await asyncio.wait_for(anext(lines), 30)
                    if line.startswith(":"):
                        heard[who].append(line)
                if who == "nobody":  # an event now is not for it: it hears only keep-alives
                    await note(store)
                    for _ in range(2):
                        line = await asyncio.wait_for(anext(lines), 30)
                        while line == "":
                            line = await asyncio.wait_for(anext(lines), 30)
                        heard[who].append(line)
    assert heard["admin"][:3] == [": connected", ": keep-alive", ": keep-alive"]
    assert heard["nobody"] == [": connected", *[": keep-alive"] * 4]
