"""Appends are optimistic, multi-stream and all or nothing; conflicts are typed, never a 500."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import pytest

from events.envelope import Actor, Metadata, NewEvent, StreamWrite
from events.errors import ClockSkew, InvalidAppend, VersionConflict
from events.store import AppendPath, EventStore
from tests.append_paths import (  # noqa: F401 - fixtures
    each_append_path,
    forced_path_used,
    store_on_each_path,
)
from tests.support import METADATA, Noted, new_stream, noted, test_catalog, write

# Every test here runs on each append path (see tests/append_paths.py).


async def test_appended_events_read_back_in_version_order_with_their_envelope(
    store: EventStore,
) -> None:
    stream = new_stream()
    plan, unit = uuid.uuid4(), uuid.uuid4()
    metadata = Metadata(actor=Actor(user="user-1", unit=str(unit)), correlation_id="c-1")
    result = await store.append(
        [
            StreamWrite(
                stream,
                0,
                [NewEvent(Noted(text="Đợt 1"), plan_id=plan, units=[unit]), noted("Hai là")],
            )
        ],
        metadata,
    )
    assert [ref.version for ref in result.events] == [1, 2]
    assert result.cursor == result.events[-1].cursor

    events = await store.read_stream(stream)
    assert [e.data for e in events] == [Noted(text="Đợt 1"), Noted(text="Hai là")]
    first, second = events
    assert first.type == "Noted" and first.schema_version == 1
    assert first.metadata == metadata
    assert first.tags.category == "note" and first.tags.plan_id == plan
    assert first.tags.units == (unit,)
    assert first.prev_hash is None and second.prev_hash == first.hash
    assert abs(first.recorded_at - datetime.now(UTC)) < timedelta(seconds=10)
    assert await store.stream_version(stream) == 2


async def test_a_stale_expected_version_is_a_conflict_carrying_the_actual_version(
    store: EventStore,
) -> None:
    stream = new_stream()
    await store.append([write(stream, 0, "a", "b")], METADATA)
    with pytest.raises(VersionConflict) as refused:
        await store.append([write(stream, 1, "c")], METADATA)
    assert (refused.value.stream_id, refused.value.expected, refused.value.actual) == (stream, 1, 2)
    with pytest.raises(VersionConflict) as ahead:
        await store.append([write(stream, 5, "c")], METADATA)
    assert ahead.value.actual == 2
    assert len(await store.read_stream(stream)) == 2
    assert forced_path_used(store)


async def test_32_concurrent_appends_at_one_version_one_wins_31_conflict(
    store: EventStore,
) -> None:
    stream = new_stream()
    await store.append([write(stream, 0, "start")], METADATA)

    async def attempt(n: int) -> str:
        try:
            await store.append([write(stream, 1, f"writer {n}")], METADATA)
        except VersionConflict as conflict:
            assert conflict.actual == 2
            return "conflict"
        return "ok"

    outcomes = await asyncio.gather(*(attempt(n) for n in range(32)))
    assert outcomes.count("ok") == 1
    assert outcomes.count("conflict") == 31
    events = await store.read_stream(stream)
    assert [e.version for e in events] == [1, 2]
    assert forced_path_used(store)


async def test_32_concurrent_creations_of_one_stream_one_wins(store: EventStore) -> None:
    stream = new_stream()
    outcomes = await asyncio.gather(
        *(store.append([write(stream, 0, f"w{n}")], METADATA) for n in range(32)),
        return_exceptions=True,
    )
    assert sum(not isinstance(o, BaseException) for o in outcomes) == 1
    assert all(isinstance(o, VersionConflict) for o in outcomes if isinstance(o, BaseException))
    assert [e.version for e in await store.read_stream(stream)] == [1]
    assert forced_path_used(store)


async def test_a_two_stream_append_with_one_stale_version_appends_to_neither(
    store: EventStore,
) -> None:
    first, second = new_stream(), new_stream()
    await store.append([write(second, 0, "exists")], METADATA)
    with pytest.raises(VersionConflict) as refused:
        await store.append([write(first, 0, "a"), write(second, 0, "b")], METADATA)
    assert refused.value.stream_id == second
    assert await store.read_stream(first) == []
    assert [e.data for e in await store.read_stream(second)] == [Noted(text="exists")]


async def test_a_stream_only_read_by_the_decision_has_its_version_asserted(
    store: EventStore,
) -> None:
    rule, target = new_stream("plan"), new_stream()
    await store.append([write(rule, 0, "open")], METADATA)
    await store.append([write(rule, 1, "closed")], METADATA)
    # The decision saw the rule stream at version 1; it has moved on: nothing is appended.
    with pytest.raises(VersionConflict):
        await store.append([StreamWrite(rule, 1), write(target, 0, "task")], METADATA)
    assert await store.read_stream(target) == []
    await store.append([StreamWrite(rule, 2), write(target, 0, "task")], METADATA)
    assert len(await store.read_stream(target)) == 1
    assert await store.stream_version(rule) == 2


async def test_events_across_streams_keep_the_order_the_command_gave(store: EventStore) -> None:
    later, earlier = "note-zzz" + uuid.uuid4().hex, "note-aaa" + uuid.uuid4().hex
    result = await store.append([write(later, 0, "first"), write(earlier, 0, "second")], METADATA)
    assert [ref.stream_id for ref in result.events] == [later, earlier]


async def test_malformed_appends_are_refused_before_the_database(store: EventStore) -> None:
    stream = new_stream()
    with pytest.raises(InvalidAppend):
        await store.append([], METADATA)
    with pytest.raises(InvalidAppend):
        await store.append([write("no category", 0, "x")], METADATA)
    with pytest.raises(InvalidAppend):
        await store.append([write(stream, 0, "x"), write(stream, 0, "y")], METADATA)
    with pytest.raises(InvalidAppend):
        await store.append([write(stream, -1, "x")], METADATA)


async def test_a_recorded_at_far_from_the_database_clock_is_refused(
    pool: asyncpg.Pool[Any], append_path: AppendPath
) -> None:
    skewed = EventStore(
        pool,
        catalog=test_catalog,
        clock=lambda: datetime.now(UTC) - timedelta(days=3),
        append_path=append_path,
    )
    with pytest.raises(ClockSkew):
        await skewed.append([write(new_stream(), 0, "backdated")], METADATA)
    with pytest.raises(ClockSkew):
        await skewed.append([write(new_stream(), 0, "backdated", "twice")], METADATA)
    assert forced_path_used(skewed)
    await skewed.close()


async def test_events_are_immutable_in_the_database(
    store: EventStore, pool: asyncpg.Pool[Any]
) -> None:
    stream = new_stream()
    await store.append([write(stream, 0, "fact")], METADATA)
    for statement in (
        "UPDATE events SET data = '{}'::jsonb",
        "DELETE FROM events",
        "TRUNCATE events",
        "TRUNCATE events CASCADE",
    ):
        with pytest.raises(asyncpg.PostgresError) as refused:
            await pool.execute(statement)
        assert refused.value.sqlstate == "CLE01", statement
    assert [e.data for e in await store.read_stream(stream)] == [Noted(text="fact")]


async def test_text_postgresql_cannot_store_is_refused_clearly(store: EventStore) -> None:
    from events.errors import UnstorableText

    with pytest.raises(UnstorableText):
        await store.append([write(new_stream(), 0, "nul \x00 byte")], METADATA)


async def test_an_append_inside_a_repeatable_read_transaction_is_refused(
    store: EventStore, pool: asyncpg.Pool[Any]
) -> None:
    """Asserting a stream's version needs each statement's fresh snapshot."""
    rule = new_stream("plan")
    await store.append([write(rule, 0, "rule")], METADATA)
    async with pool.acquire() as connection, connection.transaction(isolation="repeatable_read"):
        with pytest.raises(InvalidAppend):
            await store.append(
                [StreamWrite(rule, 1), write(new_stream(), 0, "x")], METADATA, connection=connection
            )


async def test_contended_appends_in_callers_transactions_conflict_at_once_on_a_small_pool(
    dsn: str, append_path: AppendPath
) -> None:
    """A refused append never waits on the pool while its own transaction sits aborted."""
    from events.store import create_pool

    small = await create_pool(dsn, min_size=1, max_size=2)
    store = EventStore(small, catalog=test_catalog, append_path=append_path)
    stream = new_stream()
    await store.append([write(stream, 0, "start")], METADATA)
    await store.read_stream(stream)  # the head is known: the one-statement path

    async def attempt(n: int) -> str:
        async with small.acquire() as connection, connection.transaction():
            try:
                await store.append([write(stream, 1, f"w{n}")], METADATA, connection=connection)
            except VersionConflict:
                return "conflict"
        return "ok"

    started = asyncio.get_running_loop().time()
    outcomes = await asyncio.wait_for(asyncio.gather(attempt(1), attempt(2)), timeout=10)
    assert sorted(outcomes) == ["conflict", "ok"]
    assert asyncio.get_running_loop().time() - started < 5
    assert forced_path_used(store)
    await store.close()
    await small.close()
