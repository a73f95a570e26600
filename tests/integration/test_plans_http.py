"""Plans over HTTP on real PostgreSQL: seed 004's plan 107/KH-SNV, numbering, refusals."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import asyncpg
import httpx
import pytest

import events.plans  # noqa: F401 - registers the plans' events
from events.store import EventStore
from services.api.app import create_app
from services.runtime.config import load_settings
from tests.http import api_client
from tests.org import bearer, event_count, make_user

SON_LA = {
    "units": [
        {"ref": "tu", "name": "Tỉnh ủy Sơn La", "short_code": "TU", "kind": "party_committee"},
        {
            "ref": "ubnd",
            "name": "Ủy ban nhân dân tỉnh Sơn La",
            "short_code": "UBND",
            "kind": "people_committee",
        },
        {
            "ref": "snv",
            "name": "Sở Nội vụ tỉnh Sơn La",
            "short_code": "SNV",
            "kind": "department",
            "parent": "ubnd",
        },
    ]
}
PLAN_107 = {
    "kind": "KH",
    "title": "Kế hoạch tuyên truyền đại hội đảng bộ các cấp, Đại hội đại biểu Đảng bộ tỉnh lần "
    "thứ XVI và Đại hội đại biểu toàn quốc lần thứ XIII của Đảng",
    "implements": [
        {
            "number": "135-KH/TU",
            "issued_on": "31/12/2019",
            "title": "Kế hoạch của Ban Thường vụ Tỉnh ủy",
        },
        {
            "number": "375/UBND-NV",
            "issued_on": "15/01/2020",
            "title": "Công văn của Ủy ban nhân dân tỉnh",
        },
    ],
    "phases": [
        {
            "id": "1",
            "name": "Đợt 1",
            "bounds": "Từ nay đến trước thời điểm Đại hội lần thứ XVI của Đảng bộ tỉnh",
        },
        {
            "id": "2",
            "name": "Đợt 2",
            "bounds": "Trước, trong và sau Đại hội đại biểu Đảng bộ tỉnh lần thứ XVI",
        },
        {
            "id": "3",
            "name": "Đợt 3",
            "bounds": "Từ sau Đại hội đại biểu Đảng bộ tỉnh lần thứ XVI đến Đại hội đại biểu toàn "
            "quốc lần thứ XIII của Đảng",
        },
    ],
}
ISSUE_107 = {
    "number": "107/KH-SNV",
    "place": "Sơn La",
    "issued_on": "05/02/2020",
    "signer": {"name": "Hữu Trí", "title": "Sở Nội vụ"},
}


@pytest.fixture
def app(pool: asyncpg.Pool[Any]) -> Any:
    return create_app(load_settings({}), pool=pool)


async def son_la(client: httpx.AsyncClient, admin: dict[str, str]) -> dict[str, str]:
    imported = await client.post("/units/import", json=SON_LA, headers=admin)
    assert imported.status_code == 201, imported.text
    units: dict[str, str] = imported.json()["units"]
    return units


async def draft(
    client: httpx.AsyncClient, headers: dict[str, str], issuer: str, **changes: Any
) -> str:
    body = {**PLAN_107, "issuer_unit_id": issuer, **changes}
    drafted = await client.post("/plans", json=body, headers=headers)
    assert drafted.status_code == 201, drafted.text
    plan_id: str = drafted.json()["id"]
    return plan_id


async def test_the_plan_107_kh_snv_of_seed_004(app: Any, domain_store: EventStore) -> None:
    _, token = await make_user(domain_store, "admin")
    admin = bearer(token)
    async with api_client(app) as client:
        units = await son_la(client, admin)
        plan = await draft(
            client,
            admin,
            units["snv"],
            recipients=[
                {"unit_id": units["tu"], "role": "for_report"},
                {"unit_id": units["ubnd"], "role": "for_report"},
            ],
        )
        issued = await client.post(f"/plans/{plan}/issue", json=ISSUE_107, headers=admin)
        assert issued.status_code == 200, issued.text

        view = await client.get(f"/plans/{plan}", headers=admin)
        assert view.status_code == 200 and view.headers["etag"] == '"2"'
        body = view.json()
        assert body["status"] == "issued" and body["accepts_tasks"] is True
        assert body["issued"]["number"] == "107/KH-SNV"
        assert body["issued"]["number_normalized"] == "107/KH-SNV"
        assert body["issued"]["issued_on"] == "2020-02-05"
        assert body["issued"]["numbering_period"] == "2020"
        assert [(i["number_normalized"], i["issued_on"]) for i in body["implements"]] == [
            ("135-KH/TU", "2019-12-31"),
            ("375/UBND-NV", "2020-01-15"),
        ]
        assert [p["name"] for p in body["phases"]] == ["Đợt 1", "Đợt 2", "Đợt 3"]
        assert body["history"][1] == {**body["history"][1], "type": "PlanIssued", "backdated": True}

        again = await client.post(f"/plans/{plan}/issue", json=ISSUE_107, headers=admin)
        assert again.status_code == 422 and again.json()["type"] == "/problems/plan-issued"

        # The same number for another plan of the Sở in the same year is taken...
        second = await draft(client, admin, units["snv"], title="Kế hoạch khác")
        taken = await client.post(
            f"/plans/{second}/issue", json={**ISSUE_107, "issued_on": "01/03/2020"}, headers=admin
        )
        assert taken.status_code == 409
        assert taken.json()["type"] == "/problems/document-number-taken"
        # ...and free again the next year: state numbering restarts each year.
        next_year = await client.post(
            f"/plans/{second}/issue", json={**ISSUE_107, "issued_on": "05/02/2021"}, headers=admin
        )
        assert next_year.status_code == 200, next_year.text

    [drafted, issued_event] = await domain_store.read_stream(f"plan-{plan}")
    assert issued_event.metadata.backdated is True
    assert drafted.metadata.backdated is False
    assert issued_event.tags.plan_id == uuid.UUID(plan)
    assert set(issued_event.tags.units) == {uuid.UUID(units[u]) for u in ("snv", "tu", "ubnd")}


async def test_bad_numbers_impossible_dates_and_wrong_actors_are_refused(
    app: Any, domain_store: EventStore, pool: asyncpg.Pool[Any]
) -> None:
    _, token = await make_user(domain_store, "admin")
    admin = bearer(token)
    async with api_client(app) as client:
        units = await son_la(client, admin)
        snv = uuid.UUID(units["snv"])
        _, chief_token = await make_user(domain_store, "chief", snv)
        _, officer_token = await make_user(domain_store, "officer", snv)
        _, stranger_token = await make_user(domain_store, "chief", uuid.UUID(units["tu"]))
        chief, officer, stranger = (bearer(t) for t in (chief_token, officer_token, stranger_token))
        plan = await draft(client, officer, units["snv"])  # an officer drafts
        today = {
            "number": "12/KH-SNV",
            "place": "Sơn La",
            "signer": {"name": "Lò Văn A", "title": "Giám đốc"},
        }
        before = await event_count(pool)
        cases = [
            (admin, {**ISSUE_107, "number": "KH-107/SNV"}, 422, "invalid-document-number"),
            (admin, {**ISSUE_107, "number": "107/KH-SNV garbage"}, 422, "invalid-document-number"),
            (admin, {**ISSUE_107, "number": "107/HD-SNV"}, 422, "number-kind-mismatch"),
            (admin, {**ISSUE_107, "number": "7/2019/KH-SNV"}, 422, "number-year-mismatch"),
            (admin, {**ISSUE_107, "issued_on": "31/02/2020"}, 422, "invalid-date"),
            (admin, {**ISSUE_107, "issued_on": "2020-13-01"}, 422, "invalid-date"),
            (admin, {**ISSUE_107, "issued_on": "01/01/2999"}, 422, "issue-date-in-future"),
            (chief, ISSUE_107, 422, "backdating-not-allowed"),
            (officer, today, 403, "forbidden"),
            (stranger, today, 403, "forbidden"),
            (admin, {**ISSUE_107, "signer": {"name": "x"}}, 400, "invalid-request"),
        ]
        failures = []
        for headers, body, status, problem in cases:
            answer = await client.post(f"/plans/{plan}/issue", json=body, headers=headers)
            if (answer.status_code, answer.json().get("type")) != (status, f"/problems/{problem}"):
                failures.append(
                    f"{body.get('number')} {body.get('issued_on')}: "
                    f"{answer.status_code} {answer.text[:160]}"
                )
        assert failures == [], "\n".join(failures)
        assert await event_count(pool) == before

        issued = await client.post(f"/plans/{plan}/issue", json=today, headers=chief)
        assert issued.status_code == 200, issued.text
        missing = await client.get(f"/plans/{uuid.uuid4()}", headers=admin)
        assert missing.status_code == 404 and missing.json()["type"] == "/problems/unknown-plan"


async def test_two_concurrent_issues_of_one_number_in_one_term_one_wins(
    app: Any, domain_store: EventStore
) -> None:
    _, token = await make_user(domain_store, "admin")
    admin = bearer(token)
    async with api_client(app) as client:
        cell = (
            await client.post(
                "/units",
                json={
                    "name": "Chi bộ Cơ sở Điều trị nghiện",
                    "short_code": "CB",
                    "kind": "party_cell",
                },
                headers=admin,
            )
        ).json()["id"]
        plans = [await draft(client, admin, cell, title=f"Kế hoạch {n}") for n in range(2)]
        number = {
            "number": "334-KH/CB",
            "place": "Sơn La",
            "issued_on": "12/10/2022",
            "signer": {
                "name": "Đoàn Văn Tú",
                "title": "Bí thư",
                "authority": "TM",
                "on_behalf_of": "Chi bộ",
            },
        }
        answers = await asyncio.gather(
            *(client.post(f"/plans/{p}/issue", json=number, headers=admin) for p in plans)
        )
        assert sorted(a.status_code for a in answers) == [200, 409]
        loser = next(a for a in answers if a.status_code == 409)
        assert loser.json()["type"] == "/problems/document-number-taken"
        # A new Party committee term restarts the numbering.
        loser_plan = plans[[a.status_code for a in answers].index(409)]
        next_term = await client.post(
            f"/plans/{loser_plan}/issue", json={**number, "issued_on": "12/10/2025"}, headers=admin
        )
        assert next_term.status_code == 200, next_term.text
        assert (await client.get(f"/plans/{loser_plan}", headers=admin)).json()["issued"][
            "numbering_period"
        ] == "2025-2030"


async def test_amend_close_supersede_attach_and_link_a_sub_plan(
    app: Any, domain_store: EventStore
) -> None:
    _, token = await make_user(domain_store, "admin")
    admin = bearer(token)
    async with api_client(app) as client:
        units = await son_la(client, admin)
        provincial = await draft(
            client, admin, units["ubnd"], title="Kế hoạch của tỉnh", implements=[]
        )
        assert (
            await client.post(
                f"/plans/{provincial}/issue",
                json={**ISSUE_107, "number": "20/KH-UBND"},
                headers=admin,
            )
        ).status_code == 200
        plan = await draft(client, admin, units["snv"], implements=[{"plan_id": provincial}])
        assert (
            await client.post(f"/plans/{plan}/issue", json=ISSUE_107, headers=admin)
        ).status_code == 200
        linked = await client.post(
            f"/plans/{provincial}/sub-plans", json={"sub_plan_id": plan}, headers=admin
        )
        assert linked.status_code == 201, linked.text
        attached = await client.post(
            f"/plans/{plan}/attachments",
            json={
                "name": "Đề cương tuyên truyền.pdf",
                "media_type": "application/pdf",
                "sha256": "ab" * 32,
                "size": 20480,
            },
            headers=admin,
        )
        assert attached.status_code == 201, attached.text
        amended = await client.post(
            f"/plans/{plan}/amend",
            json={"reason": "Tùy tình hình dịch COVID-19", "phases": PLAN_107["phases"][:2]},
            headers=admin,
        )
        assert amended.status_code == 200, amended.text
        newer = await draft(client, admin, units["snv"], title="Kế hoạch thay thế")
        await client.post(
            f"/plans/{newer}/issue", json={**ISSUE_107, "number": "150/KH-SNV"}, headers=admin
        )
        superseded = await client.post(
            f"/plans/{plan}/supersede", json={"superseded_by": newer}, headers=admin
        )
        assert superseded.status_code == 200, superseded.text
        view = (await client.get(f"/plans/{plan}", headers=admin)).json()
        assert view["status"] == "superseded" and view["accepts_tasks"] is False
        assert view["superseded_by"] == newer and len(view["phases"]) == 2
        assert view["amendments"][0]["changed"] == ["phases"]
        assert view["attachments"][0]["size"] == 20480
        assert view["implements"][0]["number"] == "20/KH-UBND"
        parent = (await client.get(f"/plans/{provincial}", headers=admin)).json()
        assert parent["sub_plans"] == [plan]
        closed = await client.post(f"/plans/{plan}/close", json={}, headers=admin)
        assert closed.status_code == 422 and closed.json()["type"] == "/problems/plan-ended"


async def test_an_operators_term_decides_where_party_numbering_restarts(
    app: Any, domain_store: EventStore, dsn: str
) -> None:
    from tests.cli import campaign

    _, token = await make_user(domain_store, "admin")
    admin = bearer(token)
    async with api_client(app) as client:
        cell = (
            await client.post(
                "/units",
                json={"name": "Chi bộ", "short_code": "CBSL", "kind": "party_cell"},
                headers=admin,
            )
        ).json()["id"]
        # The cell's congresses opened its terms on 15/10/2015 and 15/10/2020.
        for starts, ends in (("2015-10-15", "2020-10-15"), ("2020-10-15", "2025-10-15")):
            term = campaign(dsn, "terms", "set", cell, starts, ends)
            assert term.returncode == 0, term.stderr
        listed = campaign(dsn, "terms", "list")
        assert "2015-2020" in listed.stdout and "2020-2025" in listed.stdout
        plans = [await draft(client, admin, cell, title=f"KH {n}") for n in range(3)]
        body = {
            "number": "1-KH/CB",
            "place": "Sơn La",
            "signer": {"name": "Đoàn Văn Tú", "title": "Bí thư"},
        }
        answers = [
            await client.post(
                f"/plans/{plan}/issue", json={**body, "issued_on": day}, headers=admin
            )
            for plan, day in zip(plans, ("01/10/2020", "20/10/2020", "30/10/2020"), strict=True)
        ]
        # Number 1 twice: once in each term; a third time in the same term is refused.
        assert [a.status_code for a in answers] == [200, 200, 409], answers[2].text
        periods = [
            (await client.get(f"/plans/{p}", headers=admin)).json()["issued"]["numbering_period"]
            for p in plans[:2]
        ]
        assert periods == ["2015-2020", "2020-2025"]
