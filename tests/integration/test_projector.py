"""The projector: fenced by its owner epoch, following live, equal to a rebuild."""

from __future__ import annotations

import asyncio
from typing import Any
from uuid import UUID

import asyncpg
import pytest

from events.store import EventStore
from events.wakeup import WakeUpListener
from projections import task_facts
from projections.projector import Fenced, Projector
from services.ops.demo import load_demo
from tests.cli import campaign


async def facts(pool: asyncpg.Pool[Any]) -> list[dict[str, Any]]:
    return [dict(r) for r in await pool.fetch("SELECT * FROM task_facts ORDER BY 1")]


async def test_a_stale_projector_cannot_write_after_a_standby_took_over(
    domain_store: EventStore, pool: asyncpg.Pool[Any]
) -> None:
    await load_demo(domain_store)
    active = Projector(domain_store, task_facts.MODEL, owner="active", stale_after=30, batch=10)
    standby = Projector(domain_store, task_facts.MODEL, owner="standby", stale_after=30, batch=10)
    assert await active.claim()
    assert not await standby.claim()  # the active one is heart-beating
    assert await active.step() == 10
    # The active one freezes: its heartbeat grows old, and the standby takes over.
    await pool.execute("UPDATE projector_checkpoints SET heartbeat_at = now() - interval '1 hour'")
    assert await standby.claim()
    # It resumes from the checkpoint: nothing twice.
    assert await standby.catch_up_to_the_end() == 50  # 60 task events (with schedules)
    with pytest.raises(Fenced):
        await active.step()  # the frozen one wakes up: its write is refused
    rebuilt = await facts(pool)
    await pool.execute("TRUNCATE task_facts; DELETE FROM projector_checkpoints")
    fresh = Projector(domain_store, task_facts.MODEL, owner="fresh")
    assert await fresh.claim()
    assert await fresh.catch_up_to_the_end() == 60
    assert await facts(pool) == rebuilt  # the same rows as a rebuild from the start


async def test_the_projector_follows_live_and_releases_on_stop(
    domain_store: EventStore, pool: asyncpg.Pool[Any], dsn: str
) -> None:
    listener = WakeUpListener(dsn)
    await listener.start()
    projector = Projector(domain_store, task_facts.MODEL, owner="live")
    stop = asyncio.Event()
    running = asyncio.create_task(projector.run(stop, listener, poll_seconds=30))
    await load_demo(domain_store)
    for _ in range(100):
        if await pool.fetchval("SELECT count(*) FROM task_facts") == 11:
            break
        await asyncio.sleep(0.1)
    assert await pool.fetchval("SELECT count(*) FROM task_facts") == 11
    stop.set()
    await asyncio.wait_for(running, 10)
    await listener.close()
    assert (
        await pool.fetchval("SELECT owner FROM projector_checkpoints WHERE name = 'task_facts'")
        is None
    )


async def test_compliance_and_boards_over_http(
    domain_store: EventStore, pool: asyncpg.Pool[Any]
) -> None:
    import uuid
    from datetime import datetime, timedelta, timezone

    from services.api.app import create_app
    from services.ops.demo import demo_id
    from services.runtime.config import load_settings
    from tests.http import api_client
    from tests.org import bearer, make_user

    await load_demo(domain_store)
    projector = Projector(domain_store, task_facts.MODEL)
    assert await projector.claim()
    await projector.catch_up_to_the_end()
    hanoi = timezone(timedelta(hours=7))
    app = create_app(load_settings({}), pool=pool, clock=lambda: datetime(2026, 1, 1, tzinfo=hanoi))
    _, auditor_token = await make_user(domain_store, "auditor", demo_id("unit:sl-du"))
    _, stranger_token = await make_user(domain_store, "consumer", demo_id("unit:ub"))
    auditor, stranger = bearer(auditor_token), bearer(stranger_token)
    async with api_client(app) as client:
        plan = await client.get(f"/plans/{demo_id('plan:334')}/compliance", headers=auditor)
        assert plan.status_code == 200, plan.text
        assert (plan.json()["completion_rate"], plan.json()["metrics"]) == ("3/3", {"models": 3})
        cell = await client.get(
            f"/units/{demo_id('unit:sl-cb')}/compliance",
            headers=auditor,
            params={"from": "2022-10-01T00:00:00+07:00", "to": "2022-11-01T00:00:00+07:00"},
        )
        assert cell.status_code == 200 and cell.json()["assigned"] == 3
        board = await client.get(f"/units/{demo_id('unit:sl-t1')}/assignments", headers=auditor)
        assert [t["status"] for t in board.json()["items"]] == ["completed_on_time"]
        # The Mass Mobilisation board coordinated item 2 of 227-KH/TU; its own item 4, never
        # reported, went to the 2025 board it merged into.
        _, city_token = await make_user(domain_store, "auditor", demo_id("unit:ct-tu"))
        city = bearer(city_token)

        async def board_of(ref: str) -> list[tuple[str, str, str, bool]]:
            answer = await client.get(f"/units/{demo_id(f'unit:{ref}')}/assignments", headers=city)
            return [
                (t["item"], t["role"], t["status"], t["overdue"]) for t in answer.json()["items"]
            ]

        assert await board_of("ct-bdv") == [("2", "coordinate", "completed_on_time", False)]
        assert await board_of("ct-btgdv") == [("4", "lead", "assigned", True)]
        assert await board_of("ct-vp") == [  # open tasks first
            ("4", "coordinate", "assigned", True),
            ("2", "lead", "completed_on_time", False),
        ]
        naive = await client.get(
            f"/units/{demo_id('unit:sl-cb')}/compliance",
            headers=auditor,
            params={"from": "2022-10-01T00:00:00"},
        )
        assert naive.status_code == 422
        far = await client.get(
            f"/units/{demo_id('unit:sl-cb')}/compliance",
            headers=auditor,
            params={"to": "9999-12-31T23:00:00-05:00"},
        )
        assert far.status_code == 422
        # A plan outside reach is 404 like an unknown one; a unit's affairs 403 (units are public).
        outside = await client.get(f"/plans/{demo_id('plan:334')}/compliance", headers=stranger)
        assert outside.status_code == 404
        for path in (
            f"/units/{demo_id('unit:sl-cb')}/compliance",
            f"/units/{demo_id('unit:sl-cb')}/assignments",
        ):
            assert (await client.get(path, headers=stranger)).status_code == 403, path
        missing = await client.get(f"/plans/{uuid.uuid4()}/compliance", headers=auditor)
        assert missing.status_code == 404


