"""The worker process: the deadline engine, webhook delivery and the sealer on one arq
worker, kept alive through outages.

`run` is the process's whole life. While Redis answers it runs the arq worker; when the worker
ends on an error (Redis gone, PostgreSQL gone at startup) it is not the end: with Redis away the
worker falls back to PostgreSQL alone (`fallback`: every POLL_SECONDS it records the deadline
steps that are due and delivers the webhooks that are due, in this process, exactly as the
reconciler and the dispatcher know them), then hands back to arq as soon as Redis answers; with
PostgreSQL away it waits (capped, jittered backoff) and starts again. Only a signal stops it.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import structlog

import events.domain  # noqa: F401 - registers every domain event
from events.store import EventStore, create_pool
from services.runtime.config import Settings
from services.runtime.probes import ProbeServer
from workers import deadlines, queue, seals, webhooks

log = structlog.get_logger(__name__)

Clock = Callable[[], datetime]

POLL_SECONDS = 1.0
"""How often the fallback looks for due steps and deliveries, and whether Redis is back."""
BACKOFF_SECONDS = 0.5
BACKOFF_MAX_SECONDS = 10.0


def _now() -> datetime:
    return datetime.now(UTC)


@dataclass
class State:
    """What the worker process is doing, for its readiness probe."""

    mode: str = "starting"
    """`arq`, `fallback` (Redis away: PostgreSQL alone) or `waiting` (restarting after an
    error)."""
    ctx: dict[str, Any] = field(default_factory=dict)
    store: EventStore | None = None


def build(
    settings: Settings, name: str, clock: Clock = _now, tick: int = 60, state: State | None = None
) -> Any:
    """The arq Worker; `tick` is how often the deadline scheduler and reconciler run (s)."""
    database_url, redis_url = settings.require_database(), settings.require_redis()
    delivery = webhooks.DeliveryConfig.from_settings(settings)
    sealer = seals.SealConfig.from_settings(settings)
    state = state if state is not None else State()

    async def startup(ctx: dict[str, Any]) -> None:
        ctx["pool"] = await create_pool(
            database_url, min_size=1, max_size=deadlines.RECONCILE_CONCURRENCY + 4
        )
        ctx["store"] = EventStore(ctx["pool"])
        ctx["clock"] = clock
        ctx["seal_config"] = sealer
        await webhooks.start(ctx, database_url, delivery)
        state.ctx, state.mode = ctx, "arq"
        log.info("worker started", worker=name)

    async def shutdown(ctx: dict[str, Any]) -> None:
        await webhooks.stop(ctx)
        if (store := ctx.pop("store", None)) is not None:
            await store.close()
        if (pool := ctx.pop("pool", None)) is not None:
            await pool.close()

    built = queue.worker(
        redis_url,
        name,
        [deadlines.deadline_step],
        [
            queue.every(deadlines.schedule_due_steps, tick),
            queue.every(deadlines.reconcile, tick, offset=tick // 2),
            queue.every(seals.seal_log, sealer.check_every),
        ],
        on_startup=startup,
        on_shutdown=shutdown,
        unkept=[webhooks.deliver_webhooks],
    )
    built.ctx["shutdown"] = shutdown
    return built


async def run(settings: Settings, name: str, clock: Clock = _now, tick: int = 60) -> int:
    """Run the worker until a signal stops it, whatever Redis and PostgreSQL do meanwhile."""
    redis_url = settings.require_redis()
    stopped = asyncio.Event()
    state = State()
    probes = await _probes(settings, name, state)
    backoff = Backoff()
    try:
        while not stopped.is_set():
            worker = build(settings, name, clock, tick, state)
            queue.tell_on_signals(worker, stopped.set)
            failure: BaseException | None = None
            started = time.monotonic()
            try:
                await worker.async_run()
            except asyncio.CancelledError:
                pass
            except Exception as error:  # the worker ends; the process does not
                failure = error
            finally:
                state.mode = "waiting"
                await queue.close(worker)
                with contextlib.suppress(Exception):
                    await worker.ctx["shutdown"](worker.ctx)
                state.ctx = {}
            if stopped.is_set() or failure is None:
                break
            if time.monotonic() - started > 60:
                backoff.reset()
            _stop_on_signals(stopped)
            if not await queue.reachable(redis_url):
                log.warning(
                    "Redis unavailable; recording deadline steps and delivering webhooks "
                    "from PostgreSQL alone until it returns",
                    error=f"{type(failure).__name__}: {failure}",
                )
                await fallback(settings, clock, stopped, state)
                if not stopped.is_set():
                    log.info("Redis answers again; handing back to arq")
                backoff.reset()
            else:
                delay = backoff.next()
                log.warning(
                    "worker stopped on an error; starting again",
                    error=f"{type(failure).__name__}: {failure}",
                    retry_in=round(delay, 2),
                )
                await _wait(stopped, delay)
    finally:
        if probes is not None:
            await probes.close()
    return 0


async def fallback(settings: Settings, clock: Clock, stopped: asyncio.Event, state: State) -> None:
    """Without Redis: record the due deadline steps, deliver the due webhooks and seal the log
    from PostgreSQL alone, every POLL_SECONDS, until Redis answers again or a signal comes.
    Exactly once as with arq: a step is recorded under its deterministic idempotency key, a
    delivery holds its subscription's lease. PostgreSQL away too: waited out, logged once."""
    database_url, redis_url = settings.require_database(), settings.require_redis()
    delivery = webhooks.DeliveryConfig.from_settings(settings)
    sealer = seals.SealConfig.from_settings(settings)
    clients = webhooks.Clients(delivery.timeout)
    pool: Any = None
    store: EventStore | None = None
    backoff = Backoff()
    database_away: float | None = None
    state.mode = "fallback"
    try:
        while not stopped.is_set():
            if await queue.reachable(redis_url):
                return
            delay = POLL_SECONDS
            try:
                if store is None:
                    pool = await create_pool(
                        database_url, min_size=1, max_size=deadlines.RECONCILE_CONCURRENCY + 4
                    )
                    store = state.store = EventStore(pool)
                ctx = {"store": store, "clock": clock, "pool": pool, "seal_config": sealer}
                recorded = await deadlines.reconcile(ctx, grace=timedelta(0))
                delivered = await webhooks.deliver_due(store, clients, delivery, stopped.is_set)
                await seals.seal_log(ctx)  # sealers serialise in the database
                if recorded or delivered:
                    log.info("fallback round", steps_recorded=recorded, events_delivered=delivered)
                if database_away is not None:
                    log.info(
                        "database reachable again",
                        outage_seconds=round(time.monotonic() - database_away, 1),
                    )
                    database_away = None
                backoff.reset()
            except Exception as error:  # PostgreSQL away (or one round failing): try again
                if database_away is None:
                    database_away = time.monotonic()
                    log.warning(
                        "fallback round failed; retrying",
                        error=f"{type(error).__name__}: {error}",
                    )
                delay = max(delay, backoff.next())
            await _wait(stopped, delay)
    finally:
        state.store = None
        await clients.aclose()
        if store is not None:
            with contextlib.suppress(Exception):
                await store.close()
        if pool is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(pool.close(), 5)


