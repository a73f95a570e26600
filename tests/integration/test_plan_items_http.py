"""A schedule table that names no lead units (issue 21): its rows are recorded as items of the
plan, shown as written, with no task to chase until leads are named.

    LỊCH TUYÊN TRUYỀN KỶ NIỆM 91 NĂM NGÀY THÀNH LẬP ĐẢNG (03/02/1930 - 03/02/2021)
    | Thời gian        | Nội dung                                        | Cấp thực hiện |
    | Tháng 01/2021    | Treo băng rôn, khẩu hiệu trên các tuyến đường   | cấp xã        |
    | 25/01-03/02/2021 | Phát thanh các bài tuyên truyền trên loa        | cấp xã        |
    | 03/02/2021       | Tổ chức mít tinh kỷ niệm                        |               |
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta, timezone
from typing import Any

import asyncpg

from events.store import EventStore
from services.api.app import create_app
from services.runtime.config import load_settings
from tests.http import api_client, ok
from tests.org import bearer, make_user

VIETNAM = timezone(timedelta(hours=7))
ROWS = [
    {
        "text": "Treo băng rôn, khẩu hiệu trên các tuyến đường",
        "addressed_to": "cấp xã",
        "due_date": "1/2021",
        "due_rule": "within_month",
        "due_text": "Tháng 01/2021",
    },
    {
        "text": "Phát thanh các bài tuyên truyền trên hệ thống loa truyền thanh",
        "addressed_to": "cấp xã",
        "starts_on": "25/01/2021",
        "due_date": "03/02/2021",
        "due_rule": "by",
        "due_text": "25/01-03/02/2021",
    },
    {"text": "Tổ chức mít tinh kỷ niệm", "due_date": "03/02/2021", "due_rule": "by"},
]


async def test_a_schedule_without_leads_is_recorded_as_items(
    pool: asyncpg.Pool[Any], domain_store: EventStore
) -> None:
    now = datetime(2021, 1, 6, 9, 0, tzinfo=VIETNAM)
    app = create_app(load_settings({}), pool=pool, clock=lambda: now)
    _, admin_token = await make_user(domain_store, "admin")
    tree = {
        "units": [{"ref": "h", "name": "Huyện ủy Mường La", "short_code": "HU", "kind": "district"}]
    }
    async with api_client(app) as client:
        u = (
            await ok(
                await client.post("/units/import", json=tree, headers=bearer(admin_token)), 201
            )
        )["units"]
        _, chief_token = await make_user(domain_store, "chief", uuid.UUID(u["h"]))
        chief = bearer(chief_token)
        plan = (
            await ok(
                await client.post(
                    "/plans",
                    json={
                        "kind": "KH",
                        "issuer_unit_id": u["h"],
                        "title": "Lịch tuyên truyền kỷ niệm 91 năm Ngày thành lập Đảng",
                    },
                    headers=chief,
                ),
                201,
            )
        )["id"]
        on_draft = await client.post(f"/plans/{plan}/items", json=ROWS[0], headers=chief)
        await ok(
            await client.post(
                f"/plans/{plan}/issue",
                json={"number": "15-KH/HU", "place": "Mường La", "issued_on": "06/01/2021"},
                headers=chief,
            )
        )
        first = str(uuid.uuid4())
        answers = [
            await client.post(f"/plans/{plan}/items", json={**ROWS[0], "id": first}, headers=chief)
        ] + [await client.post(f"/plans/{plan}/items", json=row, headers=chief) for row in ROWS[1:]]
        again = await client.post(
            f"/plans/{plan}/items", json={**ROWS[0], "id": first}, headers=chief
        )
        view = await ok(await client.get(f"/plans/{plan}", headers=chief))
        figures = await ok(await client.get(f"/plans/{plan}/compliance", headers=chief))

    assert on_draft.status_code == 422 and on_draft.json()["type"].endswith("/plan-takes-no-tasks")
    assert [a.status_code for a in answers] == [201, 201, 201]
    assert answers[0].json()["id"] == first
    assert again.status_code == 409 and again.json()["type"].endswith("/item-exists")
    assert [
        (i["item"], i["text"], i["addressed_to"], i["due"], i["stated_due"], i["starts_on"])
        for i in view["items"]
    ] == [
        (
            None,
            "Treo băng rôn, khẩu hiệu trên các tuyến đường",
            "cấp xã",
            "2021-02-01T00:00:00+07:00",
            {"text": "Tháng 01/2021", "on": "2021-01-31", "rule": "within_month"},
            None,
        ),
        (
            None,
            "Phát thanh các bài tuyên truyền trên hệ thống loa truyền thanh",
            "cấp xã",
            "2021-02-04T00:00:00+07:00",
            {"text": "25/01-03/02/2021", "on": "2021-02-03", "rule": "by"},
            "2021-01-25",
        ),
        (
            None,
            "Tổ chức mít tinh kỷ niệm",
            None,
            "2021-02-04T00:00:00+07:00",
            {"text": None, "on": "2021-02-03", "rule": "by"},
            None,
        ),
    ]
    assert view["tasks"] == [] and figures["assigned"] == 0  # nothing to chase