async def test_campaign_rebuild_repairs_the_task_facts_and_fences_the_active_projector(
    domain_store: EventStore, pool: asyncpg.Pool[Any], dsn: str
) -> None:
    await load_demo(domain_store)
    active = Projector(domain_store, task_facts.MODEL, owner="active")
    assert await active.claim()
    await active.catch_up_to_the_end()
    truth = await facts(pool)
    await pool.execute("UPDATE task_facts SET status = 'withdrawn'")  # a damaged read model

    rebuilt = campaign(dsn, "rebuild")

    assert rebuilt.returncode == 0, rebuilt.stderr
    assert "rebuilt the task facts: 11 tasks from 60 events" in rebuilt.stdout
    assert "task_facts fold" in rebuilt.stderr and "task_facts write" in rebuilt.stderr
    assert await facts(pool) == truth
    with pytest.raises(Fenced):
        await active.step()  # its claim predates the rebuild
    assert await active.claim()  # the rebuild released the projection
    assert await active.step() == 0  # and left the checkpoint at the end of the feed


async def test_the_api_shows_how_far_the_projector_lags(
    domain_store: EventStore, pool: asyncpg.Pool[Any]
) -> None:
    from services.api.app import create_app
    from services.runtime.config import load_settings
    from tests.http import api_client

    await load_demo(domain_store)  # and no projector has run
    lagging = 'campaign_projector_lag_events{projection="task_facts"} 60.0'
    async with api_client(create_app(load_settings({}), pool=pool)) as client:
        for _ in range(50):
            if lagging in (await client.get("/metrics")).text:
                break
            await asyncio.sleep(0.1)
        assert lagging in (await client.get("/metrics")).text


