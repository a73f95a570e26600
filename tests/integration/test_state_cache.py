"""A command loads a stream's state from what this process folded before plus the events
appended since, whoever appended them: always the state a fold of the whole stream gives."""

from __future__ import annotations

import asyncio
import functools
import random
from typing import Any

import asyncpg
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from events.catalog import Event
from events.store import EventStore, create_pool
from services.handlers.command_path import Session
from services.handlers.state_cache import LOADS
from tests.support import METADATA, Noted, new_stream, test_catalog, write


def texts(state: tuple[str, ...], event: Event) -> tuple[str, ...]:
    assert isinstance(event, Noted)
    return (*state, event.text)


async def whole_fold(store: EventStore, stream: str) -> tuple[str, ...]:
    events = await store.read_stream(stream)
    return functools.reduce(texts, (e.data for e in events if e.data is not None), ())


def loads(source: str) -> float:
    return LOADS.labels(source)._value.get()  # type: ignore[attr-defined]


async def test_a_second_load_folds_only_what_was_appended_since(store: EventStore) -> None:
    stream = new_stream()
    await store.append([write(stream, 0, *[f"e{n}" for n in range(50)])], METADATA)
    first = await Session(store).load(stream, texts, ())
    await store.append([write(stream, 50, "e50", "e51")], METADATA)
    memory = loads("memory")
    session = Session(store)
    second = await session.load(stream, texts, ())
    assert loads("memory") == memory + 1
    assert first == tuple(f"e{n}" for n in range(50))
    assert second == (*first, "e50", "e51")
    assert session.versions[stream] == 52  # the version the command asserts when it appends


@settings(
    max_examples=15,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    steps=st.lists(st.sampled_from(["here", "elsewhere", "load", "load_many"]), max_size=30),
    seed=st.integers(0, 2**16),
)
def test_loaded_states_are_whole_folds_whoever_appends(
    dsn: str, steps: list[str], seed: int
) -> None:
    asyncio.run(_interleaved(dsn, steps, seed))


async def _interleaved(dsn: str, steps: list[str], seed: int) -> None:
    rng = random.Random(seed)
    pool: asyncpg.Pool[Any] = await create_pool(dsn, min_size=1, max_size=4)

    here, elsewhere = EventStore(pool, catalog=test_catalog), EventStore(pool, catalog=test_catalog)
    streams = [new_stream() for _ in range(3)]
    try:
        for step in steps:
            stream = rng.choice(streams)
            if step == "load":
                loaded = await Session(here).load(stream, texts, ())
                assert loaded == await whole_fold(here, stream)
                continue
            if step == "load_many":  # every stream in one read, one of them never written
                session = Session(here)
                unwritten = new_stream()
                wanted = [*rng.sample(streams, rng.randint(1, 3)), unwritten]
                many = await session.load_many(wanted, texts, lambda _: ())
                assert many == [await whole_fold(here, s) for s in wanted]
                assert [session.versions[s] for s in wanted] == [
                    await here.stream_version(s) for s in wanted
                ]
                continue
            store = here if step == "here" else elsewhere
            version = await store.stream_version(stream)
            count = rng.randint(1, 3)
            await store.append(
                [write(stream, version, *[str(rng.random()) for _ in range(count)])], METADATA
            )
        for stream in streams:
            assert await Session(here).load(stream, texts, ()) == await whole_fold(here, stream)
    finally:
        await here.close()
        await elsewhere.close()
        await pool.close()
