"""Which units a task's events concern (and so whose feeds receive them) follows one rule,
whichever command appends them: the lead, the coordinators, the unit reported to, the issuer."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import asyncpg
import httpx
import pytest

from events.store import EventStore
from services.api.app import create_app
from services.runtime.config import load_settings
from tests.http import api_client
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


async def ok(response: httpx.Response, status: int = 200) -> dict[str, Any]:
    assert response.status_code == status, response.text
    body: dict[str, Any] = response.json()
    return body


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
        seen = await ok(
            await client.get(
                "/events", params={"category": "assignment", "limit": 100}, headers=watcher
            )
        )
        types = [e["type"] for e in seen["events"] if e["stream_id"] == f"assignment-{task}"]
        assert "AssignmentReassigned" in types
        reassigned = next(e for e in seen["events"] if e["type"] == "AssignmentReassigned")
        assert set(reassigned["tags"]["units"]) == {u["cd"], u["t2"], u["t1"], u["cb"]}
