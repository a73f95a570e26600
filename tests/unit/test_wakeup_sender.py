"""A burst of appends during one NOTIFY is folded into a single follow-up signal."""

from __future__ import annotations

import asyncio
from typing import Any

from events.wakeup import WakeUpSender


class SlowNotifyPool:
    """Stands in for the pool's execute; only counts and holds the NOTIFY calls."""

    def __init__(self) -> None:
        self.sent = 0
        self.release = asyncio.Event()

    async def execute(self, *_: Any) -> None:
        self.sent += 1
        await self.release.wait()


async def test_signals_during_a_notify_coalesce_into_one_more() -> None:
    pool = SlowNotifyPool()
    sender = WakeUpSender(pool, "channel")  # type: ignore[arg-type]
    for _ in range(50):
        sender.signal()
        await asyncio.sleep(0)
    assert pool.sent == 1
    pool.release.set()
    await sender.close()
    assert pool.sent == 2
    sender.signal()
    await sender.close()
    assert pool.sent == 3
