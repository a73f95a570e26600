"""SIGTERM under load, per role, as an orchestrator sends it: the API finishes every request
it accepted with its normal answer; the projector leaves no half-applied batch and lets go of
the projection; the worker finishes the delivery it was making. Each exits 0."""

from __future__ import annotations

import asyncio
import random
import signal
import subprocess
import time
import uuid
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest

from events.envelope import Metadata, NewEvent, StreamWrite
from events.store import EventStore
from projections import plan_view, task_facts
from services.api.app import create_app
from services.ops.demo import load_demo
from services.runtime.config import load_settings
from tests.e2e.test_dev import free_port
from tests.http import api_client
from tests.org import bearer, make_user
from tests.processes import start_campaign
from tests.receiver import RECEIVERS, Receiver
from tests.support import Noted
from tests.task_histories import History, append_history, random_history
from tests.waiting import until

pytestmark = pytest.mark.slow


def start(dsn: str, log: Path, *args: str, **env: str) -> subprocess.Popen[bytes]:
    return start_campaign(log, *args, DATABASE_URL=dsn, **env)


async def test_the_api_finishes_every_accepted_request_on_sigterm(
    store: EventStore, domain_store: EventStore, dsn: str, tmp_path: Path
) -> None:
    # Enough events that a catch-up page takes a while to send.
    for _ in range(10):
        stream = f"note-{uuid.uuid4()}"
        await store.append(
            [StreamWrite(stream, 0, [NewEvent(Noted(text="x" * 200)) for _ in range(1000)])],
            Metadata(),
        )
    _, token = await make_user(domain_store, "admin")
    port = free_port()
    server = start(dsn, tmp_path / "api.log", "serve", HTTP_PORT=str(port), LOG_LEVEL="warning")
    base = f"http://127.0.0.1:{port}"
    async with httpx.AsyncClient(base_url=base, headers=bearer(token), timeout=60) as client:

        async def served() -> bool:
            try:
                return (await client.get("/health/live")).status_code == 200
            except httpx.TransportError:
                return False

        await until(served, 30)
        started = 0

        async def feed() -> tuple[str, int, int]:
            nonlocal started
            async with client.stream(
                "GET",
                "/events",
                params={"limit": "10000"},
                headers={"Accept": "application/x-ndjson"},
            ) as answer:
                started += 1
                lines = 0
                async for chunk in answer.aiter_bytes():
                    lines += chunk.count(b"\n")
                return "feed", answer.status_code, lines

        sent = 0

        async def trace(event: str, _: dict[str, Any]) -> None:
            nonlocal sent
            sent += event == "http11.send_request_body.complete"

        async def command(n: int) -> tuple[str, int, int]:
            answer = await client.post(
                "/units",
                json={"name": f"Chi bộ {n}", "short_code": f"CB{n}", "kind": "party_cell"},
                extensions={"trace": trace},
            )
            return "command", answer.status_code, len(answer.json().get("events", []))

        requests = [asyncio.create_task(feed()) for _ in range(8)]
        requests += [asyncio.create_task(command(n)) for n in range(20)]
        # Every request is in (a loaded machine may still be connecting some of them): the
        # commands all sent, the feeds all streaming.
        await until(lambda: started == 8 and sent == 20, 30, "every request to be sent")
        server.send_signal(signal.SIGTERM)
        signalled = time.monotonic()
        in_flight = sum(not r.done() for r in requests)
        answers = await asyncio.gather(*requests)
        code = server.wait(timeout=30)
        stopped_after = time.monotonic() - signalled
        try:
            await client.get("/health/live")
            refused_after = False
        except httpx.TransportError:
            refused_after = True
    assert code == 0
    assert in_flight >= 4  # signalled while requests were being answered
    assert sorted({(kind, status) for kind, status, _ in answers}) == [
        ("command", 201),
        ("feed", 200),
    ]
    assert {lines for kind, _, lines in answers if kind == "feed"} == {10_000}
    assert {count for kind, _, count in answers if kind == "command"} == {1}
    units = await domain_store.pool.fetchval(
        "SELECT count(*) FROM events WHERE type = 'UnitRegistered'"
    )
    assert units == 20
    assert refused_after and stopped_after < 25


