"""A live-feed client that stops taking frames while events pour in: it leaves the shared tail
once its queue is full, catches up from the store when it reads again and misses nothing,
while a client that keeps reading stays on the tail and gets every event as it comes.

Driven at the stream's generator (what the HTTP response sends, frame for frame): over a
socket, the kernel's and the server's buffers would take the frames of a client that reads
nothing, and the slow path would never be reached."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any

import asyncpg

from events.store import EventStore
from services.api import live
from services.handlers.auth import actor_of
from services.handlers.reach import feed_scope
from tests.integration.test_live_http import note
from tests.org import make_user
from tests.waiting import until

BURST = live.QUEUE_FRAMES + 2 * live.PAGE
"""More events than a client's queue holds (QUEUE_FRAMES) beside the first chunk it takes (up
to a page), in pages the tail reads one by one."""


def cursors(chunk: bytes) -> list[str]:
    """The `id` of each SSE frame in a chunk the stream sends (comments have none)."""
    return [
        line[4:].decode()
        for part in chunk.split(b"\n\n")
        for line in part.split(b"\n")
        if line.startswith(b"id: ")
    ]


async def read(stream: AsyncIterator[bytes], into: list[str], count: int) -> None:
    while len(into) < count:
        into.extend(cursors(await anext(stream)))


async def test_a_client_that_stops_reading_leaves_the_tail_and_catches_up_from_the_store(
    store: EventStore, domain_store: EventStore, pool: asyncpg.Pool[Any], dsn: str
) -> None:
    admin_id, _ = await make_user(domain_store, "admin")
    actor = await actor_of(pool, admin_id)
    wanted = live.Filter(scope=await feed_scope(pool, actor))
    hub = live.Hub(store, dsn)
    await hub.start()
    head = await store.head()
    slow, brisk = (live._events(store, hub, head, wanted) for _ in range(2))
    brisk_got: list[str] = []
    slow_got: list[str] = []
    reading: asyncio.Task[None] | None = None
    try:
        for stream in (slow, brisk):
            assert await anext(stream) == b": connected\n\n"
        reading = asyncio.create_task(read(brisk, brisk_got, BURST + 1))
        first = asyncio.create_task(anext(slow))  # takes the first frames, then reads no more
        await until(lambda: len(hub.subscribers) == 2, 30, "both clients on the tail")
        for _ in range(BURST // live.PAGE):
            await note(store, live.PAGE)
        await until(lambda: len(brisk_got) >= BURST, 60, "the brisk client's events")
        on_tail_after_burst = len(hub.subscribers)
        slow_got.extend(cursors(await first))
        await asyncio.wait_for(read(slow, slow_got, BURST), 60)
        await note(store)  # one more, live, for both
        await asyncio.wait_for(read(slow, slow_got, BURST + 1), 30)
        await asyncio.wait_for(reading, 30)
    finally:
        if reading is not None:
            reading.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await reading
        for stream in (slow, brisk):
            await stream.aclose()  # type: ignore[attr-defined]
        await hub.close()
    every = [e.cursor for e in (await store.read_all(after=head, limit=BURST + 10)).events]
    assert len(every) == BURST + 1
    assert on_tail_after_burst == 1  # the slow client left the tail; the brisk one stayed
    assert brisk_got == every  # every event, in order, once
    assert slow_got == every  # caught up from the store: no gap, nothing twice, then live again
