"""The whole fleet through database outages: the API, two projectors and two workers as
processes, on a PostgreSQL cluster and a redis-server of the test's own, with tasks falling due
while the database is away. The database is stopped twice; afterwards every role still runs,
the task facts equal a fold of the events, every step that fell due is recorded once, and the
API answered 503 with `Retry-After` meanwhile (never a 500). Figures are printed; no assertion
rests on a duration. Default outages are short (CI); RESILIENCE_BIG=1 runs the 20 s ones."""

from __future__ import annotations

import asyncio
import os
import time
import urllib.error
import urllib.request
from collections import Counter
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from subprocess import Popen

import pytest

from events.store import EventStore, create_pool
from projections import task_facts
from services.ops.demo import load_demo
from services.ops.migrate import migrate_and_rebuild
from tests.org import make_user
from tests.processes import start_campaign, stop
from tests.resilience.cluster import Cluster, available
from tests.resilience.private_servers import PrivateRedis
from tests.resilience.test_worker_redis_outage import TASKS, issue, misses
from tests.servers import spare_port

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not available(), reason="no local PostgreSQL binaries"),
]

BIG = os.environ.get("RESILIENCE_BIG") == "1"
OUTAGE = 20.0 if BIG else 6.0


@pytest.fixture
def cluster() -> Iterator[Cluster]:
    with Cluster.create() as created:
        yield created


@pytest.fixture
def redis() -> Iterator[PrivateRedis]:
    server = PrivateRedis()
    server.start()
    try:
        yield server
    finally:
        server.close()


@pytest.fixture
async def store(cluster: Cluster) -> AsyncIterator[EventStore]:
    dsn = cluster.create_database("fleet")
    await migrate_and_rebuild(dsn)
    pool = await create_pool(dsn, min_size=1, max_size=4)
    created = EventStore(pool)
    yield created
    await created.close()
    pool.terminate()  # its connections lived through the outages: nothing to close politely


def post(url: str, token: str) -> tuple[int, str | None]:
    request = urllib.request.Request(
        url,
        data=b'{"name": "Ban thu", "short_code": "BT%d"}' % time.monotonic_ns(),
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as answer:
            return answer.status, answer.headers.get("Retry-After")
    except urllib.error.HTTPError as error:
        return error.code, error.headers.get("Retry-After")
    except (urllib.error.URLError, OSError):
        return 0, None


async def until(check: object, timeout: float, what: str) -> float:
    started = time.monotonic()
    while True:
        try:
            if await check():  # type: ignore[operator]
                return time.monotonic() - started
        except Exception:  # the database may still be coming back
            pass
        assert time.monotonic() - started < timeout, f"timed out waiting for {what}"
        await asyncio.sleep(0.2)


async def test_the_fleet_rides_out_two_database_outages(
    cluster: Cluster, redis: PrivateRedis, store: EventStore, tmp_path: Path
) -> None:
    dsn = cluster.dsn("fleet")
    await load_demo(store)
    _, token = await make_user(store, "admin")
    port = spare_port()
    env = {"DATABASE_URL": dsn, "REDIS_URL": redis.url, "LOG_LEVEL": "warning"}
    roles: dict[str, Popen[bytes]] = {
        "api": start_campaign(tmp_path / "api.log", "serve", HTTP_PORT=str(port), **env),
        "projector A": start_campaign(tmp_path / "pa.log", "project", "--owner", "A", **env),
        "projector B": start_campaign(tmp_path / "pb.log", "project", "--owner", "B", **env),
        "worker 1": start_campaign(
            tmp_path / "w1.log", "worker", "--name", "w1", "--tick", "2", **env
        ),
        "worker 2": start_campaign(
            tmp_path / "w2.log", "worker", "--name", "w2", "--tick", "2", **env
        ),
    }
    api = f"http://127.0.0.1:{port}/units"
    tasks: list = []
    answers: Counter[int] = Counter()
    retry_after: set[str | None] = set()
    try:
        await until(
            lambda: asyncio.to_thread(lambda: post(api, token)[0] == 201), 60, "the API to serve"
        )
        for outage in (1, 2):
            due = datetime.now(UTC) + timedelta(seconds=3)
            tasks += await issue(store, due)  # their misses fall due while the database is away
            cluster.stop("fast")
            stopped = time.monotonic()
            while time.monotonic() - stopped < OUTAGE:
                status, after = await asyncio.to_thread(post, api, token)
                answers[status] += 1
                if status == 503:
                    retry_after.add(after)
                await asyncio.sleep(0.5)
            cluster.start()
            back = await until(
                lambda: asyncio.to_thread(lambda: post(api, token)[0] == 201),
                60,
                "the API to serve again",
            )
            print(f"\noutage {outage}: {OUTAGE:.0f} s; the API served again {back:.2f} s later")
            for name, process in roles.items():
                assert process.poll() is None, f"{name} exited during outage {outage}"

        async def every_miss_recorded() -> bool:
            return len(await misses(store.pool, tasks)) >= len(tasks)

        took = await until(every_miss_recorded, 90, "the steps that fell due")
        print(f"steps of both outages recorded {took:.1f} s after the second restart")

        async def facts_are_the_fold() -> bool:
            page = await store.read_all(categories=["assignment"], decode=True, limit=10_000)
            folded = task_facts.fold(page.events)
            rows = await store.pool.fetch(f"SELECT {', '.join(task_facts.COLUMNS)} FROM task_facts")
            return {r["assignment_id"]: task_facts.from_record(r) for r in rows} == folded

        await until(facts_are_the_fold, 90, "the task facts to equal a fold of the events")
        recorded = await misses(store.pool, tasks)
        assert sorted(Counter(r["stream_id"] for r in recorded).values()) == [1] * (2 * TASKS)
        for name, process in roles.items():
            assert process.poll() is None, f"{name} exited"
    finally:
        codes = {name: stop(process) for name, process in roles.items()}
    print(f"answers during the outages: {dict(answers)}; Retry-After: {retry_after}")
    assert 500 not in answers and answers[503] > 0
    assert retry_after == {"5"}
    assert codes == dict.fromkeys(roles, 0)
