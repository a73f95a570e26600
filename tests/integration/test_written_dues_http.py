"""Dues as documents write them, over HTTP (issue 21): a date with its reading and its words,
a task with no deadline (tracked, never chased, counted apart) that is given one later, and a
unit's compliance over a month given as dates.

The plan is written in the style of a commune Party committee's plan (HD 36-HD/VPTW layout):

    ĐẢNG BỘ HUYỆN MƯỜNG LA            ĐẢNG CỘNG SẢN VIỆT NAM
    ĐẢNG ỦY XÃ ÍT ONG
          Số 12-KH/ĐU                 Ít Ong, ngày 05 tháng 01 năm 2021

                              KẾ HOẠCH
           tuyên truyền Đại hội đại biểu toàn quốc lần thứ XIII của Đảng
    ...
    1. Các chi bộ ... xây dựng kế hoạch tuyên truyền, hoàn thành trong tháng 1/2021.
    2. Ban Tuyên giáo tổng hợp, báo cáo kết quả về Đảng ủy trước ngày 26/02/2021.
    3. Các đoàn thể thường xuyên tuyên truyền trên hệ thống loa truyền thanh.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

import asyncpg
import pytest

from events.store import EventStore
from projections import task_facts
from projections.projector import Projector
from services.api.app import create_app
from services.runtime.config import load_settings
from tests.http import api_client, ok
from tests.org import bearer, make_user

VIETNAM = timezone(timedelta(hours=7))

TREE = {
    "units": [
        {"ref": "du", "name": "Đảng ủy xã Ít Ong", "short_code": "ĐU", "kind": "party_committee"},
        {
            "ref": "btg",
            "name": "Ban Tuyên giáo Đảng ủy xã",
            "short_code": "BTG",
            "kind": "department",
            "parent": "du",
        },
        {
            "ref": "cb1",
            "name": "Chi bộ bản Ít Ong",
            "short_code": "CB1",
            "kind": "party_cell",
            "parent": "du",
        },
        {
            "ref": "dt",
            "name": "Đoàn Thanh niên xã",
            "short_code": "ĐTN",
            "kind": "mass_organisation",
            "parent": "du",
        },
    ]
}
ITEM_1 = "Các chi bộ xây dựng kế hoạch tuyên truyền, hoàn thành trong tháng 1/2021."
ITEM_2 = "Ban Tuyên giáo tổng hợp, báo cáo kết quả về Đảng ủy trước ngày 26/02/2021."
ITEM_3 = "Các đoàn thể thường xuyên tuyên truyền trên hệ thống loa truyền thanh."


@dataclass
class Clock:
    now: datetime

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock(datetime(2021, 1, 5, 9, 0, tzinfo=VIETNAM))


async def test_dues_as_written_undated_tasks_and_a_month_of_compliance(
    pool: asyncpg.Pool[Any], domain_store: EventStore, clock: Clock
) -> None:
    app = create_app(load_settings({}), pool=pool, clock=clock)
    _, admin_token = await make_user(domain_store, "admin")
    async with api_client(app) as client:
        u = (
            await ok(
                await client.post("/units/import", json=TREE, headers=bearer(admin_token)), 201
            )
        )["units"]
        _, chief_token = await make_user(domain_store, "chief", uuid.UUID(u["du"]))
        chief = bearer(chief_token)
        plan = (
            await ok(
                await client.post(
                    "/plans",
                    json={
                        "kind": "KH",
                        "issuer_unit_id": u["du"],
                        "title": "Tuyên truyền Đại hội đại biểu toàn quốc lần thứ XIII của Đảng",
                    },
                    headers=chief,
                ),
                201,
            )
        )["id"]
        await ok(
            await client.post(
                f"/plans/{plan}/issue",
                json={
                    "number": "12-KH/ĐU",
                    "place": "Ít Ong",
                    "issued_on": "05/01/2021",
                    "signer": {"name": "Lò Văn Hùng", "title": "Bí thư", "authority": "TM"},
                },
                headers=chief,
            )
        )

        async def issue(body: dict[str, Any]) -> Any:
            return await client.post(f"/plans/{plan}/assignments", json=body, headers=chief)

        month = await ok(
            await issue(
                {
                    "item": "1",
                    "text": ITEM_1,
                    "lead_unit_ids": [u["cb1"]],
                    "due_date": "1/2021",
                    "due_rule": "within_month",
                    "due_text": "hoàn thành trong tháng 1/2021",
                }
            ),
            201,
        )
        before = await ok(
            await issue(
                {
                    "item": "2",
                    "text": ITEM_2,
                    "lead_unit_ids": [u["btg"]],
                    "due_date": "26/02/2021",
                    "due_rule": "before",
                    "due_text": "trước ngày 26/02/2021",
                    "starts_on": "05/01/2021",
                }
            ),
            201,
        )
        undated = await ok(
            await issue(
                {
                    "item": "3",
                    "text": ITEM_3,
                    "lead_unit_ids": [u["dt"]],
                    "due_text": "thường xuyên",
                }
            ),
            201,
        )
        unnumbered = await ok(
            await issue(
                {
                    "text": "Đoàn Thanh niên xã phối hợp tuyên truyền trên mạng xã hội.",
                    "lead_unit_ids": [u["dt"]],
                    "due_date": "I/2021",
                    "due_rule": "within_quarter",
                    "due_text": "trong quý I/2021",
                }
            ),
            201,
        )
        # Refusals: a date without its reading, a date that does not exist, both forms at once.
        no_rule = await issue(
            {"item": "4", "text": "x", "lead_unit_ids": [u["cb1"]], "due_date": "26/02/2021"}
        )
        no_day = await issue(
            {
                "item": "4",
                "text": "x",
                "lead_unit_ids": [u["cb1"]],
                "due_date": "31/02/2021",
                "due_rule": "by",
            }
        )
        both = await issue(
            {
                "item": "4",
                "text": "x",
                "lead_unit_ids": [u["cb1"]],
                "due": "2021-02-26T00:00:00+07:00",
                "due_date": "26/02/2021",
                "due_rule": "by",
            }
        )

        undated_id = undated["id"]
        task = await ok(await client.get(f"/assignments/{undated_id}", headers=chief))
        task_2 = await ok(await client.get(f"/assignments/{before['id']}", headers=chief))
        no_extension = await client.post(
            f"/assignments/{undated_id}/extensions",
            json={"requested_due": "2021-03-01T00:00:00+07:00", "reason": "chưa kịp"},
            headers=bearer((await make_user(domain_store, "officer", uuid.UUID(u["dt"])))[1]),
        )
        projector = Projector(domain_store, task_facts.MODEL)
        assert await projector.claim()
        await projector.catch_up_to_the_end()
        view = await ok(await client.get(f"/plans/{plan}", headers=chief))
        figures = await ok(await client.get(f"/plans/{plan}/compliance", headers=chief))
        january = await ok(
            await client.get(
                f"/units/{u['du']}/compliance",
                params={"from": "01/01/2021", "to": "31/01/2021"},
                headers=chief,
            )
        )
        january_instants = await ok(
            await client.get(
                f"/units/{u['du']}/compliance",
                params={"from": "2021-01-01T00:00:00+07:00", "to": "2021-02-01T00:00:00+07:00"},
                headers=chief,
            )
        )
        mixed = await client.get(
            f"/units/{u['du']}/compliance",
            params={"from": "01/01/2021", "to": "2021-02-01T00:00:00+07:00"},
            headers=chief,
        )

        # 10/03/2021: a later direction gives the undated task a deadline; it is now chased.
        clock.now = datetime(2021, 3, 10, 9, 0, tzinfo=VIETNAM)
        set_due = await ok(
            await client.post(
                f"/assignments/{undated_id}/due",
                json={
                    "due_date": "31/03/2021",
                    "due_rule": "by",
                    "due_text": "chậm nhất ngày 31/03/2021",
                    "reason": "Công văn số 45-CV/ĐU ngày 10/03/2021",
                },
                headers=chief,
            )
        )
        again = await client.post(
            f"/assignments/{undated_id}/due",
            json={"due": "2021-04-30T00:00:00+07:00", "reason": "lần nữa"},
            headers=chief,
        )
        dated = await ok(await client.get(f"/assignments/{undated_id}", headers=chief))

    # Item 1: "trong tháng 1/2021" is chased at the end of 31/01/2021; item 2: "trước ngày
    # 26/02/2021" at the start of the 26th. Each issue carries its schedule; item 3 has none.
    async def stream(task_id: str) -> list[Any]:
        return list(await domain_store.read_stream(f"assignment-{task_id}"))

    assert [e.type for e in await stream(month["id"])][:2] == [
        "AssignmentIssued",
        "DeadlineScheduled",
    ]
    assert [e.type for e in await stream(undated_id)][:1] == ["AssignmentIssued"]
    assert len(undated["events"]) == 1  # no schedule
    by_item = {t["item"]: t for t in view["tasks"]}
    assert [(t["item"], t["due"], t["due_text"]) for t in view["tasks"]] == [
        ("1", "2021-01-31T17:00:00+00:00", "hoàn thành trong tháng 1/2021"),
        ("2", "2021-02-25T17:00:00+00:00", "trước ngày 26/02/2021"),
        ("3", None, "thường xuyên"),
        (None, "2021-03-31T17:00:00+00:00", "trong quý I/2021"),  # unnumbered, in issue order
    ]
    assert view["tasks"][3]["assignment_id"] == unnumbered["id"]
    assert by_item["3"]["overdue"] is False and by_item["3"]["original_due"] is None
    assert task_2["stated_due"] == {
        "text": "trước ngày 26/02/2021",
        "on": "2021-02-26",
        "rule": "before",
    }
    assert task_2["starts_on"] == "2021-01-05"
    assert task_2["due"] == "2021-02-26T00:00:00+07:00"
    assert task["due"] is None and task["overdue"] is False
    assert task["stated_due"] == {"text": "thường xuyên", "on": None, "rule": None}
    assert no_extension.status_code == 422 and no_extension.json()["type"].endswith("/no-due")
    refusals = ((no_rule, "invalid-due"), (no_day, "invalid-date"), (both, "invalid-due"))
    for refused, code in refusals:
        assert refused.status_code == 422, refused.text
        assert refused.json()["type"].endswith(f"/{code}"), refused.text
    # Counted apart: four assigned, three with a deadline still open, one without.
    assert (figures["assigned"], figures["open_within_deadline"]) == (4, 3)
    assert (figures["open_without_deadline"], figures["completed_without_deadline"]) == (1, 0)
    assert figures["completion_rate"] == "0/0"
    # January as dates finds "trong tháng 1/2021"; as instants [from, to) it does not.
    assert january["assigned"] == 1
    assert january["unit"] == {"id": u["du"], "name": "Đảng ủy xã Ít Ong", "short_code": "ĐU"}
    assert january_instants["assigned"] == 0
    assert mixed.status_code == 400 and mixed.json()["type"].endswith("/invalid-period")
    # Given its due, the task is scheduled like any other; a second time is refused.
    written = (await stream(undated_id))[-2:]
    assert [e.type for e in written] == ["DueSet", "DeadlineScheduled"]
    assert len(set_due["events"]) == 2
    assert written[1].data.cause == "due_set"
    assert written[0].data.due.isoformat() == "2021-04-01T00:00:00+07:00"
    assert again.status_code == 422 and again.json()["type"].endswith("/due-already-set")
    assert dated["due"] == "2021-04-01T00:00:00+07:00"
    assert dated["original_due"] == "2021-04-01T00:00:00+07:00"
    assert dated["stated_due"]["text"] == "chậm nhất ngày 31/03/2021"
