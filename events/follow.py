"""Follow the global feed from a cursor: read, and when caught up, wait for a wake-up or poll."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

from events.envelope import RecordedEvent
from events.store import EventStore
from events.wakeup import WakeUpListener


async def follow(
    store: EventStore,
    *,
    after: str | None = None,
    listener: WakeUpListener | None = None,
    poll_seconds: float = 1.0,
    batch: int = 500,
    **filters: Any,
) -> AsyncIterator[RecordedEvent]:
    """Every visible event after `after`, in feed order, once each, forever."""
    cursor = after
    while True:
        ticket = listener.ticket() if listener is not None else None
        page = await store.read_all(after=cursor, limit=batch, **filters)
        for event in page.events:
            yield event
        cursor = page.next
        if len(page.events) < batch:
            if listener is not None and ticket is not None:
                await listener.wait(ticket, poll_seconds)
            else:
                await asyncio.sleep(poll_seconds)
