"""Leads and coordinators named as groups (issue 21), over HTTP: "các thôn, bản" fanned out
into one task per village in one append, compliance counting every one; coordinators as a
group and in words; the report's route in words.

The item is written in the style of a commune People's Committee letter (NĐ 30 layout):

    Số: 21/UBND-VP                    Ít Ong, ngày 04 tháng 01 năm 2021
    V/v tổng vệ sinh môi trường đón Tết Nguyên đán Tân Sửu
    Kính gửi: Trưởng các thôn, bản.
    1. Các thôn, bản tổ chức tổng vệ sinh môi trường, chậm nhất ngày 31/01/2021; phối hợp các
       trường học và các cơ quan, đơn vị có liên quan; báo cáo kết quả qua Văn phòng UBND xã.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta, timezone
from typing import Any

import asyncpg

from events.store import EventStore
from projections import task_facts
from projections.projector import Projector
from services.api.app import create_app
from services.runtime.config import load_settings
from tests.http import api_client, ok
from tests.org import bearer, make_user

VIETNAM = timezone(timedelta(hours=7))
VILLAGES = [f"Bản {name}" for name in (
    "Ít Ong", "Phiêng Bay", "Nà Lời", "Huổi Ngùa", "Co Muông", "Pá Ngà",
    "Lọng Bon", "Nà Mòn", "Huổi Phay", "Bó Ban", "Pá Lằng", "Tà Lành",
)]  # fmt: skip
ITEM = (
    "Các thôn, bản tổ chức tổng vệ sinh môi trường, chậm nhất ngày 31/01/2021; phối hợp các "
    "trường học và các cơ quan, đơn vị có liên quan; báo cáo kết quả qua Văn phòng UBND xã."
)


def tree() -> dict[str, Any]:
    units: list[dict[str, Any]] = [
        {"ref": "x", "name": "Ủy ban nhân dân xã Ít Ong", "short_code": "UBND", "kind": "commune"},
        {
            "ref": "vp",
            "name": "Văn phòng UBND xã",
            "short_code": "VP",
            "kind": "office",
            "parent": "x",
        },
        {
            "ref": "th",
            "name": "Trường Tiểu học Ít Ong",
            "short_code": "THIO",
            "kind": "school",
            "parent": "x",
        },
    ]
    for n, name in enumerate(VILLAGES, start=1):
        units.append(
            {
                "ref": f"b{n}",
                "name": name,
                "short_code": f"B{n:02}",
                "kind": "village",
                "parent": "x",
            }
        )
    return {"units": units}


async def test_a_group_of_twelve_villages_is_fanned_out_and_counted(
    pool: asyncpg.Pool[Any], domain_store: EventStore
) -> None:
    clock = datetime(2021, 1, 4, 9, 0, tzinfo=VIETNAM)
    app = create_app(load_settings({}), pool=pool, clock=lambda: clock)
    _, admin_token = await make_user(domain_store, "admin")
    async with api_client(app) as client:
        u = (
            await ok(
                await client.post("/units/import", json=tree(), headers=bearer(admin_token)), 201
            )
        )["units"]
        _, chief_token = await make_user(domain_store, "chief", uuid.UUID(u["x"]))
        chief = bearer(chief_token)
        plan = (
            await ok(
                await client.post(
                    "/plans",
                    json={
                        "kind": "CV",
                        "issuer_unit_id": u["x"],
                        "title": "Tổng vệ sinh môi trường đón Tết Nguyên đán Tân Sửu",
                    },
                    headers=chief,
                ),
                201,
            )
        )["id"]
        await ok(
            await client.post(
                f"/plans/{plan}/issue",
                json={"number": "21/UBND-VP", "place": "Ít Ong", "issued_on": "04/01/2021"},
                headers=chief,
            )
        )
        villages = {"within": u["x"], "kinds": ["village"], "text": "các thôn, bản"}
        issued = await ok(
            await client.post(
                f"/plans/{plan}/assignments",
                json={
                    "item": "1",
                    "text": ITEM,
                    "lead_groups": [villages],
                    "coordinating_groups": [
                        {"within": u["x"], "kinds": ["school"], "text": "các trường học"}
                    ],
                    "coordinating_text": ["các cơ quan, đơn vị có liên quan"],
                    "report_via": "qua Văn phòng UBND xã",
                    "due_date": "31/01/2021",
                    "due_rule": "by",
                    "due_text": "chậm nhất ngày 31/01/2021",
                },
                headers=chief,
            ),
            201,
        )
        nobody = await client.post(
            f"/plans/{plan}/assignments",
            json={
                "item": "2",
                "text": "Các trạm y tế ...",
                "lead_groups": [
                    {"within": u["x"], "kinds": ["health_facility"], "text": "các trạm y tế"}
                ],
            },
            headers=chief,
        )
        both = await client.post(
            f"/plans/{plan}/assignments",
            json={
                "item": "4",
                "text": "...",
                "lead_unit_ids": [u["th"]],
                "coordinating_unit_ids": [u["th"]],
            },
            headers=chief,
        )
        no_lead = await client.post(
            f"/plans/{plan}/assignments", json={"item": "3", "text": "..."}, headers=chief
        )
        projector = Projector(domain_store, task_facts.MODEL)
        assert await projector.claim()
        await projector.catch_up_to_the_end()
        figures = await ok(await client.get(f"/plans/{plan}/compliance", headers=chief))
        january = await ok(
            await client.get(
                f"/units/{u['x']}/compliance",
                params={"from": "01/01/2021", "to": "31/01/2021"},
                headers=chief,
            )
        )
        one = await ok(
            await client.get(f"/assignments/{issued['assignments'][u['b1']]}", headers=chief)
        )
        view = await ok(await client.get(f"/plans/{plan}", headers=chief))
        board = await ok(
            await client.get(f"/units/{u['b1']}/assignments", headers=bearer(admin_token))
        )

    village_ids = {u[f"b{n}"] for n in range(1, 13)}
    assert set(issued["assignments"]) == village_ids  # one task per village, nobody else
    assert len({e["stream_id"] for e in issued["events"]}) == 12  # in one append
    assert figures["assigned"] == 12 and figures["open_within_deadline"] == 12
    assert january["assigned"] == 12
    assert one["lead_group"] == {
        "within": u["x"],
        "kinds": ["village"],
        "subtree": False,
        "text": "các thôn, bản",
    }
    assert one["coordinating_unit_ids"] == [u["th"]]
    # Read back as an official reads: every unit named with its name and code.
    assert one["lead_unit"] == {"id": u["b1"], "name": "Bản Ít Ong", "short_code": "B01"}
    assert one["coordinating_units"] == [
        {"id": u["th"], "name": "Trường Tiểu học Ít Ong", "short_code": "THIO"}
    ]
    assert one["report_to_unit"]["name"] == "Ủy ban nhân dân xã Ít Ong"
    assert sorted(t["lead_unit"]["name"] for t in view["tasks"]) == sorted(VILLAGES)
    assert view["issuer_unit"]["short_code"] == "UBND"
    assert {e["unit"]["short_code"] for e in view["not_reported"]} == {
        f"B{n:02}" for n in range(1, 13)
    }
    assert board["items"][0]["lead_unit"]["name"] == "Bản Ít Ong"
    assert one["coordinating_groups"][0]["text"] == "các trường học"
    assert one["coordinating_text"] == ["các cơ quan, đơn vị có liên quan"]
    assert one["report_via"] == "qua Văn phòng UBND xã"
    assert one["report_to_unit_id"] == u["x"]
    assert nobody.status_code == 422 and nobody.json()["type"].endswith("/empty-group")
    assert both.status_code == 422 and both.json()["type"].endswith("/lead-also-coordinating")
    assert no_lead.status_code == 400 and no_lead.json()["type"].endswith("/invalid-request")


async def test_a_group_never_names_its_issuer_nor_more_than_an_item_may_hold(
    pool: asyncpg.Pool[Any], domain_store: EventStore
) -> None:
    clock = datetime(2021, 1, 4, 9, 0, tzinfo=VIETNAM)
    app = create_app(load_settings({}), pool=pool, clock=lambda: clock)
    _, admin_token = await make_user(domain_store, "admin")
    units = tree()
    units["units"] += [
        {"ref": f"t{n}", "name": f"Tổ {n}", "short_code": f"T{n:03}", "kind": "party_group",
         "parent": "x"}
        for n in range(1, 102)
    ]  # fmt: skip
    async with api_client(app) as client:
        u = (
            await ok(
                await client.post("/units/import", json=units, headers=bearer(admin_token)), 201
            )
        )["units"]
        _, office_token = await make_user(domain_store, "chief", uuid.UUID(u["vp"]))
        office = bearer(office_token)
        plan = (
            await ok(
                await client.post(
                    "/plans",
                    json={"kind": "CV", "issuer_unit_id": u["vp"], "title": "Lịch trực Tết"},
                    headers=office,
                ),
                201,
            )
        )["id"]
        await ok(
            await client.post(
                f"/plans/{plan}/issue",
                json={"number": "3/VP", "issued_on": "04/01/2021"},
                headers=office,
            )
        )
        # "các đơn vị thuộc UBND xã": the office issuing is one of them, and is left out.
        siblings = await ok(
            await client.post(
                f"/plans/{plan}/assignments",
                json={
                    "item": "1",
                    "text": "Phân công trực Tết",
                    "lead_groups": [{"within": u["x"], "kinds": ["office", "school"]}],
                },
                headers=office,
            ),
            201,
        )
        too_many = await client.post(
            f"/plans/{plan}/assignments",
            json={
                "item": "2",
                "text": "Các tổ đảng phối hợp",
                "lead_unit_ids": [u["th"]],
                "coordinating_groups": [{"within": u["x"], "kinds": ["party_group"]}],
            },
            headers=office,
        )
    assert set(siblings["assignments"]) == {u["th"]}
    assert too_many.status_code == 422 and too_many.json()["type"].endswith("/group-too-large")
