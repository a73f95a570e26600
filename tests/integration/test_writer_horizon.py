"""The feed's horizon waits only for transactions that write events (migration 0013): a
transaction holding an id in another database, or on another table, delays no follower, and a
registered writer that commits late with a lower tx_id is still never skipped."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from typing import Any

import asyncpg
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from events.errors import InvalidAppend
from events.store import EventStore
from tests.integration.test_feed_order import _writers_and_follower
from tests.servers import with_database
from tests.support import METADATA, new_stream, write

BLOCKERS = ("other-database", "other-table")


async def _hold_open(admin_dsn: str, dsn: str, kind: str) -> tuple[asyncpg.Connection, str | None]:
    """A connection in a transaction that holds a transaction id and writes no event: in a
    second database of the cluster, or on another table of the store's database."""
    created = None
    if kind == "other-database":
        created = f"cl_side_{uuid.uuid4().hex[:12]}"
        admin = await asyncpg.connect(admin_dsn)
        try:
            await admin.execute(f'CREATE DATABASE "{created}"')
        finally:
            await admin.close()
        connection = await asyncpg.connect(with_database(admin_dsn, created))
        await connection.execute("CREATE TABLE side_work (n integer)")
        await connection.execute("BEGIN")
        await connection.execute("INSERT INTO side_work VALUES (1)")
    else:
        connection = await asyncpg.connect(dsn)
        await connection.execute("CREATE TABLE IF NOT EXISTS side_work (n integer)")
        await connection.execute("BEGIN")
        await connection.execute("INSERT INTO side_work VALUES (1)")
    assert await connection.fetchval("SELECT pg_current_xact_id_if_assigned() IS NOT NULL")
    return connection, created


async def _release(admin_dsn: str, connection: asyncpg.Connection, created: str | None) -> None:
    await connection.execute("ROLLBACK")
    await connection.close()
    if created is not None:
        admin = await asyncpg.connect(admin_dsn)
        try:
            await admin.execute(f'DROP DATABASE IF EXISTS "{created}" WITH (FORCE)')
        finally:
            await admin.close()


@pytest.fixture(params=BLOCKERS)
async def blocker(admin_dsn: str, dsn: str, request: pytest.FixtureRequest) -> AsyncIterator[str]:
    """A transaction that holds an id and writes no event, open for the whole test."""
    connection, created = await _hold_open(admin_dsn, dsn, request.param)
    yield request.param
    await _release(admin_dsn, connection, created)


async def test_a_transaction_that_writes_no_event_delays_no_follower(
    store: EventStore, blocker: str
) -> None:
    start = await store.head()
    stream = new_stream()
    await store.append([write(stream, 0, "while another transaction is open")], METADATA)
    page = await store.read_all(after=start)
    assert [e.stream_id for e in page.events] == [stream]
    assert page.scanned is not None


@settings(
    max_examples=8,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    writers=st.integers(min_value=2, max_value=8),
    appends_per_writer=st.integers(min_value=1, max_value=25),
    streams=st.integers(min_value=1, max_value=6),
    batch=st.integers(min_value=1, max_value=4),
    seed=st.integers(min_value=0, max_value=2**32),
)
def test_the_feed_order_property_holds_beside_a_transaction_held_open(
    dsn: str,
    blocker: str,
    writers: int,
    appends_per_writer: int,
    streams: int,
    batch: int,
    seed: int,
) -> None:
    # The blocker stays open through every example: the follower must still receive every
    # committed event once, in one order (the property test of test_feed_order.py).
    asyncio.run(_writers_and_follower(dsn, writers, appends_per_writer, streams, batch, seed))


async def test_a_registered_writer_that_commits_late_is_never_skipped(
    store: EventStore, pool: asyncpg.Pool[Any], blocker: str
) -> None:
    start = await store.head()
    late, early = new_stream(), new_stream()
    async with pool.acquire() as connection:
        transaction = connection.transaction()
        await transaction.start()
        await store.append([write(late, 0, "late")], METADATA, connection=connection)
        await store.append([write(early, 0, "early")], METADATA)  # commits first
        # The late writer is registered and older: nothing of it or after it is handed out,
        # and the scanned cursor stops before it.
        page = await store.read_all(after=start)
        assert page.events == [] and page.next == start
        assert page.scanned is not None
        await transaction.commit()
    page = await store.read_all(after=start)
    assert [e.stream_id for e in page.events] == [late, early]
    assert (await store.read_all(after=page.next)).events == []


async def test_a_writer_registered_before_its_id_is_not_passed_by_a_reader(
    store: EventStore, pool: asyncpg.Pool[Any]
) -> None:
    # Registered, no transaction id yet: a reader moving on meanwhile cannot pass the id this
    # writer gets later, since it is above every id the reader's snapshot knows.
    start = await store.head()
    late, early = new_stream(), new_stream()
    async with pool.acquire() as connection:
        transaction = connection.transaction()
        await transaction.start()
        assert await connection.fetchval("SELECT store_register_writer()")
        assert await connection.fetchval("SELECT pg_current_xact_id_if_assigned()") is None
        await store.append([write(early, 0, "early")], METADATA)
        first = await store.read_all(after=start)
        assert [e.stream_id for e in first.events] == [early]
        await store.append([write(late, 0, "late")], METADATA, connection=connection)
        await transaction.commit()
    rest = await store.read_all(after=first.next)
    assert [e.stream_id for e in rest.events] == [late]


