"""The projector: follows the store's feed and keeps one projected read model in step (any
model of `projections/registry.py` whose mode is `projector`: `task_facts` today).

Rows and the checkpoint are written in one transaction, guarded by the owner epoch the projector
claimed (compare-and-set): once a standby has taken over (the active one stopped heart-beating),
a stale projector's next write is refused and it stops. It wakes on the store's signal and
polls as a fallback.

A standby waits on the projection's advisory lock (a blocking `pg_advisory_lock` on a connection
of its own), so it takes over the moment the active one's connection goes. Any database error,
active or standing by, is retried with capped, jittered backoff (`services/runtime/reconnect.py`)
for as long as the database is away; the projector then claims again and resumes from the
stored checkpoint, fenced as before.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import time
import uuid
from collections.abc import Callable
from typing import Any

import asyncpg
import structlog
from prometheus_client import Gauge

from events.cursor import Cursor
from events.store import DbConnection, EventStore
from events.wakeup import WakeUpListener
from projections.projected import ProjectedModel
from services.runtime.reconnect import Outage, ReconnectPolicy, after_failure, after_success

log = structlog.get_logger(__name__)

LAG_EVENTS = Gauge(
    "campaign_projector_lag_events",
    "Events the projector has not applied yet",
    ["projection"],
    multiprocess_mode="mostrecent",  # measured by every API process alike
)
LAG_SECONDS = Gauge(
    "campaign_projector_lag_seconds",
    "Age of the oldest event not yet applied (0 when caught up)",
    ["projection"],
    multiprocess_mode="mostrecent",  # measured by every API process alike
)
WAITING_FOR_DATABASE = Gauge(
    "campaign_projector_waiting_for_database",
    "1 while the projector cannot reach the database and retries, else 0",
    ["projection"],
)

DATABASE_ERRORS: tuple[type[BaseException], ...] = (
    asyncpg.PostgresError,
    asyncpg.InterfaceError,
    asyncpg.InternalClientError,
    OSError,  # ConnectionError included
    TimeoutError,
)
"""What a database that went away, or answers badly for a while, raises through asyncpg."""

LOCK_SETTINGS = {"client_connection_check_interval": "1000"}
"""A session queued on the lock notices within a second that its client went."""


def _upsert(model: ProjectedModel) -> str:
    return (
        f"INSERT INTO {model.table} ({', '.join(model.columns)}) VALUES "
        f"({', '.join(f'${i}' for i in range(1, len(model.columns) + 1))}) "
        f"ON CONFLICT ({model.key}) DO UPDATE SET "
        + ", ".join(f"{c} = EXCLUDED.{c}" for c in model.columns if c != model.key)
    )


async def measure_lag(
    store: EventStore, model: ProjectedModel, position: tuple[int, int] | None = None
) -> None:
    """Set the lag gauges from `position`, or from the stored checkpoint (any process may ask)."""
    backlog = await model.backlog(store, position)
    LAG_EVENTS.labels(model.name).set(backlog.events)
    oldest = backlog.oldest_at
    LAG_SECONDS.labels(model.name).set(
        0 if oldest is None else max(0.0, time.time() - oldest.timestamp())
    )


class Fenced(Exception):
    """Another projector claimed the projection: this one must stop writing."""


class Projector:
    def __init__(
        self,
        store: EventStore,
        model: ProjectedModel,
        *,
        owner: str | None = None,
        stale_after: float = 15.0,
        batch: int = 500,
        lock_dsn: str | None = None,
    ) -> None:
        self.store = store
        self.model = model
        self.name = model.name
        self.upsert = _upsert(model)
        self.pool = store.pool
        self.owner = owner or f"projector-{uuid.uuid4().hex[:8]}"
        self.stale_after = stale_after
        self.batch = batch
        self.owner_epoch: int | None = None
        self.position: tuple[int, int] = (0, 0)
        self.lock_dsn = lock_dsn
        self._lock: asyncpg.Connection[Any] | None = None
        self._lock_waiter: asyncio.Task[None] | None = None
        self._measure_at = 0.0
        self.outage: Outage | None = None
        """The database outage this projector is riding out, if any."""

    @property
    def waiting_for_database(self) -> bool:
        return self.outage is not None

    @property
    def _lock_key(self) -> str:
        return f"projector:{self.name}"

    async def _take_lock(self) -> bool:
        """Hold the projection's session lock, on a connection of its own, if it is free; else
        queue for it in the background (`_lock_waiter`), so that it is ours the moment its
        holder lets go.

        PostgreSQL releases the lock the moment its holder's connection closes, so a standby
        takes over from a crashed projector at once instead of waiting for its heartbeat to
        grow stale. Correctness does not rest on it: every write is fenced by `owner_epoch`.
        Without a `lock_dsn` the projector goes by heartbeats alone.
        """
        if self._lock is not None:
            return True
        waiter = self._lock_waiter
        if waiter is not None:
            if not waiter.done():
                return False
            self._lock_waiter = None
            waiter.result()  # a database error the wait ran into is this projector's
            return self._lock is not None
        if self.lock_dsn is None:
            return False
        connection = await asyncpg.connect(self.lock_dsn, server_settings=LOCK_SETTINGS)
        try:
            locked = await connection.fetchval(
                "SELECT pg_try_advisory_lock(hashtextextended($1, 0))", self._lock_key
            )
        except BaseException:
            connection.terminate()
            raise
        if locked:
            self._lock = connection
            return True
        self._lock_waiter = asyncio.get_running_loop().create_task(self._queue_for(connection))
        return False

    async def _queue_for(self, connection: asyncpg.Connection[Any]) -> None:
        """Block on the lock until its holder lets go (or this task is cancelled)."""
        try:
            await connection.execute(
                "SELECT pg_advisory_lock(hashtextextended($1, 0))", self._lock_key
            )
        except BaseException:
            connection.terminate()  # the server drops the queued request with the session
            raise
        self._lock = connection

    async def _lock_taken(self) -> None:
        """Returns when the queued lock request is granted (or failed), never if none is."""
        waiter = self._lock_waiter
        if waiter is None:
            await asyncio.Event().wait()
            return
        await asyncio.wait({waiter})

    async def _drop_lock(self) -> None:
        waiter, self._lock_waiter = self._lock_waiter, None
        if waiter is not None:
            waiter.cancel()
            with contextlib.suppress(asyncio.CancelledError, *DATABASE_ERRORS):
                await waiter
        connection, self._lock = self._lock, None
        if connection is not None:
            try:
                await asyncio.wait_for(connection.close(), 2)  # its session's lock goes with it
            except DATABASE_ERRORS:
                connection.terminate()

    async def claim(self) -> bool:
        """Become the active projector when the projection's lock is free (its holder is gone),
        when no one owns it, or when the owner stopped heart-beating (frozen, cut off)."""
        await self.pool.execute(
            "INSERT INTO projector_checkpoints (name) VALUES ($1) ON CONFLICT DO NOTHING", self.name
        )
        locked = await self._take_lock()
        row = await self.pool.fetchrow(
            """UPDATE projector_checkpoints
               SET owner_epoch = owner_epoch + 1, owner = $2, heartbeat_at = now()
               WHERE name = $1 AND ($4 OR owner IS NULL OR owner = $2
                                    OR heartbeat_at < now() - make_interval(secs => $3))
               RETURNING owner_epoch, tx_id, position""",
            self.name,
            self.owner,
            self.stale_after,
            locked,
        )
        if row is None:
            return False
        self.owner_epoch = row["owner_epoch"]
        self.position = (row["tx_id"], row["position"])
        log.info(
            "projector active", projection=self.name, owner=self.owner, owner_epoch=self.owner_epoch
        )
        return True

    async def step(self) -> int:
        """Apply the next page of events; returns how many were applied."""
        if self.owner_epoch is None:
            raise Fenced("this projector has not claimed the projection")
        epoch = await self.store.epoch(refresh=True)
        after = Cursor(epoch, *self.position).encode() if self.position != (0, 0) else None
        page = await self.store.read_all(
            after=after, limit=self.batch, categories=[self.model.category], decode=True
        )
        events = page.events
        last = events[-1].tx_id_position() if events else self.position
        try:
            await self._write(events, last, epoch)
        except Fenced:
            self.owner_epoch = None
            await self._drop_lock()
            raise
        self.position = last
        return len(events)

    async def _write(self, events: list[Any], last: tuple[int, int], epoch: str) -> None:
        """The rows and the checkpoint in one transaction, refused once fenced."""
        async with self.pool.acquire() as connection, connection.transaction():
            if events:
                await self._apply(connection, events)
            updated = await connection.fetchval(
                """UPDATE projector_checkpoints
                   SET tx_id = $3, position = $4, epoch = $5, heartbeat_at = now(),
                       events = events + $6
                   WHERE name = $1 AND owner_epoch = $2 RETURNING 1""",
                self.name,
                self.owner_epoch,
                last[0],
                last[1],
                epoch,
                len(events),
            )
            if updated is None:
                raise Fenced(f"{self.owner} lost the projection to another projector")

    async def _apply(self, connection: DbConnection, events: list[Any]) -> None:
        model = self.model
        keys = list(dict.fromkeys(model.key_of(e.stream_id) for e in events))
        rows: dict[Any, Any] = dict.fromkeys(keys)
        for record in await connection.fetch(
            f"SELECT {', '.join(model.columns)} FROM {model.table} "
            f"WHERE {model.key} = ANY($1::uuid[])",
            keys,
        ):
            rows[record[model.key]] = model.from_record(record)
        for event in events:
            key = model.key_of(event.stream_id)
            rows[key] = model.apply(rows[key], event.data)
        await connection.executemany(
            self.upsert, [model.values(row) for row in rows.values() if row is not None]
        )

    async def catch_up_to_the_end(self, pause: float = 0.05) -> int:
        """Catch up with every event of the model's category committed so far. The feed holds
        events back while an older transaction anywhere in the cluster is open, so a short page
        is not the end."""
        end = await self.store.last_position([self.model.category])
        applied = await self.catch_up()
        while end is not None and self.position < end:
            await asyncio.sleep(pause)
            applied += await self.catch_up()
        return applied

    async def catch_up(self) -> int:
        applied = 0
        while True:
            count = await self.step()
            applied += count
            if count < self.batch:
                return applied

    async def release(self) -> None:
        try:
            if self.owner_epoch is not None:
                await self.pool.execute(
                    "UPDATE projector_checkpoints SET owner = NULL "
                    "WHERE name = $1 AND owner_epoch = $2",
                    self.name,
                    self.owner_epoch,
                )
                self.owner_epoch = None
        finally:
            await self._drop_lock()

    async def measure_lag(self) -> None:
        await measure_lag(self.store, self.model, self.position)

    async def run(
        self,
        stop: asyncio.Event,
        listener: WakeUpListener | None = None,
        poll_seconds: float = 1.0,
        policy: ReconnectPolicy | None = None,
        jitter: Callable[[], float] = random.random,
    ) -> None:
        """Stand by until this projector may claim the projection, then follow the feed; ride
        out any database outage on the way (`policy`: how long to wait between attempts)."""
        policy = policy or ReconnectPolicy()
        WAITING_FOR_DATABASE.labels(self.name).set(0)
        try:
            while not stop.is_set():
                try:
                    await self._round(stop, listener, poll_seconds)
                except DATABASE_ERRORS as error:
                    retry = after_failure(policy, self.outage, time.monotonic(), jitter())
                    self.outage = retry.outage
                    if retry.announce:
                        WAITING_FOR_DATABASE.labels(self.name).set(1)
                        log.warning(
                            "projector waiting for the database",
                            projection=self.name,
                            owner=self.owner,
                            error=f"{type(error).__name__}: {error}",
                        )
                    # Claim again once it answers: the checkpoint, not memory, says where to
                    # resume (a commit whose answer was lost), and someone may have taken over.
                    self.owner_epoch = None
                    await self._drop_lock()
                    # Connections idle in the pool died with the server: open fresh ones, or
                    # each would fail once after the return and count as a new outage.
                    await self.pool.expire_connections()
                    await _sleep_unless(stop, retry.delay)
        finally:
            WAITING_FOR_DATABASE.labels(self.name).set(0)
            with contextlib.suppress(*DATABASE_ERRORS):
                await asyncio.wait_for(self.release(), 5)
            await self._drop_lock()

    def _reached_the_database(self) -> None:
        recovered = after_success(self.outage, time.monotonic())
        if recovered is not None:
            self.outage = None
            WAITING_FOR_DATABASE.labels(self.name).set(0)
            log.info(
                "projector reached the database again",
                projection=self.name,
                owner=self.owner,
                outage_seconds=round(recovered.seconds, 3),
                attempts=recovered.failures,
                active=self.owner_epoch is not None,
            )

    async def _round(
        self, stop: asyncio.Event, listener: WakeUpListener | None, poll_seconds: float
    ) -> None:
        """One claim (standing by) or one step (active), then the wait before the next."""
        if self.owner_epoch is None:
            claimed = await self.claim()
            self._reached_the_database()
            if not claimed:
                # Stand by: woken the moment the lock is ours, or to look at the heartbeat.
                await _first_of(stop.wait(), self._lock_taken(), timeout=self.stale_after / 3)
                return
        ticket = listener.ticket() if listener else None
        try:
            applied = await self.step()
        except Fenced as fenced:
            self._reached_the_database()
            log.warning("projector fenced; standing by", reason=str(fenced))
            # A rebuild leaves the projection to whoever claims it first; another
            # projector took it over: let it take the lock we let go (no ping-pong).
            if await self.pool.fetchval(
                "SELECT owner FROM projector_checkpoints WHERE name = $1", self.name
            ):
                await _sleep_unless(stop, self.stale_after)
            return
        self._reached_the_database()
        # Active after taking over from a frozen one: hold the lock once it lets go.
        await self._take_lock()
        if time.monotonic() >= self._measure_at:
            self._measure_at = time.monotonic() + 1.0
            await self.measure_lag()
        if applied < self.batch:
            waiter = (
                listener.wait(ticket, poll_seconds)
                if listener and ticket
                else asyncio.sleep(poll_seconds)
            )
            await _first_of(stop.wait(), waiter)


async def _first_of(*waits: Any, timeout: float | None = None) -> None:
    """Wait until the first of `waits` (awaitables) is done, or `timeout`; cancel the rest."""
    tasks = [asyncio.ensure_future(w) for w in waits]
    try:
        await asyncio.wait(tasks, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


async def _sleep_unless(stop: asyncio.Event, seconds: float) -> None:
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), seconds)
