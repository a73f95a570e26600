"""Migrations apply once, in order, under a lock; an edited landed migration stops them; a
restore that sent transaction ids back opens a new epoch that old cursors cannot cross."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import asyncpg
import pytest

from events.errors import CursorFromAnotherEpoch
from events.migrate import MigrationError, available, migrate
from events.store import EventStore
from tests.servers import with_database
from tests.support import METADATA, new_stream, write


async def test_migrating_a_fresh_database_concurrently_applies_each_migration_once(
    admin_dsn: str,
) -> None:
    name = f"cl_mig_{uuid.uuid4().hex[:10]}"
    admin = await asyncpg.connect(admin_dsn)
    await admin.execute(f'CREATE DATABASE "{name}"')
    try:
        dsn = with_database(admin_dsn, name)
        reports = await asyncio.gather(*(migrate(dsn) for _ in range(4)))
        applied = [label for report in reports for label in report.applied]
        assert sorted(applied) == sorted(f"{m.version:04d}_{m.name}" for m in available())
        again = await migrate(dsn)
        assert again.applied == [] and not again.new_epoch
    finally:
        await admin.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
        await admin.close()


async def test_an_edited_landed_migration_stops_migrate(pool: asyncpg.Pool[Any], dsn: str) -> None:
    await pool.execute("UPDATE schema_migrations SET checksum = 'edited' WHERE version = 1")
    with pytest.raises(MigrationError, match="edited after it was applied"):
        await migrate(dsn)


async def test_transaction_ids_going_back_open_a_new_epoch(
    store: EventStore, pool: asyncpg.Pool[Any], dsn: str
) -> None:
    stream = new_stream()
    before = await store.append([write(stream, 0, "before the restore")], METADATA)
    # A logical restore brings rows whose tx_id lies ahead of the new cluster's counter.
    await pool.execute(
        """INSERT INTO events (tx_id, event_id, stream_id, version, type, schema_version, data,
                               metadata, category, units, recorded_at, hash)
           VALUES ($1, gen_random_uuid(), 'note-restored', 1, 'Noted', 1, '{"text":"r","count":0}',
                   '{}', 'note', '{}', now(), '\\x00')""",
        (await pool.fetchval("SELECT max(tx_id) FROM events")) + 1_000_000,
    )
    report = await migrate(dsn)
    assert report.new_epoch

    fresh = EventStore(pool, catalog=store.catalog)
    with pytest.raises(CursorFromAnotherEpoch):
        await fresh.read_all(after=before.cursor)
    after = await fresh.append([write(stream, 1, "after the restore")], METADATA)
    page = await fresh.read_all()
    assert [e.stream_id for e in page.events][-2:] == ["note-restored", stream]
    assert page.events[-1].event_id == after.events[0].event_id
    assert (await migrate(dsn)).new_epoch is False
    await fresh.close()


async def test_a_restore_into_another_database_opens_a_new_epoch_and_blocks_serving(
    store: EventStore, pool: asyncpg.Pool[Any], dsn: str
) -> None:
    from services.api.app import create_app
    from services.runtime.config import load_settings
    from tests.http import api_client

    before = await store.append([write(new_stream(), 0, "before")], METADATA)
    # The epoch row restored from a dump names the database it was made in.
    await pool.execute("UPDATE store_epochs SET db_oid = 0")
    assert await pool.fetchval("SELECT store_epoch_needed()") == "restored into another database"
    with pytest.raises(BaseExceptionGroup) as refused:  # raised through the ASGI lifespan
        async with api_client(create_app(load_settings({}), pool=pool)):
            pass
    assert "campaign migrate" in str(refused.value.exceptions[0])
    assert (await migrate(dsn)).new_epoch
    with pytest.raises(CursorFromAnotherEpoch):
        await store.read_all(after=before.cursor)


async def test_a_migration_that_adds_a_read_model_has_it_filled_from_the_events(
    domain_store: EventStore, pool: asyncpg.Pool[Any], dsn: str
) -> None:
    from services.ops.demo import load_demo
    from services.ops.migrate import migrate_and_rebuild

    await load_demo(domain_store)
    plans = await pool.fetch("SELECT * FROM plan_list ORDER BY plan_id")
    closure = await pool.fetch("SELECT * FROM unit_closure ORDER BY 1, 2")
    assert len(plans) == 4 and len(closure) > 30
    # The database as it stood before 0007 landed: the events, no plan list, no closure.
    await pool.execute(
        "DROP TABLE plan_list, unit_closure; DROP FUNCTION unit_closure_refresh(); "
        "DELETE FROM schema_migrations WHERE version = 7"
    )
    report = await migrate_and_rebuild(dsn)
    assert report.applied == ["0007_plan_list_and_unit_closure"]
    assert report.rebuilds == ["directory"]
    assert await pool.fetch("SELECT * FROM plan_list ORDER BY plan_id") == plans
    assert await pool.fetch("SELECT * FROM unit_closure ORDER BY 1, 2") == closure
    assert (await migrate_and_rebuild(dsn)).rebuilds == []  # nothing applied, nothing rebuilt
