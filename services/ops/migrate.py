"""`campaign migrate` as operators run it: the migrations, the working-day calendar's current
version (stored once), then the read models the migrations ask to be rebuilt (a new read model
table starts empty; only the events can fill it)."""

from __future__ import annotations

import structlog

import events.domain  # noqa: F401 - registers every domain event
from events.migrate import MigrationReport, migrate
from events.store import EventStore, create_pool
from projections import calendar_versions, registry

log = structlog.get_logger(__name__)


async def migrate_and_rebuild(dsn: str) -> MigrationReport:
    report = await migrate(dsn)
    pool = await create_pool(dsn, min_size=1, max_size=3)
    store = EventStore(pool)
    try:
        async with pool.acquire() as connection:
            loaded = await calendar_versions.store_current(connection)
        if loaded is not None:
            log.info("working-day calendar stored", version=loaded)
        for name in report.rebuilds:
            for model in registry.named(name):
                applied = await registry.rebuild(model, store)
                log.info(
                    "read model rebuilt after migration", read_model=model.name, events=applied
                )
    finally:
        await store.close()
        await pool.close()
    return report
