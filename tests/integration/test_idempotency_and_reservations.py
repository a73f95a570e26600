"""A retried request returns its first answer and appends nothing; unique keys hold under
concurrency."""

from __future__ import annotations

import asyncio
import hashlib
from typing import Any

import asyncpg
import pytest

from events.envelope import AppendResult, IdempotencyEntry, Reservation, StoredAnswer
from events.errors import Conflict, IdempotencyKeyReused, ReservationTaken
from events.store import EventStore
from tests.append_paths import (  # noqa: F401 - fixtures
    each_append_path,
    forced_path_used,
    store_on_each_path,
)
from tests.support import METADATA, new_stream, write

# Every test here runs on each append path (see tests/append_paths.py). Reservations, releases
# and idempotency entries are carried by the function path only; the plain appends around them
# take the path the store is forced to.


def request_hash(body: bytes) -> bytes:
    return hashlib.sha256(body).digest()


async def handle(
    store: EventStore, actor: str, key: str, body: bytes, stream: str
) -> AppendResult | StoredAnswer:
    """The command path's use of idempotency, reduced to its store calls."""
    digest = request_hash(body)
    while True:
        first = await store.recall(actor, key, digest)
        if first is not None:
            return first
        version = await store.stream_version(stream)
        try:
            return await store.append(
                [write(stream, version, body.decode())],
                METADATA,
                idempotency=IdempotencyEntry(actor, key, digest, b'{"id": "%s"}' % stream.encode()),
            )
        except Conflict:  # the key or the stream was taken meanwhile: look again, re-decide
            continue


async def test_a_retried_request_returns_the_first_answer_and_appends_nothing(
    store: EventStore,
) -> None:
    stream = new_stream()
    first = await handle(store, "user-1", "key-1", b"report 60/85", stream)
    retry = await handle(store, "user-1", "key-1", b"report 60/85", stream)
    assert isinstance(retry, StoredAnswer)
    assert retry.events == first.events and retry.cursor == first.cursor
    assert retry.answer == b'{"id": "%s"}' % stream.encode()
    assert len(await store.read_stream(stream)) == 1


async def test_the_same_key_with_another_request_is_refused(store: EventStore) -> None:
    stream = new_stream()
    await handle(store, "user-1", "key-1", b"report 60/85", stream)
    with pytest.raises(IdempotencyKeyReused):
        await handle(store, "user-1", "key-1", b"report 61/85", stream)
    # Keys are per actor: another user may use the same key.
    await handle(store, "user-2", "key-1", b"report 61/85", stream)
    assert len(await store.read_stream(stream)) == 2


async def test_concurrent_retries_append_once_and_all_get_the_same_answer(
    store: EventStore,
) -> None:
    stream = new_stream()
    answers = await asyncio.gather(
        *(handle(store, "user-1", "key-9", b"once", stream) for _ in range(16))
    )
    assert len(await store.read_stream(stream)) == 1
    assert len({a.cursor for a in answers}) == 1


async def test_a_failed_append_records_no_idempotency_entry(store: EventStore) -> None:
    stream = new_stream()
    await store.append([write(stream, 0, "exists")], METADATA)
    with pytest.raises(Exception):  # noqa: B017 - a version conflict
        await store.append(
            [write(stream, 0, "x")], METADATA, idempotency=IdempotencyEntry("u", "k", b"h")
        )
    assert await store.find_answer("u", "k") is None
    assert forced_path_used(store)


async def test_concurrent_reservations_of_one_key_leave_one_holder(
    store: EventStore, pool: asyncpg.Pool[Any]
) -> None:
    streams = [new_stream("plan") for _ in range(24)]

    async def issue(stream: str) -> str:
        try:
            await store.append(
                [write(stream, 0, "issued")],
                METADATA,
                reservations=[Reservation("party/BTV/KH/2020", "334", stream)],
            )
        except ReservationTaken as taken:
            assert taken.scope == "party/BTV/KH/2020" and taken.key == "334"
            return "taken"
        return "ok"

    outcomes = await asyncio.gather(*(issue(s) for s in streams))
    assert outcomes.count("ok") == 1
    holder = await pool.fetchval("SELECT stream_id FROM reservations WHERE key = '334'")
    assert holder == streams[outcomes.index("ok")]
    # The losers appended nothing.
    for stream, outcome in zip(streams, outcomes, strict=True):
        assert len(await store.read_stream(stream)) == (1 if outcome == "ok" else 0)


async def test_a_taken_reservation_names_its_holder(store: EventStore) -> None:
    first, second = new_stream("plan"), new_stream("plan")
    await store.append(
        [write(first, 0, "a")],
        METADATA,
        reservations=[Reservation("state/SNV/KH/2022", "107", first)],
    )
    with pytest.raises(ReservationTaken) as taken:
        await store.append(
            [write(second, 0, "b")],
            METADATA,
            reservations=[
                Reservation("state/SNV/KH/2022", "108", second),
                Reservation("state/SNV/KH/2022", "107", second),
            ],
        )
    assert taken.value.holder == first
    assert taken.value.key == "107"
    assert await store.read_stream(second) == []
    # The refused append took nothing: the stream is still new, and may take free keys.
    await store.append([write(second, 0, "c")], METADATA)
    await store.append(
        [write(second, 1, "d")],
        METADATA,
        reservations=[Reservation("state/SNV/KH/2022", "108", second)],
    )
    assert forced_path_used(store)


async def test_a_released_reservation_can_be_taken_by_another_stream(store: EventStore) -> None:
    holder, other = new_stream("unit"), new_stream("unit")
    code = Reservation("unit/root", "BTV", holder)
    await store.append([write(holder, 0, "named BTV")], METADATA, reservations=[code])
    await store.append([write(holder, 1, "renamed nothing")], METADATA)  # keeps its key
    with pytest.raises(ReservationTaken) as taken:
        await store.append(
            [write(other, 0, "named BTV")],
            METADATA,
            reservations=[Reservation("unit/root", "BTV", other)],
        )
    assert taken.value.holder == holder
    # A release by a stream that does not hold the key frees nothing.
    await store.append([write(other, 0, "not the holder")], METADATA, releases=[code])
    with pytest.raises(ReservationTaken):
        await store.append(
            [write(other, 1, "named BTV")],
            METADATA,
            reservations=[Reservation("unit/root", "BTV", other)],
        )
    await store.append([write(holder, 2, "renamed BVT")], METADATA, releases=[code])
    await store.append(
        [write(other, 1, "named BTV")],
        METADATA,
        reservations=[Reservation("unit/root", "BTV", other)],
    )
    assert [e.version for e in await store.read_stream(other)] == [1, 2]
    assert forced_path_used(store)


async def test_a_stream_may_release_a_key_and_take_it_back_in_one_append(
    store: EventStore,
) -> None:
    stream, other = new_stream("unit"), new_stream("unit")
    code = Reservation("unit/root", "SNV", stream)
    await store.append([write(stream, 0, "named SNV")], METADATA, reservations=[code])
    await store.append(
        [write(stream, 1, "moved and back")], METADATA, releases=[code], reservations=[code]
    )
    with pytest.raises(ReservationTaken) as taken:
        await store.append(
            [write(other, 0, "named SNV")],
            METADATA,
            reservations=[Reservation("unit/root", "SNV", other)],
        )
    assert taken.value.holder == stream
