"""The projector as operators run it, through database outages: two `campaign project`
processes (active and standby) against a PostgreSQL cluster of the test's own, stopped for a
while under a command load and started again, twice; and the active one killed (SIGKILL), taken
over by the standby through the advisory lock. Figures are printed; deadlines are generous and
no assertion rests on a duration."""

from __future__ import annotations

import asyncio
import json
import os
import random
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import asyncpg
import pytest

from events.store import EventStore, create_pool
from projections import task_facts
from projections.projector import DATABASE_ERRORS
from projections.registry import rebuild
from services.ops.migrate import migrate_and_rebuild
from tests.resilience.cluster import Cluster, available
from tests.servers import spare_port
from tests.task_histories import append_history, random_history

pytestmark = pytest.mark.skipif(not available(), reason="no local PostgreSQL binaries")

BIG = os.environ.get("RESILIENCE_BIG") == "1"


@pytest.fixture(scope="module")
def cluster() -> Iterator[Cluster]:
    with Cluster.create() as created:
        yield created


@pytest.fixture
async def database(cluster: Cluster) -> str:
    dsn = cluster.create_database(f"campaign_{os.urandom(4).hex()}")
    await migrate_and_rebuild(dsn)
    return dsn


class Role:
    """One `campaign project` process, its log and its probe port."""

    def __init__(self, dsn: str, owner: str, folder: Path, *options: str) -> None:
        self.owner = owner
        self.port = spare_port()
        self.log = folder / f"{owner}.log"
        env = {
            **os.environ,
            "DATABASE_URL": dsn,
            "LOG_FORMAT": "json",
            "METRICS_PORT": str(self.port),
        }
        with self.log.open("ab") as out:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "services.ops.cli", "project", "--owner", owner, *options],
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
            )

    def lines(self, message: str) -> int:
        return sum(
            1 for line in self.log.read_text(errors="replace").splitlines() if message in line
        )

    async def get(self, path: str) -> tuple[int, str]:
        def fetch() -> tuple[int, str]:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{self.port}{path}", timeout=5) as r:
                    return r.status, r.read().decode()
            except urllib.error.HTTPError as error:
                return error.code, error.read().decode()
            except OSError:
                return 0, ""

        return await asyncio.to_thread(fetch)

    async def waiting_for_database(self) -> bool:
        status, body = await self.get("/metrics")
        return status == 200 and any(
            line.startswith("campaign_projector_waiting_for_database{") and line.endswith(" 1.0")
            for line in body.splitlines()
        )

    def stop(self) -> int:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        return self.process.wait(timeout=30)


async def until(condition: Any, timeout: float = 60.0, what: str = "condition") -> float:
    """Wait for `condition` (an async callable); returns the seconds it took."""
    started = time.monotonic()
    while True:
        try:
            if await condition():
                return time.monotonic() - started
        except DATABASE_ERRORS:
            pass
        assert time.monotonic() - started < timeout, f"timed out waiting for {what}"
        await asyncio.sleep(0.05)


async def query(dsn: str, sql: str) -> Any:
    connection = await asyncpg.connect(dsn, timeout=5)
    try:
        return await connection.fetchval(sql)
    finally:
        await connection.close()


async def owner(dsn: str) -> str | None:
    return await query(  # type: ignore[no-any-return]
        dsn, "SELECT owner FROM projector_checkpoints WHERE name = 'task_facts'"
    )


async def caught_up(dsn: str) -> bool:
    return bool(
        await query(
            dsn,
            "SELECT (SELECT events FROM projector_checkpoints WHERE name = 'task_facts') = "
            "(SELECT count(*) FROM events WHERE category = 'assignment')",
        )
    )


@pytest.fixture
async def store(database: str) -> AsyncIterator[EventStore]:
    pool = await create_pool(database, min_size=1, max_size=4)
    created = EventStore(pool)
    yield created
    await created.close()
    pool.terminate()  # its connections lived through the outages: nothing to close politely


async def load(store: EventStore, stop: asyncio.Event, counts: dict[str, int]) -> None:
    """Commands appending task events, on and on; refused while the database is away."""
    rng = random.Random(18)
    while not stop.is_set():
        try:
            await append_history(store, random_history(rng, 4, 30))
            counts["histories"] += 1
        except DATABASE_ERRORS:
            counts["refused"] += 1
            await store.pool.expire_connections()
            await asyncio.sleep(0.2)
        await asyncio.sleep(0.05)


