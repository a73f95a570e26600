"""Issuing one item to many leads costs a fixed number of statements, whatever their number
(issue 20: 500 leads used to make some 2,000 round trips)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

import events.domain  # noqa: F401 - registers every domain event
from events.store import EventStore, create_pool
from services.api.app import create_app
from services.runtime.config import load_settings
from tests.http import api_client, ok
from tests.org import bearer, make_user

HOUSEKEEPING = ("SELECT t.user_id", "pg_notify", "SELECT token FROM store_epochs")


@pytest.fixture
async def one_connection(dsn: str) -> Any:
    """A pool of one connection whose every statement is counted."""
    pool = await create_pool(dsn, min_size=1, max_size=1)
    statements: list[str] = []
    async with pool.acquire() as connection:
        connection.add_query_logger(lambda record: statements.append(record.query))
    yield pool, statements
    await pool.close()


async def test_issuing_to_five_or_fifty_leads_takes_the_same_statements(
    one_connection: Any,
) -> None:
    pool, statements = one_connection
    store = EventStore(pool)
    app = create_app(load_settings({}), pool=pool)
    _, admin_token = await make_user(store, "admin")
    admin = bearer(admin_token)
    async with api_client(app) as client:
        rows = [{"ref": "sở", "name": "Sở Nội vụ", "short_code": "SNV", "kind": "department"}]
        rows += [
            {"ref": f"x{n}", "name": f"Xã {n}", "short_code": f"X{n}", "parent": "sở"}
            for n in range(55)
        ]
        refs = (
            await ok(await client.post("/units/import", json={"units": rows}, headers=admin), 201)
        )["units"]
        _, officer_token = await make_user(store, "officer", uuid.UUID(refs["sở"]))
        _, chief_token = await make_user(store, "chief", uuid.UUID(refs["sở"]))
        officer, chief = bearer(officer_token), bearer(chief_token)
        plan = (
            await ok(
                await client.post(
                    "/plans",
                    json={"kind": "KH", "issuer_unit_id": refs["sở"], "title": "Kế hoạch"},
                    headers=officer,
                ),
                201,
            )
        )["id"]
        signer = {"name": "Nguyễn Văn A", "title": "Giám đốc"}
        await ok(
            await client.post(
                f"/plans/{plan}/issue",
                json={"number": "7/KH-SNV", "place": "Hà Nội", "signer": signer},
                headers=chief,
            )
        )
        due = (datetime.now(UTC) + timedelta(days=30)).isoformat()

        async def issue(item: str, leads: int) -> tuple[list[str], Any]:
            body = {
                "item": item,
                "text": "Báo cáo kết quả",
                "lead_unit_ids": [refs[f"x{n}"] for n in range(leads)],
                "due": due,
            }
            before = len(statements)
            answer = await ok(
                await client.post(f"/plans/{plan}/assignments", json=body, headers=officer), 201
            )
            # Not the command's: the token lookup (cached for 30 s), the wake-up NOTIFY (sent
            # after earlier commits, coalesced) and the epoch check run when the clock says.
            made = [s for s in statements[before:] if not any(h in s for h in HOUSEKEEPING)]
            return made, answer

        await issue("0", 2)  # caches (tokens, calendar) warm alike for both
        five, small = await issue("1", 5)
        fifty, large = await issue("2", 50)
    assert len(small["assignments"]) == 5 and len(large["assignments"]) == 50
    # Each task issued with its schedule: the issue and at least the due's step.
    assert len(large["events"]) >= 100
    assert len(fifty) == len(five), (five, fifty)
    assert await pool.fetchval("SELECT count(*) FROM deadline_steps") >= 57
