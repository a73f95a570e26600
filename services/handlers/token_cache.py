"""Authenticated tokens kept in memory for a short while, so that a request does not read the
token, its user and their roles from the database every time.

Correct only while this process hears of every change: a LISTEN connection on the channel the
triggers of migration 0015 notify whenever api_tokens, users or user_roles change (a token
issued or revoked, a person erased, a role granted or revoked). Any notice empties the whole
cache, so a revoked token stops at once in every process. While the connection is down (or
before it is up) nothing is cached; once it is back, the cache starts empty. A row read from
the database is kept only if no notice arrived while it was read; it is kept `ttl` seconds at
most in any case."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import OrderedDict
from typing import Any

import structlog
from prometheus_client import Counter

from events.wakeup import WakeUpListener

CHANNEL = "campaign_auth"
LOOKUPS = Counter(
    "campaign_token_lookups_total", "Bearer tokens looked up, by where the answer came from",
    ["source"],
)  # fmt: skip
log = structlog.get_logger(__name__)


class TokenCache:
    def __init__(
        self,
        dsn: str | None,
        *,
        ttl: float = 30.0,
        size: int = 10_000,
        ping_seconds: float = 2.0,
    ) -> None:
        self.ttl = ttl
        self.size = size
        self._listener = WakeUpListener(dsn, CHANNEL, ping_seconds) if dsn else None
        self._rows: OrderedDict[bytes, tuple[float, Any]] = OrderedDict()
        self._generation: asyncio.Event | None = None
        self._starter: asyncio.Task[None] | None = None
        self._started = False

    async def start(self) -> None:
        if self._listener is not None:
            self._starter = asyncio.get_running_loop().create_task(self._listen())

    async def _listen(self) -> None:
        assert self._listener is not None
        while True:
            try:
                await self._listener.start()
            except Exception as error:  # the database may be down: tokens are read each time
                log.warning("token cache not listening yet", error=f"{type(error).__name__}")
                await asyncio.sleep(1.0)
                continue
            self._started = True
            return

    async def close(self) -> None:
        if self._starter is not None:
            self._starter.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._starter
        if self._listener is not None and self._started:
            await self._listener.close()

    def forget(self) -> None:
        self._rows.clear()
        self._generation = None

    def generation(self) -> asyncio.Event | None:
        """What a lookup notes before reading the database, for `keep`; None: do not cache."""
        listener = self._listener
        if listener is None or not self._started or not listener.connected:
            self._rows.clear()
            return None
        current = listener.ticket()
        if current is not self._generation:  # a notice (or a reconnect) since the last look
            self._rows.clear()
            self._generation = current
        return current

    def get(self, token_hash: bytes) -> Any | None:
        if self.generation() is None:
            return None
        found = self._rows.get(token_hash)
        if found is None:
            return None
        stored_at, row = found
        if time.monotonic() - stored_at > self.ttl:
            del self._rows[token_hash]
            return None
        LOOKUPS.labels("cache").inc()
        return row

    def keep(self, token_hash: bytes, row: Any, generation: asyncio.Event | None) -> None:
        LOOKUPS.labels("database").inc()
        if generation is None or generation is not self.generation():
            return  # something changed while the row was read: it may be stale already
        self._rows[token_hash] = (time.monotonic(), row)
        self._rows.move_to_end(token_hash)
        while len(self._rows) > self.size:
            self._rows.popitem(last=False)
