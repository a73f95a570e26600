"""The projector as operators run it: `campaign project` processes killed with SIGKILL at
random points, and a frozen active one (SIGSTOP) fenced once a standby took over."""

from __future__ import annotations

import asyncio
import os
import random
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import asyncpg
import pytest

from events.store import EventStore
from projections import plan_view, task_facts
from tests.task_histories import History, append_history, random_history
from tests.waiting import until

pytestmark = pytest.mark.slow


def start_projector(dsn: str, owner: str, log: Path, *options: str) -> subprocess.Popen[bytes]:
    env = {**os.environ, "DATABASE_URL": dsn, "LOG_FORMAT": "json"}
    with log.open("ab") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "services.ops.cli", "project", "--owner", owner, *options],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )


async def checkpoint(pool: asyncpg.Pool[Any]) -> dict[str, Any]:
    row = await pool.fetchrow(
        "SELECT owner, owner_epoch, events FROM projector_checkpoints WHERE name = 'task_facts'"
    )
    return dict(row) if row else {"owner": None, "owner_epoch": 0, "events": 0}


async def task_event_count(pool: asyncpg.Pool[Any]) -> int:
    return int(await pool.fetchval("SELECT count(*) FROM events WHERE category = 'assignment'"))


async def assert_projection_is_the_fold(store: EventStore, histories: list[History]) -> None:
    """Every task's row is the fold of its events; nothing lost, nothing applied twice."""
    for history in histories:
        position = await store.position_at(await store.pool.fetchval("SELECT now()"))
        assert position is not None
        expected = task_facts.fold(await store.plan_events_through(history.plan_id, position))
        rows = await plan_view.facts_of_plan(store.pool, history.plan_id)
        assert {f.assignment_id: f for f in rows} == expected
    assert (await checkpoint(store.pool))["events"] == await task_event_count(store.pool)


def stop(process: subprocess.Popen[bytes]) -> int:
    process.send_signal(signal.SIGTERM)
    return process.wait(timeout=20)


async def test_a_projector_killed_at_random_points_loses_and_duplicates_nothing(
    domain_store: EventStore, pool: asyncpg.Pool[Any], dsn: str, tmp_path: Path
) -> None:
    rng = random.Random(20221016)
    histories: list[History] = []
    log = tmp_path / "projector.log"
    kills_mid_way = 0
    round_ = 0
    while kills_mid_way < 6 and round_ < 30:  # kill until six kills have landed mid-way
        round_ += 1
        before = (await checkpoint(pool))["events"]
        if before == await task_event_count(pool):  # caught up: more events arrive meanwhile
            for _ in range(6):
                histories.append(random_history(rng, 10, 150))
                await append_history(domain_store, histories[-1])
        total = await task_event_count(pool)
        process = start_projector(dsn, f"p{round_}", log, "--batch", "10")

        async def moved(before: int = before) -> bool:
            return (await checkpoint(pool))["events"] > before

        await until(moved)
        await asyncio.sleep(rng.uniform(0, 0.04))  # the kill lands at a random point
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=10)
        at_kill = (await checkpoint(pool))["events"]
        kills_mid_way += before < at_kill < total
    histories.append(random_history(rng, 10, 150))
    await append_history(domain_store, histories[-1])
    total = await task_event_count(pool)
    assert kills_mid_way >= 6, kills_mid_way
    # A last start (it takes over at once: the killed one's lock went with its connection).
    last = start_projector(dsn, "last", log)

    async def caught_up() -> bool:
        return (await checkpoint(pool))["events"] == total

    await until(caught_up)
    assert stop(last) == 0
    assert (await checkpoint(pool))["owner"] is None
    await assert_projection_is_the_fold(domain_store, histories)


async def test_a_frozen_projector_is_fenced_once_a_standby_took_over(
    domain_store: EventStore, pool: asyncpg.Pool[Any], dsn: str, tmp_path: Path
) -> None:
    rng = random.Random(334)
    histories = [random_history(rng, 8, 120) for _ in range(3)]
    await append_history(domain_store, histories[0])
    a_log, b_log = tmp_path / "a.log", tmp_path / "b.log"
    a = start_projector(dsn, "A", a_log, "--stale-after", "2", "--batch", "25")
    b: subprocess.Popen[bytes] | None = None
    try:

        async def owned_by_a_and_caught_up() -> bool:
            state = await checkpoint(pool)
            return state["owner"] == "A" and state["events"] == await task_event_count(pool)

        await until(owned_by_a_and_caught_up)
        b = start_projector(dsn, "B", b_log, "--stale-after", "2", "--batch", "25")
        owned = await checkpoint(pool)

        async def b_queued_for_the_lock() -> bool:
            return bool(
                await pool.fetchval(
                    "SELECT count(*) FROM pg_locks l JOIN pg_database d ON d.oid = l.database "
                    "WHERE l.locktype = 'advisory' AND NOT l.granted "
                    "AND d.datname = current_database()"
                )
            )

        await until(b_queued_for_the_lock)  # B is up, found A active and stands by
        # Longer than a heartbeat may age before B takes over: B still stands by.
        await asyncio.sleep(2.5)
        standing_by = await checkpoint(pool)  # B stands by while A heart-beats
        assert (standing_by["owner"], standing_by["owner_epoch"]) == ("A", owned["owner_epoch"])

        a.send_signal(signal.SIGSTOP)
        await append_history(domain_store, histories[1])

        async def b_took_over_and_advanced() -> bool:
            state = await checkpoint(pool)
            return state["owner"] == "B" and state["events"] == await task_event_count(pool)

        await until(b_took_over_and_advanced)

        a.send_signal(signal.SIGCONT)

        async def a_refused() -> bool:
            return b"projector fenced" in a_log.read_bytes()

        await until(a_refused, timeout=15)
        assert b"B lost" not in b_log.read_bytes()
        await append_history(domain_store, histories[2])
        await until(b_took_over_and_advanced)
        assert (await checkpoint(pool))["owner"] == "B"
        await assert_projection_is_the_fold(domain_store, histories)
    finally:
        a.send_signal(signal.SIGCONT)
        assert stop(a) == 0
        if b is not None:
            assert stop(b) == 0
