"""For random valid task histories: the projector's rows == a rebuild == the as-of fold at now,
and the as-of fold at each earlier instant == what the projector had built by then."""

from __future__ import annotations

import asyncio
import random
from datetime import UTC, datetime
from uuid import UUID

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import events.domain  # noqa: F401 - registers every domain event
from events.envelope import Metadata, NewEvent, StreamWrite
from events.store import EventStore, create_pool
from projections import compliance, plan_view, task_facts
from projections.projector import Projector
from projections.rebuild import rebuild_beside
from projections.task_facts import TaskFact
from tests.task_histories import NOW, History, random_history


@st.composite
def histories(draw: st.DrawFn) -> History:
    return random_history(
        random.Random(draw(st.integers(0, 2**32))),
        draw(st.integers(1, 5)),
        draw(st.integers(0, 80)),
    )


async def _facts(store: EventStore, plan_id: UUID) -> dict[UUID, TaskFact]:
    return {f.assignment_id: f for f in await plan_view.facts_of_plan(store.pool, plan_id)}


async def _as_of(store: EventStore, plan_id: UUID, instant: datetime) -> dict[UUID, TaskFact]:
    position = await store.position_at(instant)
    assert position is not None
    return task_facts.fold(await store.plan_events_through(plan_id, position))


async def _check(dsn: str, history: History, batch: int, seed: int) -> None:
    rng = random.Random(seed)
    pool = await create_pool(dsn, min_size=1, max_size=4)
    store = EventStore(pool)
    projector = Projector(store, task_facts.MODEL, owner=f"p-{seed}", batch=batch)
    try:
        assert await projector.claim()
        await projector.catch_up_to_the_end()
        instants: list[datetime] = []
        snapshots: dict[datetime, dict[UUID, TaskFact]] = {}
        for writes in history.appends:
            result = await store.append(
                [
                    StreamWrite(
                        stream,
                        version,
                        [NewEvent(e, plan_id=history.plan_id, units=()) for e in decided],
                    )
                    for stream, version, decided in writes
                ],
                Metadata(),
            )
            assert result.recorded_at is not None
            assert not instants or result.recorded_at > instants[-1]
            instants.append(result.recorded_at)
            if rng.random() < 0.5:  # the projector sometimes lags several appends behind
                await projector.catch_up_to_the_end()
                snapshots[result.recorded_at] = await _facts(store, history.plan_id)
        await projector.catch_up_to_the_end()
        projected = await _facts(store, history.plan_id)
        assert projected == await _as_of(store, history.plan_id, datetime.now(UTC))
        expected = await compliance.for_plan(pool, history.plan_id, NOW)
        assert expected == await compliance.for_plan_facts(
            pool, history.plan_id, projected.values(), NOW
        )
        await projector.release()
        await rebuild_beside(task_facts.MODEL, store)
        assert await _facts(store, history.plan_id) == projected
        # Asked afterwards, the fold at each earlier instant is what the projector had then.
        for instant, snapshot in snapshots.items():
            assert await _as_of(store, history.plan_id, instant) == snapshot, instant
    finally:
        await projector.release()
        await pool.close()


@settings(
    max_examples=20,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    history=histories(),
    batch=st.integers(min_value=1, max_value=50),
    seed=st.integers(min_value=0, max_value=2**32),
)
def test_projector_rebuild_and_as_of_agree_row_for_row(
    dsn: str, history: History, batch: int, seed: int
) -> None:
    asyncio.run(_check(dsn, history, batch, seed))
