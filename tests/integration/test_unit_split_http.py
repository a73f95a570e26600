"""Splitting a unit over HTTP: its open tasks go to the successor they are allocated to (the
default one otherwise), and a split that cannot be is refused with nothing appended."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

import asyncpg

from events.store import EventStore
from services.api.app import create_app
from services.runtime.config import load_settings
from tests.http import api_client, ok
from tests.org import bearer, event_count, make_user

TREE = {
    "units": [
        {"ref": "cb", "name": "Chi bộ Cơ sở", "short_code": "CB", "kind": "party_cell"},
        {"ref": "cd", "name": "Ban Chấp hành Công đoàn", "short_code": "CD", "parent": "cb"},
        {"ref": "t1", "name": "Tổ đảng tổ 1", "short_code": "T1", "parent": "cb"},
        {"ref": "t2", "name": "Tổ đảng tổ 2", "short_code": "T2", "parent": "cb"},
    ]
}


async def test_a_split_unit_hands_each_open_task_to_its_successor(
    domain_store: EventStore, pool: asyncpg.Pool[Any]
) -> None:
    clock = datetime(2022, 10, 12, 2, tzinfo=UTC)
    app = create_app(load_settings({}), pool=pool, clock=lambda: clock)
    admin = bearer((await make_user(domain_store, "admin"))[1])
    async with api_client(app) as client:
        u = (await ok(await client.post("/units/import", json=TREE, headers=admin), 201))["units"]
        body = {"kind": "KH", "title": "Kế hoạch", "issuer_unit_id": u["cb"]}
        plan = (await ok(await client.post("/plans", json=body, headers=admin), 201))["id"]
        issue = {"number": "1-KH/CB", "place": "Sơn La", "signer": {"name": "A", "title": "Bí thư"}}
        await ok(await client.post(f"/plans/{plan}/issue", json=issue, headers=admin))
        tasks = []
        for item in ("1", "2"):
            task = {
                "item": item,
                "text": f"Việc {item}",
                "lead_unit_ids": [u["cd"]],
                "due": "2022-10-20T00:00:00+07:00",
            }
            issued = await client.post(f"/plans/{plan}/assignments", json=task, headers=admin)
            tasks.append((await ok(issued, 201))["id"])

        path = f"/units/{u['cd']}/split"
        before = await event_count(pool)
        refusals = {
            "one successor": ({"successor_ids": [u["t1"]], "default_successor_id": u["t1"]}, 400),
            "default elsewhere": (
                {"successor_ids": [u["t1"], u["t2"]], "default_successor_id": u["cb"]},
                422,
            ),
            "allocated elsewhere": (
                {
                    "successor_ids": [u["t1"], u["t2"]],
                    "default_successor_id": u["t1"],
                    "allocations": [{"assignment_id": tasks[0], "successor_id": u["cb"]}],
                },
                422,
            ),
            "unknown successor": (
                {"successor_ids": [u["t1"], str(uuid.uuid4())], "default_successor_id": u["t1"]},
                422,
            ),
        }
        for name, (request, status) in refusals.items():
            refused = await client.post(path, json=request, headers=admin)
            assert refused.status_code == status, (name, refused.text)
            assert refused.headers["content-type"] == "application/problem+json"
        assert await event_count(pool) == before

        split = {
            "successor_ids": [u["t1"], u["t2"]],
            "default_successor_id": u["t1"],
            "allocations": [{"assignment_id": tasks[0], "successor_id": u["t2"]}],
            "reason": "Tổ chức lại năm 2025",
        }
        await ok(await client.post(path, json=split, headers=admin))
        unit = await ok(await client.get(f"/units/{u['cd']}", headers=admin))
        leads = [
            (await ok(await client.get(f"/assignments/{t}", headers=admin)))["lead_unit_id"]
            for t in tasks
        ]
        again = await client.post(path, json=split, headers=admin)
    assert unit["status"] == "split"
    assert leads == [u["t2"], u["t1"]]
    assert again.status_code == 422 and again.json()["type"] == "/problems/unit-inactive"
