"""GET /plans: find plans by issuer, status, document number and free Vietnamese text, with or
without diacritics, within the reader's reach, page by page."""

from __future__ import annotations

from typing import Any

import asyncpg

from events.store import EventStore
from services.api.app import create_app
from services.ops.demo import demo_id, load_demo
from services.runtime.config import load_settings
from tests.cli import campaign
from tests.http import api_client
from tests.org import bearer, make_user

NUMBERS = {
    str(demo_id("plan:1293")): "1293-CV/TU",
    str(demo_id("plan:227")): "227-KH/TU",
    str(demo_id("plan:334")): "334-KH/CB",
    str(demo_id("plan:107")): "107/KH-SNV",
}


def numbers(answer: Any) -> set[str | None]:
    assert answer.status_code == 200, answer.text
    return {item["number"] for item in answer.json()["items"]}


async def test_finding_plans(domain_store: EventStore, pool: asyncpg.Pool[Any], dsn: str) -> None:
    await load_demo(domain_store)
    _, admin_token = await make_user(domain_store, "admin")
    _, people_token = await make_user(domain_store, "consumer", demo_id("unit:ub"))
    _, cell_token = await make_user(domain_store, "chief", demo_id("unit:sl-cb"))
    _, group_token = await make_user(domain_store, "chief", demo_id("unit:sl-t1"))
    admin, people = bearer(admin_token), bearer(people_token)
    cell, group = bearer(cell_token), bearer(group_token)
    async with api_client(create_app(load_settings({}), pool=pool)) as client:
        every = await client.get("/plans", headers=admin)
        assert numbers(every) == set(NUMBERS.values())
        for q in ("tuyen truyen", "Tuyên Truyền", "TUYÊN TRUYỀN"):
            found = await client.get("/plans", headers=admin, params={"q": q})
            assert numbers(found) == {"1293-CV/TU", "334-KH/CB", "107/KH-SNV"}, q
        assert numbers(await client.get("/plans", headers=admin, params={"q": "dan van"})) == {
            "227-KH/TU",
            "334-KH/CB",
        }
        for number in ("1293-CV/TU", "1293 - CV/TU", "1293", "1293-cv"):
            found = await client.get("/plans", headers=admin, params={"number": number})
            assert numbers(found) == {"1293-CV/TU"}, number
        ct_btv = str(demo_id("unit:ct-btv"))
        by_issuer = await client.get("/plans", headers=admin, params={"issuer": ct_btv})
        assert numbers(by_issuer) == {"1293-CV/TU", "227-KH/TU"}
        assert (
            numbers(await client.get("/plans", headers=admin, params={"status": "draft"})) == set()
        )

        # Reach: the People's Committee's consumer sees its department's plan; the party group
        # the plan addressed to it; the cell its own.
        assert numbers(await client.get("/plans", headers=people)) == {"107/KH-SNV"}
        assert numbers(await client.get("/plans", headers=group)) == {"334-KH/CB"}
        assert numbers(await client.get("/plans", headers=cell)) == {"334-KH/CB"}

        # A draft is its issuer's alone until issued.
        drafted = await client.post(
            "/plans",
            headers=cell,
            json={
                "kind": "KH",
                "title": "Kế hoạch tuyên truyền kỷ niệm Ngày thành lập Đảng",
                "issuer_unit_id": str(demo_id("unit:sl-cb")),
                "recipients": [{"unit_id": str(demo_id("unit:sl-t1")), "role": "implement"}],
            },
        )
        assert drafted.status_code == 201, drafted.text
        drafts = await client.get("/plans", headers=cell, params={"status": "draft"})
        assert [item["title"] for item in drafts.json()["items"]] == [
            "Kế hoạch tuyên truyền kỷ niệm Ngày thành lập Đảng"
        ]
        assert drafts.json()["items"][0]["recipients"] == [str(demo_id("unit:sl-t1"))]
        assert numbers(await client.get("/plans", headers=group)) == {"334-KH/CB"}

        # Pages, newest first, every plan once.
        seen: list[str] = []
        page: str | None = None
        while True:
            params = {"limit": "2", **({"page": page} if page else {})}
            answer = (await client.get("/plans", headers=admin, params=params)).json()
            seen += [item["id"] for item in answer["items"]]
            page = answer["next"]
            if page is None:
                break
        assert len(seen) == len(set(seen)) == 5
        assert seen[0] == drafted.json()["id"]  # the newest first

        for params in ({"page": "not-a-token"}, {"status": "lost"}, {"limit": "0"}):
            bad = await client.get("/plans", headers=admin, params=params)
            assert bad.status_code == 400, (params, bad.text)
            assert bad.headers["content-type"].startswith("application/problem+json")

        # The list is a read model: a rebuild from the events gives it back.
        before = (await client.get("/plans", headers=admin)).json()
        await pool.execute("DELETE FROM plan_list")
        rebuilt = campaign(dsn, "rebuild", "directory")
        assert rebuilt.returncode == 0, rebuilt.stderr
        assert (await client.get("/plans", headers=admin)).json() == before
