"""A campaign's history with its sub-plans (`include_sub_plans`) shows a reader only the
sub-plans they may read (the read rule of services/handlers/reach.py) and what hangs below
those, each event once."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import asyncpg
import httpx

from events.store import EventStore
from services.api.app import create_app
from services.runtime.config import load_settings
from tests.http import api_client, ok
from tests.org import bearer, make_user

TREE = {
    "units": [
        {"ref": "tinh", "name": "Tỉnh ủy Sơn La", "short_code": "TU", "kind": "party_committee"},
        {"ref": "snv", "name": "Sở Nội vụ", "short_code": "SNV", "parent": "tinh"},
        {"ref": "phong", "name": "Phòng Tổ chức", "short_code": "PTC", "parent": "snv"},
        {"ref": "huyen", "name": "Huyện ủy Mộc Châu", "short_code": "HUMC", "parent": "tinh"},
    ]
}


async def issued_plan(
    client: httpx.AsyncClient,
    admin: dict[str, str],
    issuer: str,
    number: str,
    recipients: list[str],
) -> str:
    body = {
        "kind": "KH",
        "title": f"Kế hoạch {number}",
        "issuer_unit_id": issuer,
        "recipients": [{"unit_id": unit, "role": "implement"} for unit in recipients],
    }
    plan: str = (await ok(await client.post("/plans", json=body, headers=admin), 201))["id"]
    issue = {"number": number, "place": "Sơn La", "signer": {"name": "A", "title": "Giám đốc"}}
    await ok(await client.post(f"/plans/{plan}/issue", json=issue, headers=admin))
    return plan


async def history(
    client: httpx.AsyncClient, plan: str, reader: dict[str, str], **params: str
) -> list[dict[str, Any]]:
    found = await ok(await client.get(f"/plans/{plan}/history", headers=reader, params=params))
    assert found["next"] is None
    items: list[dict[str, Any]] = found["items"]
    return items


async def test_a_sub_plan_the_reader_may_not_read_is_left_out_of_the_history(
    domain_store: EventStore, pool: asyncpg.Pool[Any]
) -> None:
    clock = datetime(2022, 10, 12, 2, tzinfo=UTC)
    app = create_app(load_settings({}), pool=pool, clock=lambda: clock)
    admin = bearer((await make_user(domain_store, "admin"))[1])
    async with api_client(app) as client:
        u = (await ok(await client.post("/units/import", json=TREE, headers=admin), 201))["units"]
        # The province's plan goes to the Sở and the district; the Sở carries it out with a
        # plan of its own for its office, one task of which the district coordinates.
        top = await issued_plan(client, admin, u["tinh"], "1-KH/TU", [u["snv"], u["huyen"]])
        sub = await issued_plan(client, admin, u["snv"], "2/KH-SNV", [u["phong"]])
        task = {
            "item": "1",
            "text": "Rà soát hồ sơ đảng viên",
            "lead_unit_ids": [u["phong"]],
            "coordinating_unit_ids": [u["huyen"]],
            "due": "2022-10-20T00:00:00+07:00",
        }
        await ok(await client.post(f"/plans/{sub}/assignments", json=task, headers=admin), 201)
        # The office's own plan, which the district also receives, carries out the Sở's
        # plan and a second one of the Sở's, both linked under the province's.
        second = await issued_plan(client, admin, u["snv"], "3/KH-SNV", [u["phong"]])
        office = await issued_plan(client, admin, u["phong"], "4/KH-PTC", [u["huyen"]])
        for parent, child in ((top, sub), (top, second), (sub, office), (second, office)):
            link = {"sub_plan_id": child}
            linked = await client.post(f"/plans/{parent}/sub-plans", json=link, headers=admin)
            await ok(linked, 201)
        auditor = bearer((await make_user(domain_store, "auditor", u["tinh"]))[1])
        district = bearer((await make_user(domain_store, "chief", u["huyen"]))[1])

        whole = await history(client, top, auditor, include_sub_plans="true")
        plans_of = {e["stream_id"]: e["tags"]["plan_id"] for e in whole}
        assert {e["tags"]["plan_id"] for e in whole} == {top, sub, second, office}
        assert any(stream.startswith("assignment-") for stream in plans_of)
        assert len({e["event_id"] for e in whole}) == len(whole)

        # The district reads the province's plan (it is a recipient), not the Sở's: none of
        # the Sở's plans' events reach it, not even those of the task it coordinates, nor
        # those of the office's plan below them, which it receives.
        own = await history(client, top, district)
        assert own and {e["tags"]["plan_id"] for e in own} == {top}
        assert await history(client, top, district, include_sub_plans="true") == own
        assert await history(client, office, district)  # read alone, it is the district's
        refused = await client.get(f"/plans/{sub}/history", headers=district)
        assert refused.status_code == 404
