"""Plans found by the documents they implement (issue 21): `cites=` by the cited number, whole
or its leading part, and `q=` over the cited numbers too; `number=` by a normalised prefix."""

from __future__ import annotations

from typing import Any

import asyncpg

from events.store import EventStore
from services.api.app import create_app
from services.ops.demo import demo_id, load_demo
from services.runtime.config import load_settings
from tests.http import api_client, ok
from tests.org import bearer, make_user


async def test_plans_are_found_by_what_they_cite(
    domain_store: EventStore, pool: asyncpg.Pool[Any]
) -> None:
    await load_demo(domain_store)
    _, admin_token = await make_user(domain_store, "admin")
    admin = bearer(admin_token)
    plan_227 = str(demo_id("plan:227"))

    async def found(**params: str) -> list[str]:
        async with api_client(create_app(load_settings({}), pool=pool)) as client:
            body = await ok(await client.get("/plans", params=params, headers=admin))
        return [item["id"] for item in body["items"]]

    async with api_client(create_app(load_settings({}), pool=pool)) as client:
        follow_up = await ok(
            await client.post(
                "/plans",
                json={
                    "kind": "KH",
                    "issuer_unit_id": str(demo_id("unit:ct-btv")),
                    "title": "Kế hoạch thực hiện Công văn 1293",
                    "implements": [{"plan_id": str(demo_id("plan:1293"))}],
                },
                headers=admin,
            ),
            201,
        )
    assert await found(cites="1293") == [follow_up["id"]]  # a plan of the ledger, cited by id
    assert await found(cites="17-KH/BDVTW") == [plan_227]
    assert await found(cites="Số: 17 - KH/BDVTW") == [plan_227]  # as a clerk may type it
    assert await found(cites="17") == [plan_227]  # the number's leading part
    assert await found(cites="1") == []  # not a prefix of digits
    assert await found(q="bdvtw") == [plan_227]
    assert await found(number="1293-cv") == [str(demo_id("plan:1293"))]  # a prefix