@pytest.mark.parametrize(
    "outage_seconds",
    [
        10.0,
        pytest.param(
            20.0,
            marks=[
                pytest.mark.slow,
                pytest.mark.skipif(not BIG, reason="set RESILIENCE_BIG=1 (about 75 s)"),
            ],
        ),
    ],
)
async def test_both_projectors_ride_out_database_outages(
    cluster: Cluster, database: str, store: EventStore, tmp_path: Path, outage_seconds: float
) -> None:
    active = Role(database, "A", tmp_path, "--batch", "50")
    standby: Role | None = None
    stop_load = asyncio.Event()
    counts = {"histories": 0, "refused": 0}
    loader: asyncio.Task[None] | None = None
    try:

        async def a_owns_it() -> bool:
            return await owner(database) == "A"

        await until(a_owns_it, what="A active")
        standby = Role(database, "B", tmp_path, "--batch", "50")

        async def b_is_ready() -> bool:
            assert standby is not None
            return (await standby.get("/health/ready"))[0] == 200

        await until(b_is_ready, what="B ready")
        loader = asyncio.create_task(load(store, stop_load, counts))
        await asyncio.sleep(1.0)
        for outage in (1, 2):
            cluster.stop("fast")
            stopped = time.monotonic()
            seen_waiting = {"A": False, "B": False}
            while time.monotonic() - stopped < outage_seconds:
                for role in (active, standby):
                    seen_waiting[role.owner] |= await role.waiting_for_database()
                await asyncio.sleep(0.25)
            cluster.start()
            restarted = time.monotonic()
            target = await query(
                database, "SELECT count(*) FROM events WHERE category = 'assignment'"
            )

            async def passed_the_target(target: int = target) -> bool:
                applied = await query(
                    database, "SELECT events FROM projector_checkpoints WHERE name = 'task_facts'"
                )
                return bool(applied >= target)

            async def none_waiting() -> bool:
                return not any([await r.waiting_for_database() for r in (active, standby)])

            recovery = await until(passed_the_target, what="the projection to move on")
            back = await until(none_waiting, what="both projectors to reach the database")
            print(
                f"\noutage {outage}: database stopped {outage_seconds:.0f} s; the projection "
                f"passed every event committed before the restart {recovery:.2f} s after it; "
                f"both projectors connected again within {time.monotonic() - restarted:.2f} s "
                f"(last check {back:.2f} s); waiting gauge seen during the outage: {seen_waiting}"
            )
            assert active.process.poll() is None and standby.process.poll() is None
            await asyncio.sleep(1.0)  # the load goes on after the restart

        stop_load.set()
        await loader
        finished = time.monotonic()
        await until(lambda: caught_up(database), what="lag 0")
        print(
            f"caught up {time.monotonic() - finished:.2f} s after the load stopped; "
            f"histories appended: {counts['histories']}, "
            f"refused during outages: {counts['refused']}"
        )
        assert counts["histories"] > 0

        async def ready_with_no_lag() -> bool:
            bodies = [
                json.loads((await r.get("/health/ready"))[1] or "{}") for r in (active, standby)
            ]
            return all(
                b.get("status") == "ok" and b["lag"]["task_facts"]["events"] == 0 for b in bodies
            ) and any(b["active"] for b in bodies)

        await until(ready_with_no_lag, what="the readiness bodies to show lag 0")
        # Nothing lost, nothing applied twice: the rows are those of a rebuild from the events.
        live = [dict(r) for r in await store.pool.fetch("SELECT * FROM task_facts ORDER BY 1")]
        await rebuild(task_facts.MODEL, store)
        rebuilt = [dict(r) for r in await store.pool.fetch("SELECT * FROM task_facts ORDER BY 1")]
        assert live == rebuilt and len(live) > 0
        # Said once per outage, not once per retry.
        for role in (active, standby):
            announced = role.lines("projector waiting for the database")
            assert announced <= 2, (role.owner, announced)
        assert (
            active.lines("projector waiting for the database")
            + standby.lines("projector waiting for the database")
            >= 2
        )
        assert active.process.poll() is None and standby.process.poll() is None
    finally:
        stop_load.set()
        if loader is not None:
            await asyncio.gather(loader, return_exceptions=True)
        codes = [role.stop() for role in (active, standby) if role is not None]
    assert codes == [0, 0]


async def test_a_killed_active_projector_is_taken_over_by_the_standby_at_once(
    database: str, store: EventStore, tmp_path: Path
) -> None:
    # Heartbeats go stale only after a minute: a takeover sooner comes through the lock.
    active = Role(database, "A", tmp_path, "--stale-after", "60")
    standby: Role | None = None
    try:

        async def a_owns_it() -> bool:
            return await owner(database) == "A"

        await until(a_owns_it, what="A active")
        standby = Role(database, "B", tmp_path, "--stale-after", "60")

        async def b_queued_on_the_lock() -> bool:
            return bool(
                await query(
                    database,
                    "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted",
                )
            )

        await until(b_queued_on_the_lock, what="B queued on the lock")
        await append_history(store, random_history(random.Random(7), 4, 30))
        await until(lambda: caught_up(database), what="A caught up")
        active.process.send_signal(signal.SIGKILL)
        active.process.wait(timeout=10)

        async def b_owns_it() -> bool:
            return await owner(database) == "B"

        takeover = await until(b_owns_it, timeout=30, what="B to take over")
        print(f"\ntakeover after kill -9 of the active projector: {takeover * 1000:.0f} ms")
        await append_history(store, random_history(random.Random(8), 4, 30))
        await until(lambda: caught_up(database), what="B caught up")
        assert standby.process.poll() is None
    finally:
        if active.process.poll() is None:
            active.process.kill()
        active.process.wait(timeout=10)
        code = standby.stop() if standby is not None else 0
    assert code == 0


async def test_a_projector_started_while_the_database_is_down_waits_for_it(
    cluster: Cluster, database: str, store: EventStore, tmp_path: Path
) -> None:
    await append_history(store, random_history(random.Random(9), 4, 30))
    cluster.stop("fast")
    role = Role(database, "early", tmp_path)
    try:

        async def said_it_waits() -> bool:
            return role.lines("waiting for the database to start") == 1

        await until(said_it_waits, what="the projector to say it waits")
        assert role.process.poll() is None  # waiting, not gone
        cluster.start()

        async def it_owns_it() -> bool:
            return await owner(database) == "early"

        took = await until(it_owns_it, what="the projector to claim once the database is back")
        print(f"\nclaimed {took:.2f} s after the database started")
        await until(lambda: caught_up(database), what="caught up")
    finally:
        if not cluster.running():
            cluster.start()
        code = role.stop()
    assert code == 0