class Backoff:
    """Capped, jittered exponential delays."""

    def __init__(self) -> None:
        self.failures = 0

    def next(self) -> float:
        self.failures += 1
        ceiling = min(BACKOFF_MAX_SECONDS, BACKOFF_SECONDS * 2 ** (self.failures - 1))
        return float(ceiling * (0.5 + random.random() / 2))

    def reset(self) -> None:
        self.failures = 0


async def _wait(stopped: asyncio.Event, seconds: float) -> None:
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stopped.wait(), seconds)


def _stop_on_signals(stopped: asyncio.Event) -> None:
    """Between arq workers (falling back, waiting): a signal stops the process at once."""
    import signal

    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stopped.set)


async def _probes(settings: Settings, name: str, state: State) -> ProbeServer | None:
    """The probes live as long as the process (not one arq worker): alive through outages,
    ready when PostgreSQL answers and the worker records steps (through arq or its fallback)."""
    if settings.metrics_port is None:
        return None

    async def ready() -> tuple[bool, dict[str, Any]]:
        details: dict[str, Any] = {"worker": name, "mode": state.mode}
        if state.mode == "arq":
            await state.ctx["store"].ping()
            await state.ctx["redis"].ping()
            dispatching = webhooks.running(state.ctx)
            return dispatching, {**details, "webhook_dispatcher": dispatching}
        if state.mode == "fallback" and state.store is not None:
            await state.store.ping()
            return True, details
        return False, details

    probes = ProbeServer(settings.host, settings.metrics_port, "worker", ready)
    await probes.start()
    return probes