@pytest.mark.parametrize("path", ["one", "statement", "function"])
async def test_events_written_after_the_transaction_got_an_id_are_refused(
    store: EventStore, pool: asyncpg.Pool[Any], path: str
) -> None:
    # A writer registering after it got its id could be passed over by a reader that ran in
    # between: every append path refuses it, and so does a plain INSERT.
    forced = EventStore(pool, catalog=store.catalog, append_path=path)  # type: ignore[arg-type]
    stream = new_stream()
    async with pool.acquire() as connection:
        await connection.execute("BEGIN")
        await connection.fetchval("SELECT pg_current_xact_id()")
        with pytest.raises(InvalidAppend, match="already has a transaction id"):
            await forced.append([write(stream, 0, "x")], METADATA, connection=connection)
        await connection.execute("ROLLBACK")
    assert await store.stream_version(stream) == 0
    await forced.close()


async def test_a_direct_insert_in_a_transaction_with_an_id_is_refused(
    pool: asyncpg.Pool[Any],
) -> None:
    async with pool.acquire() as connection:
        await connection.execute("BEGIN")
        await connection.execute("SELECT pg_current_xact_id()")
        with pytest.raises(asyncpg.PostgresError, match="already has a transaction id"):
            await connection.execute(
                """INSERT INTO events (tx_id, event_id, stream_id, version, type, schema_version,
                                       data, metadata, category, units, recorded_at, hash)
                   VALUES (1, gen_random_uuid(), 'note-direct', 1, 'Noted', 1, '{}', '{}',
                           'note', '{}', now(), '\\x00')"""
            )
        await connection.execute("ROLLBACK")


async def test_a_writer_that_ends_after_the_snapshot_bounds_it_and_a_non_writer_does_not(
    store: EventStore, pool: asyncpg.Pool[Any], dsn: str
) -> None:
    # A cursor evaluates the horizon at FETCH with the snapshot of its DECLARE: both
    # transactions below were running at that snapshot and have ended by the FETCH. The writer
    # (no longer registered) still bounds the horizon, since its events are not in the
    # snapshot; the older transaction that wrote no event does not.
    stream = new_stream()
    other = await asyncpg.connect(dsn)
    reader = await asyncpg.connect(dsn)
    try:
        await other.execute("CREATE TABLE IF NOT EXISTS side_work (n integer)")
        await other.execute("BEGIN")
        await other.execute("INSERT INTO side_work VALUES (1)")
        async with pool.acquire() as writer:
            await writer.execute("BEGIN")
            appended = await store.append([write(stream, 0, "w")], METADATA, connection=writer)
            # A transaction that ends now moves the snapshot's xmax past both.
            await reader.fetchval("SELECT pg_current_xact_id()")
            await reader.execute("BEGIN")
            await reader.execute(
                "DECLARE horizon NO SCROLL CURSOR FOR SELECT store_visible_horizon()"
            )
            await other.execute("COMMIT")
            await writer.execute("COMMIT")
        horizon = await reader.fetchval("FETCH NEXT FROM horizon")
        await reader.execute("COMMIT")
        assert horizon == appended.events[0].tx_id
        page = await store.read_all(after=await store.head())
        assert page.events == []
        assert [e.stream_id for e in (await store.read_all()).events][-1:] == [stream]
    finally:
        await other.close()
        await reader.close()


async def test_the_projector_and_webhooks_keep_up_beside_a_transaction_held_open(
    domain_store: EventStore, pool: Any, blocker: str
) -> None:
    import time

    from projections import task_facts
    from projections.projector import Projector
    from services.api.app import create_app
    from services.ops.demo import load_demo
    from services.runtime.config import load_settings
    from tests.http import api_client
    from tests.integration.test_webhooks import config, keep_delivering, subscribe
    from tests.org import make_user
    from tests.receiver import RECEIVERS, Receiver

    started = time.monotonic()
    appended = await load_demo(domain_store)
    projector = Projector(domain_store, task_facts.MODEL, owner="beside")
    assert await projector.claim()
    await projector.catch_up()
    assert (await task_facts.MODEL.backlog(domain_store, projector.position)).events == 0
    projected = time.monotonic() - started
    _, admin = await make_user(domain_store, "admin")
    app = create_app(load_settings({"WEBHOOK_ALLOWED_TARGETS": RECEIVERS}), pool=pool)
    with Receiver() as receiver:
        async with api_client(app) as client:
            subscription, _ = await subscribe(client, admin, receiver.url, secret="s" * 32)
            await keep_delivering(
                domain_store,
                config(batch=100),
                subscription,
                lambda: len(receiver.accepted_events()) >= appended,
            )
    await projector.release()
    print(
        f"\nbeside a transaction open in the {blocker}: {appended} events projected "
        f"{projected:.2f} s after the first append, delivered "
        f"{time.monotonic() - started:.2f} s after it"
    )
