"""The demo loads into a database that already has units (issue 21), and a short code that many
units write ("TU": a document symbol, not an identifier) is answered with its candidates."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import asyncpg
import pytest

from events.store import EventStore
from projections import compliance, task_facts
from projections.projector import Projector
from services.api.app import create_app
from services.ops import cli_admin
from services.ops.demo import demo_id, load_demo
from services.runtime.config import load_settings
from tests.http import api_client, ok
from tests.org import bearer, make_user


async def test_the_demo_loads_beside_a_province_that_also_signs_tu(
    domain_store: EventStore, pool: asyncpg.Pool[Any]
) -> None:
    _, admin_token = await make_user(domain_store, "admin")
    admin = bearer(admin_token)
    app = create_app(load_settings({}), pool=pool)
    own = {
        "units": [
            {"ref": "tu", "name": "Tỉnh ủy Sơn La", "short_code": "TU", "kind": "party_committee"},
            {"ref": "ub", "name": "Ủy ban nhân dân tỉnh Sơn La", "short_code": "UBND",
             "kind": "people_committee"},
        ]
    }  # fmt: skip
    async with api_client(app) as client:
        mine = (await ok(await client.post("/units/import", json=own, headers=admin), 201))["units"]
        appended = await load_demo(domain_store)
        again = await load_demo(domain_store)
        candidates = await ok(await client.get("/units", params={"code": "tu"}, headers=admin))
        home = await ok(await client.get(f"/units/{demo_id('unit:ct-tu')}", headers=admin))
    assert appended > 0 and again == 0
    assert sorted((u["name"], u["id"]) for u in candidates["items"]) == [
        ("Thành ủy Cần Thơ", str(demo_id("unit:ct-tu"))),
        ("Tỉnh ủy Sơn La", mine["tu"]),
    ]
    assert home["parent_id"] == str(demo_id("unit:demo"))  # under "Dữ liệu mẫu"
    projector = Projector(domain_store, task_facts.MODEL)
    assert await projector.claim()
    await projector.catch_up_to_the_end()
    figures = await compliance.for_plan(pool, demo_id("plan:1293"), datetime.now(UTC))
    assert figures.assigned == 4
    with pytest.raises(cli_admin.CliError) as ambiguous:
        await cli_admin._unit_id(pool, "TU")
    assert "Thành ủy Cần Thơ" in str(ambiguous.value) and "Tỉnh ủy Sơn La" in str(ambiguous.value)
