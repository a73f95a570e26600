"""The worker process: the deadline engine, webhook delivery and the sealer on one arq
worker."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import structlog

import events.domain  # noqa: F401 - registers every domain event
from events.store import EventStore, create_pool
from services.runtime.config import Settings
from services.runtime.probes import ProbeServer
from workers import deadlines, queue, seals, webhooks

log = structlog.get_logger(__name__)

Clock = Callable[[], datetime]


def _now() -> datetime:
    return datetime.now(UTC)


def build(settings: Settings, name: str, clock: Clock = _now, tick: int = 60) -> Any:
    """The arq Worker; `tick` is how often the deadline scheduler and reconciler run (s)."""
    database_url, redis_url = settings.require_database(), settings.require_redis()
    delivery = webhooks.DeliveryConfig.from_settings(settings)
    sealer = seals.SealConfig.from_settings(settings)

    async def startup(ctx: dict[str, Any]) -> None:
        ctx["pool"] = await create_pool(
            database_url, min_size=1, max_size=deadlines.RECONCILE_CONCURRENCY + 4
        )
        ctx["store"] = EventStore(ctx["pool"])
        ctx["clock"] = clock
        ctx["seal_config"] = sealer
        await webhooks.start(ctx, database_url, delivery)
        if settings.metrics_port is not None:

            async def ready() -> tuple[bool, dict[str, Any]]:
                await ctx["store"].ping()
                await ctx["redis"].ping()
                dispatching = webhooks.running(ctx)
                return dispatching, {"worker": name, "webhook_dispatcher": dispatching}

            ctx["probes"] = ProbeServer(settings.host, settings.metrics_port, "worker", ready)
            await ctx["probes"].start()
        log.info("worker started", worker=name)

    async def shutdown(ctx: dict[str, Any]) -> None:
        if "probes" in ctx:
            await ctx["probes"].close()
        await webhooks.stop(ctx)
        if "store" in ctx:
            await ctx["store"].close()
        if "pool" in ctx:
            await ctx["pool"].close()

    return queue.worker(
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
