"""The litestar application: lifecycle of the pool and store, middleware, routes."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Any

import asyncpg
import structlog
from litestar import Litestar
from litestar.di import Provide
from litestar.openapi import OpenAPIConfig
from litestar.openapi.plugins import JsonRenderPlugin
from litestar.plugins.prometheus import PrometheusConfig, PrometheusController

import events.domain  # noqa: F401 - registers every domain event
from events.store import EventStore, create_pool
from projections import projector
from projections.registry import PROJECTED
from services.api import (
    assignments,
    audit,
    compliance,
    feed,
    history,
    models,
    plan_view,
    plans,
    subscriptions,
    units,
    users,
)
from services.api import (
    live as live_feed,
)
from services.api.access_log import access_log_middleware
from services.api.bodies import guard_body
from services.api.dependencies import DEPENDENCIES
from services.api.fair_use import FairUse
from services.api.health import live, ready
from services.api.problems import EXCEPTION_HANDLERS, OUTAGE, database_unreachable
from services.api.request_context import request_context_middleware
from services.handlers import subscriptions as subscriptions_service
from services.handlers.token_cache import TokenCache
from services.handlers.webhooks import AllowList
from services.runtime.config import Settings, load_settings
from services.runtime.database_wait import wait_for_database
from services.runtime.logging import configure_logging

log = structlog.get_logger()


async def _measure_lags(store: EventStore, every: float = 5.0) -> None:
    """Keep the projector's lag (read from its checkpoint) and the webhook subscriptions' in
    this process's /metrics."""
    while True:
        try:
            for model in PROJECTED:
                await projector.measure_lag(store, model)
            await subscriptions_service.measure(store)
            OUTAGE.recovered()
        except Exception as error:  # gauges are a convenience: the loop outlives any failure
            if database_unreachable(error):
                OUTAGE.failed(error)  # logged once per outage
            else:
                log.warning("lags not measured", error=f"{type(error).__name__}: {error}")
        await asyncio.sleep(every)


async def _open_pool(settings: Settings) -> asyncpg.Pool[Any]:
    """The API process's pool, once PostgreSQL accepts connections: a process that starts while
    the database is away (or going away, as one of several API processes may) waits for it
    instead of failing its start, which would stop every API process with it."""
    dsn = settings.require_database()
    while True:
        await wait_for_database(dsn, "api")
        try:
            return await create_pool(
                dsn, min_size=settings.db_pool_min, max_size=settings.db_pool_max
            )
        except Exception as error:
            if not database_unreachable(error):
                raise


async def _epoch_needed(store: EventStore, settings: Settings) -> str | None:
    """`EventStore.epoch_needed`, asked again once the database is back if it went away."""
    while True:
        try:
            return await store.epoch_needed()
        except Exception as error:
            if settings.database_url is None or not database_unreachable(error):
                raise
            await wait_for_database(settings.database_url, "api")


def create_app(
    settings: Settings,
    *,
    pool: asyncpg.Pool[Any] | None = None,
    clock: Callable[[], datetime] = lambda: datetime.now(UTC),
) -> Litestar:
    """The API. With `pool` given (tests), the app uses it and leaves closing it to the caller."""

    @asynccontextmanager
    async def lifespan(app: Litestar) -> AsyncIterator[None]:
        own_pool = pool is None
        app.state.pool = pool or await _open_pool(settings)
        app.state.store = EventStore(app.state.pool)
        reason = await _epoch_needed(app.state.store, settings)
        if reason is not None:
            raise RuntimeError(f"the store was {reason}: run `campaign migrate` before serving")
        app.state.clock = clock
        app.state.due_before_inclusive = settings.due_before_inclusive
        app.state.live_hub = live_feed.Hub(app.state.store, settings.database_url)
        app.state.webhook_targets = AllowList.parse(settings.webhook_allowed_targets)
        app.state.fair_use = FairUse(settings)
        app.state.token_cache = TokenCache(settings.database_url)
        await app.state.token_cache.start()
        lag = asyncio.create_task(_measure_lags(app.state.store))
        try:
            yield
        finally:
            lag.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await lag
            await app.state.live_hub.close()
            await app.state.token_cache.close()
            await app.state.fair_use.close()
            await app.state.store.close()
            if own_pool:
                await app.state.pool.close()

    prometheus = PrometheusConfig(
        app_name="campaign-ledger",
        prefix="campaign_http",
        group_path=True,
        exclude_unhandled_paths=True,
        exclude=["^/metrics$"],
    )
    application = Litestar(
        route_handlers=[
            live,
            ready,
            PrometheusController,
            *units.ROUTES,
            *users.ROUTES,
            *plans.ROUTES,
            *plan_view.ROUTES,
            *assignments.ROUTES,
            *models.ROUTES,
            *compliance.ROUTES,
            *history.ROUTES,
            *feed.ROUTES,
            *live_feed.ROUTES,
            *audit.ROUTES,
            *subscriptions.ROUTES,
        ],
        dependencies={
            **DEPENDENCIES,
            "hub": Provide(live_feed.provide_hub, sync_to_thread=False),
        },
        lifespan=[lifespan],
        before_request=guard_body,
        middleware=[request_context_middleware, prometheus.middleware],
        exception_handlers=EXCEPTION_HANDLERS,
        request_max_body_size=settings.max_body_bytes,
        logging_config=None,
        openapi_config=OpenAPIConfig(
            title="Campaign Ledger",
            version="0.1.0",
            path="/schema",
            render_plugins=[JsonRenderPlugin()],
        ),
    )
    # Around everything litestar does, so that unmatched routes are logged too.
    application.asgi_handler = access_log_middleware(application.asgi_handler)
    return application


def from_environment() -> Litestar:
    """The app of one of several API processes (`campaign serve` with HTTP_WORKERS > 1): each
    reads its settings from the environment it inherited."""
    settings = load_settings()
    configure_logging(settings.log_format, settings.log_level)
    return create_app(settings)
