"""The global feed: every committed event exactly once, in one order, even when transactions
commit out of the order of their positions."""

from __future__ import annotations

import asyncio
import random
import uuid
from typing import Any

import asyncpg
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from events.envelope import NewEvent, StreamWrite
from events.errors import VersionConflict
from events.store import EventStore, create_pool
from tests.support import METADATA, Counted, new_stream, noted, test_catalog, write


async def _read_everything(store: EventStore, after: str | None, limit: int = 7) -> list[Any]:
    seen = []
    while True:
        page = await store.read_all(after=after, limit=limit)
        seen.extend(page.events)
        after = page.next
        if len(page.events) < limit:
            return seen


async def test_a_follower_never_returns_a_later_commit_before_an_earlier_position(
    store: EventStore, pool: asyncpg.Pool[Any]
) -> None:
    start = await store.head()
    stream_a, stream_b = new_stream(), new_stream()
    async with pool.acquire() as connection_a:
        transaction = connection_a.transaction()
        await transaction.start()
        appended_a = await store.append(
            [write(stream_a, 0, "A")], METADATA, connection=connection_a
        )
        appended_b = await store.append([write(stream_b, 0, "B")], METADATA)
        assert appended_b.events[0].position > appended_a.events[0].position

        # B is committed, A is not: the follower must not hand out B yet.
        page = await store.read_all(after=start)
        assert page.events == []
        assert page.next == start

        await transaction.commit()
    store.wake_followers()
    page = await store.read_all(after=start)
    assert [e.stream_id for e in page.events] == [stream_a, stream_b]
    again = await store.read_all(after=page.next)
    assert again.events == []


async def test_a_rolled_back_append_leaves_no_trace_and_does_not_block_the_feed(
    store: EventStore, pool: asyncpg.Pool[Any]
) -> None:
    start = await store.head()
    stream_a, stream_b = new_stream(), new_stream()
    async with pool.acquire() as connection_a:
        transaction = connection_a.transaction()
        await transaction.start()
        await store.append([write(stream_a, 0, "A")], METADATA, connection=connection_a)
        await store.append([write(stream_b, 0, "B")], METADATA)
        await transaction.rollback()
    page = await store.read_all(after=start)
    assert [e.stream_id for e in page.events] == [stream_b]
    assert await store.stream_version(stream_a) == 0


async def test_feed_filters_use_the_tags(store: EventStore) -> None:
    plan, unit, other_unit = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    start = await store.head()
    task, note = new_stream("assignment"), new_stream("note")
    await store.append(
        [
            StreamWrite(task, 0, [NewEvent(Counted(writer=1, seq=1), plan_id=plan, units=[unit])]),
            StreamWrite(note, 0, [noted("n", units=[other_unit])]),
        ],
        METADATA,
    )

    async def streams(**filters: Any) -> list[str]:
        return [e.stream_id for e in (await store.read_all(after=start, **filters)).events]

    assert await streams() == [task, note]
    assert await streams(categories=["assignment"]) == [task]
    assert await streams(types=["Noted"]) == [note]
    assert await streams(plan_id=plan) == [task]
    assert await streams(units=[unit]) == [task]
    assert await streams(units=[unit, other_unit]) == [task, note]
    assert await streams(streams=[note]) == [note]
    assert await streams(units=[uuid.uuid4()]) == []


