"""What read models ask the store about the committed events of some categories: where they end,
how many lie after a checkpoint, whether any lies between two feed positions. Unlike the feed
these count every committed event, whatever transaction is still open elsewhere."""

from __future__ import annotations

from typing import Any

import asyncpg

from events.envelope import RecordedRef
from events.store import EventStore
from tests.support import METADATA, new_stream, write

END = (2**62, 0)


def at(ref: RecordedRef) -> tuple[int, int]:
    return ref.tx_id, ref.position


async def test_an_empty_category_has_no_position_no_backlog_and_nothing_between(
    store: EventStore,
) -> None:
    await store.append([write(new_stream("plan"), 0, "other category")], METADATA)
    assert await store.last_position(["note"]) is None
    assert await store.last_position_and_count(["note"]) == (None, 0)
    assert await store.backlog_after((0, 0), ["note"]) == (0, None)
    assert await store.any_between(["note"], (0, 0), END) is False


async def test_the_last_position_and_count_of_categories(store: EventStore) -> None:
    before = await store.count_events()
    notes = (await store.append([write(new_stream(), 0, "a", "b")], METADATA)).events
    plan = (await store.append([write(new_stream("plan"), 0, "p")], METADATA)).events
    note = (await store.append([write(new_stream(), 0, "c")], METADATA)).events
    await store.append([write(new_stream("task"), 0, "t")], METADATA)

    assert await store.last_position(["note"]) == at(note[-1])
    assert await store.last_position(["plan"]) == at(plan[-1])
    assert await store.last_position(["note", "plan"]) == at(note[-1])
    assert await store.last_position_and_count(["note"]) == (at(note[-1]), 3)
    assert await store.last_position_and_count(["note", "plan"]) == (at(note[-1]), 4)
    assert at(notes[-1]) < at(plan[-1]) < at(note[-1])
    assert await store.count_events() == before + 5


async def test_the_backlog_after_a_position_counts_in_feed_order_up_to_a_cap(
    store: EventStore,
) -> None:
    first = (await store.append([write(new_stream(), 0, "a")], METADATA)).events[0]
    await store.append([write(new_stream("plan"), 0, "not a note")], METADATA)
    later = (await store.append([write(new_stream(), 0, "b", "c")], METADATA)).events

    assert await store.backlog_after(at(later[-1]), ["note"]) == (0, None)
    pending, oldest = await store.backlog_after(at(first), ["note"])
    stored = await store.read_stream(later[0].stream_id)
    assert pending == 2 and oldest == stored[0].recorded_at
    pending, oldest = await store.backlog_after((0, 0), ["note"], cap=2)
    assert pending == 2
    assert oldest == (await store.read_stream(first.stream_id))[0].recorded_at
    assert (await store.backlog_after(at(first), ["note", "plan"]))[0] == 3


async def test_any_between_is_after_one_position_and_up_to_the_other(store: EventStore) -> None:
    first = (await store.append([write(new_stream(), 0, "a")], METADATA)).events[0]
    plan = (await store.append([write(new_stream("plan"), 0, "p")], METADATA)).events[0]
    second = (await store.append([write(new_stream(), 0, "b")], METADATA)).events[0]

    assert await store.any_between(["note"], (0, 0), at(first)) is True
    assert await store.any_between(["note"], at(first), at(plan)) is False
    assert await store.any_between(["note", "plan"], at(first), at(plan)) is True
    assert await store.any_between(["note"], at(first), at(second)) is True
    assert await store.any_between(["note"], at(second), END) is False


async def test_committed_events_count_even_behind_a_transaction_still_open(
    store: EventStore, pool: asyncpg.Pool[Any]
) -> None:
    """The feed holds events back behind an older open transaction; these do not: a projector
    must reach every event committed so far. Uncommitted events are never counted."""
    async with pool.acquire() as connection:
        transaction = connection.transaction()
        await transaction.start()
        try:
            await store.append(
                [write(new_stream(), 0, "uncommitted")], METADATA, connection=connection
            )
            committed = (await store.append([write(new_stream(), 0, "c")], METADATA)).events[0]
            assert (await store.read_all(categories=["note"])).events == []
            assert await store.last_position(["note"]) == at(committed)
            assert await store.last_position_and_count(["note"]) == (at(committed), 1)
            assert (await store.backlog_after((0, 0), ["note"]))[0] == 1
            assert await store.any_between(["note"], (0, 0), END) is True
        finally:
            await transaction.rollback()
