"""Followers are woken after commit instead of polling; polling stays as the fallback."""

from __future__ import annotations

import asyncio
import time
from typing import Any

from events.follow import follow
from events.store import EventStore
from events.wakeup import WakeUpListener
from tests.support import METADATA, new_stream, write


async def test_a_follower_is_woken_by_an_append_long_before_its_poll_interval(
    store: EventStore, dsn: str
) -> None:
    listener = WakeUpListener(dsn)
    await listener.start()
    start = await store.head()
    received: list[tuple[str, float]] = []

    async def run() -> None:
        async for event in follow(store, after=start, listener=listener, poll_seconds=60):
            received.append((event.stream_id, time.monotonic()))
            if len(received) == 2:
                return

    following = asyncio.create_task(run())
    await asyncio.sleep(0.3)  # the follower is now waiting on its ticket
    stream = new_stream()
    sent = time.monotonic()
    await store.append([write(stream, 0, "one")], METADATA)
    await asyncio.sleep(0.2)
    await store.append([write(stream, 1, "two")], METADATA)
    await asyncio.wait_for(following, timeout=10)
    await listener.close()
    assert [s for s, _ in received] == [stream, stream]
    assert received[-1][1] - sent < 5, "woken by the signal, not by the 60 s poll"


async def test_without_a_signal_the_follower_still_polls(store: EventStore) -> None:
    start = await store.head()
    stream = new_stream()

    async def first_event() -> Any:
        async for event in follow(store, after=start, poll_seconds=0.1):
            return event

    waiting = asyncio.create_task(first_event())
    await asyncio.sleep(0.3)
    await store.append([write(stream, 0, "polled")], METADATA)
    event = await asyncio.wait_for(waiting, timeout=10)
    assert event.stream_id == stream


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
