"""Which units a task's events concern (and so whose feeds receive them) follows one rule,
whichever command appends them: the lead, the coordinators, the unit reported to, the issuer."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any

import asyncpg
import httpx
import pytest

from events.store import EventStore
from services.api.app import create_app
from services.runtime.config import load_settings
from tests.http import api_client, ok
from tests.org import bearer, make_user

TREE = {
    "units": [
        {"ref": "cb", "name": "Chi bộ Cơ sở", "short_code": "CB", "kind": "party_cell"},
        {"ref": "cd", "name": "Ban Chấp hành Công đoàn", "short_code": "CD", "parent": "cb"},
        {"ref": "t1", "name": "Tổ đảng tổ 1", "short_code": "T1", "parent": "cb"},
        {"ref": "t2", "name": "Tổ đảng tổ 2", "short_code": "T2", "parent": "cb"},
    ]
}


@pytest.fixture
def app(pool: asyncpg.Pool[Any]) -> Any:
    return create_app(
        load_settings({}), pool=pool, clock=lambda: datetime(2022, 10, 12, 2, tzinfo=UTC)
    )


async def test_a_coordinating_unit_receives_the_reassignment_a_merge_causes(
    app: Any, domain_store: EventStore
) -> None:
    admin = bearer((await make_user(domain_store, "admin"))[1])
    async with api_client(app) as client:
        u = (await ok(await client.post("/units/import", json=TREE, headers=admin), 201))["units"]
        watcher = bearer((await make_user(domain_store, "consumer", u["t1"]))[1])
        plan = (
            await ok(
                await client.post(
                    "/plans",
                    json={"kind": "KH", "title": "Kế hoạch", "issuer_unit_id": u["cb"]},
                    headers=admin,
                ),
                201,
            )
        )["id"]
        issue = {"number": "1-KH/CB", "place": "Sơn La", "signer": {"name": "A", "title": "Bí thư"}}
        await ok(await client.post(f"/plans/{plan}/issue", json=issue, headers=admin))
        task = (
            await ok(
                await client.post(
                    f"/plans/{plan}/assignments",
                    json={
                        "item": "1",
                        "text": "Báo cáo",
                        "lead_unit_ids": [u["cd"]],
                        "coordinating_unit_ids": [u["t1"]],
                        "due": "2022-10-20T00:00:00+07:00",
                    },
                    headers=admin,
                ),
                201,
            )
        )["id"]
        # The lead is merged into party group 2: its open task goes along.
        await ok(
            await client.post(
                f"/units/{u['cd']}/merge", json={"successor_id": u["t2"]}, headers=admin
            )
        )
        reassigned = await feed_event(client, watcher, f"assignment-{task}", "AssignmentReassigned")
        assert set(reassigned["tags"]["units"]) == {u["cd"], u["t2"], u["t1"], u["cb"]}


async def test_the_lead_a_task_is_taken_from_receives_the_reassignment(
    app: Any, domain_store: EventStore
) -> None:
    admin = bearer((await make_user(domain_store, "admin"))[1])
    async with api_client(app) as client:
        u = (await ok(await client.post("/units/import", json=TREE, headers=admin), 201))["units"]
        former = bearer((await make_user(domain_store, "consumer", u["cd"]))[1])
        plan = (
            await ok(
                await client.post(
                    "/plans",
                    json={"kind": "KH", "title": "Kế hoạch", "issuer_unit_id": u["cb"]},
                    headers=admin,
                ),
                201,
            )
        )["id"]
        issue = {"number": "2-KH/CB", "place": "Sơn La", "signer": {"name": "A", "title": "Bí thư"}}
        await ok(await client.post(f"/plans/{plan}/issue", json=issue, headers=admin))
        task = (
            await ok(
                await client.post(
                    f"/plans/{plan}/assignments",
                    json={
                        "item": "1",
                        "text": "Báo cáo",
                        "lead_unit_ids": [u["cd"]],
                        "due": "2022-10-20T00:00:00+07:00",
                    },
                    headers=admin,
                ),
                201,
            )
        )["id"]
        await ok(
            await client.post(
                f"/assignments/{task}/reassign",
                json={"to_unit_id": u["t2"], "reason": "Phân công lại"},
                headers=admin,
            )
        )
        reassigned = await feed_event(client, former, f"assignment-{task}", "AssignmentReassigned")
        assert set(reassigned["tags"]["units"]) == {u["cd"], u["t2"], u["cb"]}


async def feed_event(
    client: httpx.AsyncClient, reader: dict[str, str], stream: str, event_type: str
) -> dict[str, Any]:
    """The event as the reader's feed shows it. The feed holds events back while an older
    transaction anywhere in the cluster is open, so it is read until the event shows up."""
    deadline = asyncio.get_running_loop().time() + 60
    while True:
        page = await ok(
            await client.get("/events", params={"stream": stream, "limit": 100}, headers=reader)
        )
        found = [e for e in page["events"] if e["type"] == event_type]
        if found or asyncio.get_running_loop().time() > deadline:
            assert found, f"{event_type} of {stream} never reached the reader's feed"
            return dict(found[0])
        await asyncio.sleep(0.05)