@settings(
    max_examples=12,
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
def test_concurrent_writers_and_a_follower_agree_on_every_committed_event(
    dsn: str, writers: int, appends_per_writer: int, streams: int, batch: int, seed: int
) -> None:
    asyncio.run(_writers_and_follower(dsn, writers, appends_per_writer, streams, batch, seed))


async def _writers_and_follower(
    dsn: str, writers: int, appends_per_writer: int, stream_count: int, batch: int, seed: int
) -> None:
    pool = await create_pool(dsn, min_size=1, max_size=writers + 3)
    store = EventStore(pool, catalog=test_catalog)
    try:
        start = await store.head()
        stream_ids = [new_stream() for _ in range(stream_count)]
        committed: list[uuid.UUID] = []
        done = asyncio.Event()

        async def writer(number: int) -> None:
            rng = random.Random(seed + number)
            for seq in range(appends_per_writer):
                stream = rng.choice(stream_ids)
                size = rng.randint(1, batch)
                while True:
                    version = await store.stream_version(stream)
                    events = [
                        NewEvent(Counted(writer=number, seq=seq * 10 + k)) for k in range(size)
                    ]
                    try:
                        result = await store.append(
                            [StreamWrite(stream, version, events)], METADATA
                        )
                    except VersionConflict:
                        continue
                    committed.extend(ref.event_id for ref in result.events)
                    break
                if rng.random() < 0.3:
                    await asyncio.sleep(0)

        followed: list[uuid.UUID] = []

        async def follower() -> None:
            # Committed events become visible once no older transaction in the cluster is still
            # open (a concurrent NOTIFY holds one for a moment): after the writers finish, keep
            # following until every committed event has arrived, for at most 10 s.
            cursor = start
            loop = asyncio.get_running_loop()
            deadline: float | None = None
            while True:
                page = await store.read_all(after=cursor, limit=5)
                followed.extend(e.event_id for e in page.events)
                cursor = page.next
                if done.is_set():
                    deadline = deadline or loop.time() + 10
                    if len(followed) >= len(committed) or loop.time() > deadline:
                        await asyncio.sleep(0.2)
                        rest = await _read_everything(store, cursor)
                        followed.extend(e.event_id for e in rest)
                        return
                await asyncio.sleep(0 if page.events else 0.005)

        following = asyncio.create_task(follower())
        await asyncio.gather(*(writer(n) for n in range(writers)))
        done.set()
        await following

        assert len(followed) == len(set(followed)), "an event was delivered twice"
        assert set(followed) == set(committed), "the follower missed or invented events"
        replay = [e.event_id for e in await _read_everything(store, start)]
        assert replay == followed
        for stream in stream_ids:
            versions = [e.version for e in await store.read_stream(stream)]
            assert versions == list(range(1, len(versions) + 1))
    finally:
        await store.close()
        await pool.close()


async def test_a_scanned_cursor_never_passes_a_transaction_still_open(
    store: EventStore, pool: asyncpg.Pool[Any]
) -> None:
    start = await store.head()
    wanted, other = new_stream("assignment"), new_stream("note")
    async with pool.acquire() as connection:
        transaction = connection.transaction()
        await transaction.start()
        await store.append([write(wanted, 0, "late")], METADATA, connection=connection)
        await store.append([write(other, 0, "x")], METADATA)  # commits first
        page = await store.read_all(after=start, categories=["assignment"])
        assert page.events == [] and page.scanned is not None
        await transaction.commit()
    # Continuing from where the filtered reader looked, the late commit is still ahead.
    after = await store.read_all(after=page.scanned, categories=["assignment"])
    assert [e.stream_id for e in after.events] == [wanted]


async def test_following_by_scanned_cursors_under_concurrent_writers_misses_nothing(
    store: EventStore, pool: asyncpg.Pool[Any]
) -> None:
    start = await store.head()
    written: list[str] = []
    done = asyncio.Event()

    async def writer(n: int) -> None:
        rng = random.Random(n)
        for i in range(60):
            category = rng.choice(["assignment", "note"])
            stream = new_stream(category)
            async with pool.acquire() as connection, connection.transaction():
                await store.append([write(stream, 0, f"{n}.{i}")], METADATA, connection=connection)
                await asyncio.sleep(rng.uniform(0, 0.005))  # held open a little
            store.wake_followers()
            if category == "assignment":
                written.append(stream)

    async def follower() -> list[str]:
        seen: list[str] = []
        cursor = start
        while True:
            finished = done.is_set()
            page = await store.read_all(after=cursor, limit=5, categories=["assignment"])
            seen += [e.stream_id for e in page.events]
            cursor = page.scanned or page.next
            if finished and page.scanned is not None and not page.events:
                return seen
            await asyncio.sleep(0.001)

    following = asyncio.create_task(follower())
    await asyncio.gather(*(writer(n) for n in range(6)))
    done.set()
    seen = await asyncio.wait_for(following, 30)
    assert sorted(seen) == sorted(written) and len(seen) == len(set(seen))