async def checkpoint(pool: asyncpg.Pool[Any]) -> asyncpg.Record:
    row = await pool.fetchrow("SELECT * FROM projector_checkpoints WHERE name = 'task_facts'")
    assert row is not None
    return row


async def test_the_projector_commits_its_batch_and_lets_go_on_sigterm(
    domain_store: EventStore, pool: asyncpg.Pool[Any], dsn: str, tmp_path: Path
) -> None:
    rng = random.Random(1016)
    histories: list[History] = []
    for _ in range(40):
        histories.append(random_history(rng, 10, 150))
        await append_history(domain_store, histories[-1])
    total = await pool.fetchval("SELECT count(*) FROM events WHERE category = 'assignment'")
    stops, mid_way = [], 0
    for round_ in range(4):
        before = (await checkpoint(pool))["events"] if round_ else 0
        projector = start(
            dsn, tmp_path / "p.log", "project", "--owner", f"p{round_}", "--batch", "50"
        )

        async def moved(before: int = before) -> bool:
            row = await pool.fetchrow(
                "SELECT events FROM projector_checkpoints WHERE name = 'task_facts'"
            )
            return row is not None and row["events"] > before

        await until(moved, 30)
        projector.send_signal(signal.SIGTERM)
        stops.append(projector.wait(timeout=20))
        row = await checkpoint(pool)
        # What the table holds is exactly the events up to the checkpoint: no half batch.
        for history in histories:
            expected = task_facts.fold(
                await domain_store.plan_events_through(
                    history.plan_id, (row["tx_id"], row["position"])
                )
            )
            rows = await plan_view.facts_of_plan(pool, history.plan_id)
            assert {f.assignment_id: f for f in rows} == expected
        mid_way += 0 < row["events"] < total
        assert row["owner"] is None  # it let go: a standby claims at once
        locks = await pool.fetchval(  # this database's: the cluster is shared
            "SELECT count(*) FROM pg_locks l JOIN pg_database d ON d.oid = l.database "
            "WHERE l.locktype = 'advisory' AND d.datname = current_database()"
        )
        assert locks == 0
        if row["events"] == total:
            break
    assert stops and set(stops) == {0}
    assert mid_way >= 1


async def test_the_worker_finishes_the_delivery_it_is_making_on_sigterm(
    domain_store: EventStore,
    pool: asyncpg.Pool[Any],
    dsn: str,
    redis_url: str,
    tmp_path: Path,
) -> None:
    await load_demo(domain_store)
    _, admin = await make_user(domain_store, "admin")
    app = create_app(load_settings({"WEBHOOK_ALLOWED_TARGETS": RECEIVERS}), pool=pool)
    log = tmp_path / "w.log"
    with Receiver() as receiver:
        receiver.held.clear()  # the receiver answers only once the worker was told to stop
        async with api_client(app) as client:
            created = await client.post(
                "/subscriptions",
                headers=bearer(admin),
                json={
                    "url": receiver.url,
                    "secret": "s3cret-of-the-department-0123456789",
                    "start": "beginning",
                    "filter": {"categories": ["plan"]},
                },
            )
            subscription = created.json()["id"]
            worker = start(
                dsn,
                log,
                "worker",
                "--name",
                "stopping",
                REDIS_URL=redis_url,
                WEBHOOK_ALLOWED_TARGETS=RECEIVERS,
                WEBHOOK_BATCH="5",
                WEBHOOK_TIMEOUT_SECONDS="10",
            )
            await until(receiver.arrived.is_set, 30, "the first delivery")
            worker.send_signal(signal.SIGTERM)
            await until(lambda: b"shutdown on SIGTERM" in log.read_bytes(), 30, "the signal")
            receiver.held.set()
            code = worker.wait(timeout=30)
            state = (
                await client.get(f"/subscriptions/{subscription}", headers=bearer(admin))
            ).json()
    assert code == 0
    (delivered,) = receiver.accepted()
    assert state["cursor"] == delivered.events[-1]["cursor"]  # finished, cursor moved
    assert state["in_flight"] is False