async def test_a_read_with_a_commands_cursor_waits_for_the_projector(
    domain_store: EventStore, pool: asyncpg.Pool[Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    from services.api import consistency
    from services.api.app import create_app
    from services.ops.demo import demo_id
    from services.runtime.config import load_settings
    from tests.http import api_client
    from tests.org import bearer, make_user

    monkeypatch.setattr(consistency, "WAIT_SECONDS", 0.3)
    await load_demo(domain_store)
    _, token = await make_user(domain_store, "auditor", demo_id("unit:sl-du"))
    head = (await domain_store.read_all(limit=1000)).events[-1].cursor  # a user event, last
    auditor = bearer(token)
    path = f"/plans/{demo_id('plan:334')}/compliance"
    async with api_client(create_app(load_settings({}), pool=pool)) as client:
        stale = await client.get(path, headers=auditor, params={"after": head})
        assert stale.status_code == 200
        assert (stale.headers.get("consistency"), stale.json()["assigned"]) == ("stale", 0)

        projector = Projector(domain_store, task_facts.MODEL, owner="live")
        stop = asyncio.Event()
        running = asyncio.create_task(projector.run(stop, None, poll_seconds=0.05))
        monkeypatch.setattr(consistency, "WAIT_SECONDS", 10.0)
        fresh = await client.get(path, headers={**auditor, "Consistency-Token": head})
        assert "consistency" not in fresh.headers
        assert (fresh.json()["assigned"], fresh.json()["completion_rate"]) == (3, "3/3")
        board = await client.get(
            f"/units/{demo_id('unit:sl-t1')}/assignments", headers=auditor, params={"after": head}
        )
        assert "consistency" not in board.headers and len(board.json()["items"]) == 1
        stop.set()
        await asyncio.wait_for(running, 10)

        garbage = await client.get(path, headers=auditor, params={"after": "not-a-cursor"})
        assert (garbage.status_code, garbage.json()["type"]) == (400, "/problems/invalid-cursor")


async def test_consolidated_reports_count_their_own_figures_and_their_sources_once(
    pool: asyncpg.Pool[Any],
) -> None:
    import uuid
    from datetime import UTC, datetime

    from projections import compliance, task_facts
    from projections.projector import _upsert
    from projections.task_facts import TaskFact

    plan, unit, when = uuid.uuid4(), uuid.uuid4(), datetime(2022, 10, 16, tzinfo=UTC)
    group_1, group_2, cell, committee = (uuid.uuid4() for _ in range(4))

    def completed(task: uuid.UUID, metrics: dict[str, int], *sources: uuid.UUID) -> TaskFact:
        return TaskFact(
            task, plan, "2", unit, unit, unit, "completed_on_time", when, when, when,
            completed_at=when, on_time=True, days_late=0, filed_metrics=metrics, metrics=metrics,
            consolidated=bool(sources), filed_consolidated=bool(sources),
            filed_sources=sources, sources=sources,
        )  # fmt: skip

    rows = [
        completed(group_1, {"x": 3}),
        completed(group_2, {"x": 4, "y": 1}),
        completed(cell, {"x": 5 + 3 + 4, "y": 1}, group_1, group_2),  # its own 5 and theirs
        completed(committee, {"x": 1 + 12, "y": 1}, cell),  # its own 1 and the cell's total
    ]
    await pool.executemany(_upsert(task_facts.MODEL), [task_facts.values(row) for row in rows])

    figures = await compliance.for_plan(pool, plan, when)

    assert figures.metrics == {"x": 3 + 4 + 5 + 1, "y": 1}


async def test_a_rebuild_is_swapped_in_while_reads_and_the_live_projector_keep_working(
    domain_store: EventStore, pool: asyncpg.Pool[Any], dsn: str
) -> None:
    import random

    from projections import compliance
    from projections.rebuild import RebuildRunning, rebuild_beside
    from tests.task_histories import NOW, append_history, random_history

    rng = random.Random(1293)
    histories = [random_history(rng, 10, 150) for _ in range(12)]
    for history in histories[:8]:
        await append_history(domain_store, history)
    indexes = "SELECT indexname FROM pg_indexes WHERE tablename = 'task_facts' ORDER BY 1"
    before = [r["indexname"] for r in await pool.fetch(indexes)]
    listener = WakeUpListener(dsn)
    await listener.start()
    live = Projector(domain_store, task_facts.MODEL, owner="live", stale_after=5)
    stop = asyncio.Event()
    running = asyncio.create_task(live.run(stop, listener, poll_seconds=0.05))
    reads = 0

    async def read_all_along() -> None:
        nonlocal reads
        while not stop.is_set():
            await compliance.for_plan(pool, histories[0].plan_id, NOW)
            reads += 1
            await asyncio.sleep(0)

    reader = asyncio.create_task(read_all_along())
    rebuilding = asyncio.create_task(
        rebuild_beside(task_facts.MODEL, domain_store, page=20, chunk=50)
    )
    for history in histories[8:]:  # appended while the rebuild runs
        await append_history(domain_store, history)
    done = await rebuilding
    total = await pool.fetchval("SELECT count(*) FROM events WHERE category = 'assignment'")
    assert 0 < done.events <= total
    for _ in range(200):  # the live projector is fenced, claims again, resumes on the new table
        row = await pool.fetchrow(
            "SELECT owner, events FROM projector_checkpoints WHERE name = 'task_facts'"
        )
        if row["owner"] == "live" and row["events"] == total:
            break
        await asyncio.sleep(0.05)
    assert (row["owner"], row["events"]) == ("live", total)
    stop.set()
    await asyncio.wait_for(asyncio.gather(running, reader), 10)
    await listener.close()
    assert reads > 0
    async with pool.acquire() as holder:  # a second rebuild at the same time is refused
        await holder.execute("SELECT pg_advisory_lock(hashtextextended('rebuild:task_facts', 0))")
        with pytest.raises(RebuildRunning):
            await rebuild_beside(task_facts.MODEL, domain_store)
        await holder.execute("SELECT pg_advisory_unlock_all()")
    assert [r["indexname"] for r in await pool.fetch(indexes)] == before
    every = await domain_store.read_all(categories=["assignment"], decode=True, limit=10_000)
    assert len(every.events) == total
    rows = {
        UUID(r["assignment_id"].hex): r
        for r in await pool.fetch(f"SELECT {', '.join(task_facts.COLUMNS)} FROM task_facts")
    }
    assert {k: task_facts.from_record(v) for k, v in rows.items()} == task_facts.fold(every.events)
