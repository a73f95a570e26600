"""Followers are woken after commit instead of polling; polling stays as the fallback."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest

from events.follow import follow
from events.store import EventStore
from events.wakeup import WakeUpListener
from tests.support import METADATA, new_stream, write
from tests.waiting import until


class Watched(WakeUpListener):
    """A listener that tells when a follower has found nothing new and waits on its ticket."""

    def __init__(self, dsn: str) -> None:
        super().__init__(dsn)
        self.waiting = asyncio.Event()

    async def wait(self, ticket: asyncio.Event, timeout: float) -> bool:
        self.waiting.set()
        return await super().wait(ticket, timeout)

    async def next_wait(self) -> None:
        await asyncio.wait_for(self.waiting.wait(), 30)
        self.waiting.clear()


async def test_a_follower_is_woken_by_an_append_long_before_its_poll_interval(
    store: EventStore, dsn: str
) -> None:
    listener = Watched(dsn)
    await listener.start()
    start = await store.head()
    received: list[tuple[str, float]] = []

    async def run() -> None:
        async for event in follow(store, after=start, listener=listener, poll_seconds=60):
            received.append((event.stream_id, time.monotonic()))
            if len(received) == 2:
                return

    following = asyncio.create_task(run())
    await listener.next_wait()  # caught up: only a wake-up (or the 60 s poll) brings more
    stream = new_stream()
    sent = time.monotonic()
    await store.append([write(stream, 0, "one")], METADATA)
    await listener.next_wait()  # the first came; waiting again
    await store.append([write(stream, 1, "two")], METADATA)
    await asyncio.wait_for(following, timeout=10)
    await listener.close()
    assert [s for s, _ in received] == [stream, stream]
    assert received[-1][1] - sent < 5, "woken by the signal, not by the 60 s poll"


async def test_without_a_signal_the_follower_still_polls(
    store: EventStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    start = await store.head()
    stream = new_stream()
    reads = 0
    read_all = store.read_all

    async def counted(**query: Any) -> Any:
        nonlocal reads
        page = await read_all(**query)
        reads += 1
        return page

    monkeypatch.setattr(store, "read_all", counted)

    async def first_event() -> Any:
        async for event in follow(store, after=start, poll_seconds=0.1):
            return event

    waiting = asyncio.create_task(first_event())
    await until(lambda: reads >= 1, 30, "the follower's first (empty) read")
    await store.append([write(stream, 0, "polled")], METADATA)
    event = await asyncio.wait_for(waiting, timeout=10)
    assert event.stream_id == stream
    assert reads >= 2  # found by a later read: the poll


async def test_a_listener_that_lost_its_connection_reconnects_and_wakes_followers(
    store: EventStore, dsn: str, pool: Any
) -> None:
    listener = WakeUpListener(dsn, ping_seconds=0.2)
    await listener.start()
    ticket = listener.ticket()
    await pool.execute(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
        "WHERE application_name = 'campaign-ledger-listener' "
        "AND datname = current_database()"
    )
    assert await listener.wait(ticket, 10), "reconnecting wakes followers to catch up"
    ticket = listener.ticket()
    await store.append([write(new_stream(), 0, "after reconnect")], METADATA)
    assert await listener.wait(ticket, 10)
    await listener.close()
