"""Wake-ups for followers: NOTIFY after commit (coalesced per process), LISTEN on one connection.

A NOTIFY inside the append transaction would take a cluster-wide lock through the commit flush,
so the signal goes out after commit, one at a time: appends that finish while a NOTIFY is in
flight are folded into a single follow-up. Signals are hints; followers re-read the store and
still poll now and then, because a signal can be lost with a dropped connection.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

import asyncpg
import structlog

from events import metrics

log = structlog.get_logger(__name__)


class WakeUpSender:
    """At most one NOTIFY in flight and at most one per `min_interval` seconds: a burst of
    appends costs followers at most that much latency and the writers almost nothing."""

    def __init__(self, pool: asyncpg.Pool[Any], channel: str, min_interval: float = 0.01) -> None:
        self._pool = pool
        self._channel = channel
        self._min_interval = min_interval
        self._task: asyncio.Task[None] | None = None
        self._again = False
        self._last_sent = float("-inf")

    def signal(self) -> None:
        if self._task is not None and not self._task.done():
            self._again = True
            return
        self._again = False
        self._task = asyncio.get_running_loop().create_task(self._send())

    async def _send(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            await asyncio.sleep(max(0.0, self._last_sent + self._min_interval - loop.time()))
            self._again = False
            self._last_sent = loop.time()
            try:
                await self._pool.execute("SELECT pg_notify($1, '')", self._channel)
                metrics.WAKE_UPS_SENT.inc()
            except Exception as error:  # best effort: asyncpg's client errors included
                log.warning("wake-up not sent; followers will poll", error=repr(error))
            if not self._again:
                return

    async def close(self) -> None:
        if self._task is not None:
            with contextlib.suppress(asyncio.CancelledError):
                await self._task


class WakeUpListener:
    """One long-lived LISTEN connection per process, shared by every follower in it.

    A follower takes a `ticket()` before reading the store and, when it found nothing new,
    waits on that ticket: a wake-up that arrives between its read and its wait is not lost.
    """

    def __init__(self, dsn: str, channel: str = "campaign_events", ping_seconds: float = 10.0):
        self._dsn = dsn
        self._channel = channel
        self._ping_seconds = ping_seconds
        self._connection: asyncpg.Connection[Any] | None = None
        self._event = asyncio.Event()
        self._keeper: asyncio.Task[None] | None = None
        self.connected = False

    async def start(self) -> None:
        await self._connect()
        self._keeper = asyncio.get_running_loop().create_task(self._keep_alive())

    async def close(self) -> None:
        if self._keeper is not None:
            self._keeper.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._keeper
        if self._connection is not None:
            with contextlib.suppress(Exception):
                await self._connection.close(timeout=2)
        self.connected = False

    def ticket(self) -> asyncio.Event:
        return self._event

    async def wait(self, ticket: asyncio.Event, timeout: float) -> bool:
        """Wait for a wake-up after `ticket` was taken; False when the timeout passed first."""
        try:
            await asyncio.wait_for(ticket.wait(), timeout)
        except TimeoutError:
            return False
        return True

    def _wake(self, *_: Any) -> None:
        event, self._event = self._event, asyncio.Event()
        event.set()

    async def _connect(self) -> None:
        connection = await asyncpg.connect(
            self._dsn, server_settings={"application_name": "campaign-ledger-listener"}
        )
        await connection.add_listener(self._channel, self._wake)
        self._connection = connection
        self.connected = True

    async def _keep_alive(self) -> None:
        # A dropped connection is only noticed by the next query: ping, and after a reconnect
        # wake everyone, since signals sent meanwhile are gone.
        while True:
            await asyncio.sleep(self._ping_seconds)
            try:
                assert self._connection is not None
                await self._connection.fetchval("SELECT 1", timeout=self._ping_seconds)
            except (
                asyncpg.PostgresError,
                OSError,
                asyncpg.InterfaceError,
                TimeoutError,
                AssertionError,
            ) as error:
                self.connected = False
                log.warning("wake-up listener lost its connection; reconnecting", error=str(error))
                with contextlib.suppress(Exception):
                    if self._connection is not None:
                        self._connection.terminate()
                try:
                    await self._connect()
                except Exception as again:  # whatever it is, the keeper lives on and retries
                    log.warning("wake-up listener could not reconnect", error=repr(again))
                    continue
                self._wake()
