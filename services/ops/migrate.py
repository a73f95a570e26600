"""`campaign migrate` as operators run it: the migrations, the working-day calendar's current
version (stored once), then the read models the migrations ask to be rebuilt (a new read model
table starts empty; only the events can fill it)."""

from __future__ import annotations

import structlog

import events.domain  # noqa: F401 - registers every domain event
from events.migrate import MigrationReport, migrate
from events.store import EventStore, create_pool

log = structlog.get_logger(__name__)


async def migrate_and_rebuild(dsn: str) -> MigrationReport:
    from projections import calendar, deadline_steps, directory
    from projections.rebuild import rebuild_task_facts

    report = await migrate(dsn)
    pool = await create_pool(dsn, min_size=1, max_size=3)
    store = EventStore(pool)
    try:
        async with pool.acquire() as connection:
            loaded = await calendar.store_current(connection)
        if loaded is not None:
            log.info("working-day calendar stored", version=loaded)
        for name in report.rebuilds:
            if name == "directory":
                applied = await directory.rebuild(pool, store)
            elif name == "task_facts":
                applied = (await rebuild_task_facts(store)).events
            elif name == "deadline_steps":
                applied = await deadline_steps.rebuild(pool, store)
            else:
                raise ValueError(f"a migration asks to rebuild {name!r}, which is unknown")
            log.info("read model rebuilt after migration", read_model=name, events=applied)
    finally:
        await store.close()
        await pool.close()
    return report
