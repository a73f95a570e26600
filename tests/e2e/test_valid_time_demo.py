"""The demo in valid time (issue 21): 1293-CV/TU as it was in effect on 20/05/2019, written out
by hand from the seed story (the press and the radio have reported and been approved; the
propaganda board and the Department of Planning have not), beside the record as of now."""

from __future__ import annotations

from typing import Any

import asyncpg

from events.store import EventStore
from projections import task_facts
from projections.projector import Projector
from services.api.app import create_app
from services.ops.demo import demo_id, load_demo
from services.runtime.config import load_settings
from tests.http import api_client, ok
from tests.org import bearer, make_user

PLAN = demo_id("plan:1293")


def statuses(view: dict[str, Any]) -> list[tuple[str, str, str, bool]]:
    return [(t["item"], t["lead_unit_id"], t["status"], t["overdue"]) for t in view["tasks"]]


async def test_1293_in_effect_on_20_may_2019_and_as_recorded_now(
    domain_store: EventStore, pool: asyncpg.Pool[Any]
) -> None:
    await load_demo(domain_store)
    _, chief_token = await make_user(domain_store, "chief", demo_id("unit:ct-btv"))
    chief = bearer(chief_token)
    app = create_app(load_settings({}), pool=pool)
    board, press, radio, planning = (
        str(demo_id(f"unit:{ref}")) for ref in ("ct-btg", "ct-bao", "ct-dai", "ct-skhdt")
    )
    async with api_client(app) as client:
        may20 = await ok(
            await client.get(f"/plans/{PLAN}", params={"valid_at": "20/05/2019"}, headers=chief)
        )
        in_words = await ok(
            await client.get(
                f"/plans/{PLAN}", params={"valid_at": "ngày 20 tháng 5 năm 2019"}, headers=chief
            )
        )
        may20_figures = await ok(
            await client.get(
                f"/plans/{PLAN}/compliance", params={"valid_at": "20/05/2019"}, headers=chief
            )
        )
        june = await ok(
            await client.get(
                f"/plans/{PLAN}",
                params={"valid_at": "2019-06-02T08:00:00+07:00"},
                headers=chief,
            )
        )
        before = await client.get(
            f"/plans/{PLAN}", params={"valid_at": "05/05/2019"}, headers=chief
        )
        task = demo_id("task:1293-1")
        task_then = await ok(
            await client.get(
                f"/assignments/{task}", params={"valid_at": "20/05/2019"}, headers=chief
            )
        )
        task_now = await ok(await client.get(f"/assignments/{task}", headers=chief))
        bad = await client.get(f"/plans/{PLAN}", params={"valid_at": "32/05/2019"}, headers=chief)
        projector = Projector(domain_store, task_facts.MODEL)
        assert await projector.claim()
        await projector.catch_up_to_the_end()
        now = await ok(await client.get(f"/plans/{PLAN}", headers=chief))

    assert may20["valid_at"] == "2019-05-20T23:59:59.999999+07:00" and may20["as_of"] is None
    assert in_words["tasks"] == may20["tasks"]
    assert may20["status"] == "issued" and may20["issued"]["number"] == "1293-CV/TU"
    assert statuses(may20) == sorted(
        [
            ("1", board, "assigned", False),
            ("2", press, "completed_on_time", False),
            ("2", radio, "completed_on_time", False),
            ("3", planning, "assigned", False),
        ]
    )
    assert [u["unit_id"] for u in may20["not_reported"]] == [board, planning]
    assert (
        may20_figures["assigned"],
        may20_figures["completed_on_time"],
        may20_figures["open_within_deadline"],
        may20_figures["open_overdue"],
    ) == (4, 2, 2, 0)
    # On 2 June 2019 the due (end of 31 May) has passed: both open tasks are overdue.
    assert {t["lead_unit_id"] for t in june["tasks"] if t["overdue"]} == {board, planning}
    assert before.status_code == 404 and before.json()["type"].endswith("/not-in-effect-then")
    assert (task_then["status"], task_then["submissions"], task_then["overdue"]) == (
        "assigned",
        [],
        False,
    )
    assert task_now["status"] == "completed_late" and len(task_now["submissions"]) == 1
    assert bad.status_code == 422 and bad.json()["type"].endswith("/invalid-date")
    # As recorded now: the board reported late (19/06/2020); Planning never did.
    assert [s for _, _, s, _ in statuses(now)] == [
        "completed_late",
        "completed_on_time",
        "completed_on_time",
        "assigned",
    ]
