"""Read-your-writes: a read that carries the cursor a command returned waits for the projector.

The token comes as `?after=` or a `Consistency-Token` header. The read waits up to
`WAIT_SECONDS` until no projected read model has an event at or before the token left to apply,
then answers; past that it answers with what the projection has and the header
`Consistency: stale`.
"""

from __future__ import annotations

import asyncio
import time

from events.cursor import Cursor
from events.errors import CursorFromAnotherEpoch
from events.store import EventStore
from projections.registry import PROJECTED

WAIT_SECONDS = 2.0
POLL_SECONDS = 0.02


async def wait_for_projection(store: EventStore, token: str | None) -> dict[str, str]:
    """The headers to answer with: `{}` when the projection has passed the token."""
    if token is None:
        return {}
    cursor = Cursor.decode(token)
    # Read afresh, as the feed does: a process that has not read since a restore would still
    # hold the old epoch, and take a cursor from before the restore for one of now.
    current = await store.epoch(refresh=True)
    if cursor.epoch != current:
        raise CursorFromAnotherEpoch(cursor.epoch, current)
    deadline = time.monotonic() + WAIT_SECONDS
    while await _behind(store, (cursor.tx_id, cursor.position)):
        if time.monotonic() >= deadline:
            return {"Consistency": "stale"}
        await asyncio.sleep(POLL_SECONDS)
    return {}


async def _behind(store: EventStore, upto: tuple[int, int]) -> bool:
    """Whether a projected read model has yet to apply an event at or before `upto`."""
    for model in PROJECTED:
        if await model.has_unapplied(store, upto):
            return True
    return False
