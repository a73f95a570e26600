"""The API while its database is away: every command and read answers 503
`database-unavailable` with `Retry-After` (never 500), readiness says not ready, the outage is
logged once (not a traceback per request), and the API serves again by itself when the
database returns (issue 18)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from typing import Any

import pytest
from structlog.testing import capture_logs

import events.domain  # noqa: F401 - registers every domain event
from events.store import EventStore, create_pool
from services.api.app import create_app
from services.runtime.config import load_settings
from tests.http import api_client
from tests.org import bearer, make_user
from tests.resilience.private_servers import PrivatePostgres, migrated
from tests.waiting import until


@pytest.fixture
def database() -> Iterator[PrivatePostgres]:
    server = PrivatePostgres()
    try:
        migrated(server)
        yield server
    finally:
        server.close()


async def test_the_api_answers_503_while_the_database_is_away(database: PrivatePostgres) -> None:
    pool = await create_pool(database.url, min_size=1, max_size=2)
    store = EventStore(pool)
    _, token = await make_user(store, "admin")
    await store.close()
    await pool.close()
    admin = bearer(token)
    app = create_app(load_settings({"DATABASE_URL": database.url}))
    unit = {"name": "Sở Nội vụ", "short_code": "SNV", "kind": "department"}
    with capture_logs() as logs:
        async with api_client(app) as client:
            created = await client.post("/units", json=unit, headers=admin)
            assert created.status_code == 201, created.text
            unit_id = created.json()["id"]

            await asyncio.to_thread(database.stop, "fast")
            answers: list[tuple[str, Any]] = []
            for n in range(5):
                answers += [
                    ("command", await client.post(
                        "/units", json={**unit, "short_code": f"S{n}"}, headers=admin)),
                    ("command", await client.post(
                        f"/units/{unit_id}/rename", json={"name": f"Sở {n}"}, headers=admin)),
                    ("read", await client.get("/units", headers=admin)),
                    ("read", await client.get(f"/units/{unit_id}", headers=admin)),
                    ("read", await client.get("/events", headers=admin)),
                ]  # fmt: skip
            for kind, answer in answers:
                assert answer.status_code == 503, (kind, answer.text)
                assert answer.json()["type"] == "/problems/database-unavailable"
                assert int(answer.headers["retry-after"]) > 0
            ready = await client.get("/health/ready")
            assert ready.status_code == 503
            assert ready.json()["type"] == "/problems/not-ready"

            await asyncio.to_thread(database.start)
            restarted = time.monotonic()
            deadline = restarted + 60
            while True:
                again = await client.post(
                    "/units", json={**unit, "short_code": "SNV2"}, headers=admin
                )
                if again.status_code == 201 or time.monotonic() > deadline:
                    break
                assert again.status_code == 503, again.text
                await asyncio.sleep(0.1)
            assert again.status_code == 201, again.text
            print(f"API serving again {time.monotonic() - restarted:.2f} s after the restart")
            assert (await client.get("/health/ready")).status_code == 200
            assert (await client.get(f"/units/{unit_id}", headers=admin)).status_code == 200

    began = [e for e in logs if e["event"].startswith("database unavailable")]
    assert len(began) == 1, began
    assert [e for e in logs if e["event"] == "database reachable again"]
    assert not [e for e in logs if e.get("log_level") in ("error", "critical")], [
        e for e in logs if e.get("log_level") in ("error", "critical")
    ]


async def test_an_api_started_while_the_database_is_away_serves_once_it_returns(
    database: PrivatePostgres,
) -> None:
    """One of several API processes may start during an outage: its start waits for the
    database instead of failing (a failed start stops every process of `campaign serve`)."""
    pool = await create_pool(database.url, min_size=1, max_size=2)
    store = EventStore(pool)
    _, token = await make_user(store, "admin")
    await store.close()
    await pool.close()
    await asyncio.to_thread(database.stop, "fast")
    app = create_app(load_settings({"DATABASE_URL": database.url}))
    unit = {"name": "Sở Nội vụ", "short_code": "SNV", "kind": "department"}

    async def start_and_command() -> int:
        async with api_client(app) as client:
            created = await client.post("/units", json=unit, headers=bearer(token))
            return created.status_code

    with capture_logs() as logs:
        starting = asyncio.ensure_future(start_and_command())
        await until(
            lambda: any(e["event"] == "waiting for the database to start" for e in logs),
            60,
            "the API to say it waits for the database",
        )
        assert not starting.done()  # still starting, not failed
        await asyncio.to_thread(database.start)
        assert await asyncio.wait_for(starting, 60) == 201
