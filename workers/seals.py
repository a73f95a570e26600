"""The sealer: a cron job of the worker that seals the log when SEAL_EVERY_EVENTS events wait
or SEAL_EVERY_SECONDS have passed since the last seal (with at least one event waiting).
One worker of the fleet runs it at a time (arq's `unique`), and sealers serialise in the
database besides, so a seal is never made twice."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import structlog

from events import sealing
from services.runtime.config import Settings

log = structlog.get_logger(__name__)

_DIVISORS_OF_A_MINUTE = (1, 2, 3, 4, 5, 6, 10, 12, 15, 20, 30, 60)


@dataclass(frozen=True)
class SealConfig:
    every_events: int = 1000
    every_seconds: int = 60

    @classmethod
    def from_settings(cls, settings: Settings) -> SealConfig:
        return cls(settings.seal_every_events, settings.seal_every_seconds)

    @property
    def check_every(self) -> int:
        """Seconds between two looks at what waits (a divisor of a minute, at most 10)."""
        return max(d for d in _DIVISORS_OF_A_MINUTE if d <= min(self.every_seconds, 10))

    def due(self, waiting: int, age: float | None) -> bool:
        """Whether to seal now: `waiting` events (counted up to `every_events`), the last seal
        made `age` seconds ago (None: no seal yet)."""
        if waiting == 0:
            return False
        return waiting >= self.every_events or age is None or age >= self.every_seconds


async def seal_log(ctx: dict[str, Any]) -> int:
    """Seal what waits when it is due; returns how many events were sealed."""
    config: SealConfig = ctx["seal_config"]
    waiting, age = await sealing.pending(ctx["pool"], cap=config.every_events)
    if not config.due(waiting, age):
        return 0
    made = await sealing.seal_now(ctx["pool"])
    if made:
        log.info(
            "sealed the log",
            seals=len(made),
            events=sum(seal.count for seal in made),
            seal=made[-1].seq,
            total=made[-1].total,
        )
    return sum(seal.count for seal in made)
