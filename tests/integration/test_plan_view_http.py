"""The plan view over HTTP: tasks and who has not reported, now and as of an instant."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime
from typing import Any

import asyncpg

from events.store import EventStore
from projections import task_facts
from projections.projector import Projector
from services.api.app import create_app
from services.ops.demo import demo_id, load_demo
from services.runtime.config import load_settings
from tests.http import api_client
from tests.org import bearer, make_user

PLAN = demo_id("plan:1293")
PLANNING_DEPARTMENT = str(demo_id("unit:ct-skhdt"))
STATISTICS_TASK = str(demo_id("task:1293-3"))


async def test_the_plan_view_now_and_as_of_before_a_withdrawal(
    domain_store: EventStore, pool: asyncpg.Pool[Any]
) -> None:
    await load_demo(domain_store)
    projector = Projector(domain_store, task_facts.MODEL)
    assert await projector.claim()
    await projector.catch_up_to_the_end()
    _, chief_token = await make_user(domain_store, "chief", demo_id("unit:ct-btv"))
    _, stranger_token = await make_user(domain_store, "consumer", demo_id("unit:ub"))
    chief, stranger = bearer(chief_token), bearer(stranger_token)
    app = create_app(load_settings({}), pool=pool)
    async with api_client(app) as client:
        before = await client.get(f"/plans/{PLAN}", headers=chief)
        assert before.status_code == 200, before.text
        view = before.json()
        assert [(t["item"], t["status"], t["overdue"]) for t in view["tasks"]] == [
            ("1", "completed_late", False),  # the propaganda board, 19/06/2020
            ("2", "completed_on_time", False),
            ("2", "completed_on_time", False),
            ("3", "assigned", True),
        ]
        assert [(u["unit_id"], u["assignment_id"], u["overdue"]) for u in view["not_reported"]] == [
            (PLANNING_DEPARTMENT, STATISTICS_TASK, True)
        ]
        assert view["as_of"] is None
        await asyncio.sleep(0.01)
        instant = datetime.now(UTC)
        await asyncio.sleep(0.01)

        withdrawn = await client.post(
            f"/assignments/{STATISTICS_TASK}/withdraw",
            headers=chief,
            json={"reason": "Số liệu đã có trong báo cáo chính trị"},
        )
        assert withdrawn.status_code == 200, withdrawn.text
        await projector.catch_up_to_the_end()

        now = (await client.get(f"/plans/{PLAN}", headers=chief)).json()
        assert now["tasks"][3]["status"] == "withdrawn" and now["not_reported"] == []
        then = await client.get(
            f"/plans/{PLAN}", headers=chief, params={"as_of": instant.isoformat()}
        )
        assert then.status_code == 200, then.text
        assert {k: v for k, v in then.json().items() if k != "as_of"} == {
            k: v for k, v in view.items() if k != "as_of"
        }
        assert then.json()["as_of"]["instant"] == instant.isoformat()
        assert then.json()["as_of"]["cursor"]
        # As of the instant just after the withdrawal, the fold is the projector's view now.
        latest = datetime.now(UTC).isoformat()
        again = (await client.get(f"/plans/{PLAN}", headers=chief, params={"as_of": latest})).json()
        assert {k: v for k, v in again.items() if k != "as_of"} == {
            k: v for k, v in now.items() if k != "as_of"
        }

        figures_then = await client.get(
            f"/plans/{PLAN}/compliance", headers=chief, params={"as_of": instant.isoformat()}
        )
        figures_now = await client.get(f"/plans/{PLAN}/compliance", headers=chief)
        assert figures_then.status_code == 200, figures_then.text
        pick = ("assigned", "open_overdue", "withdrawn", "completion_rate", "metrics")
        assert [figures_then.json()[k] for k in pick] == [
            4,
            1,
            0,
            "3/4",
            {"tasks_done": 60, "tasks_total": 85, "value_dong": 626_000_000_000, "works": 469},
        ]
        assert [figures_now.json()[k] for k in pick[:4]] == [4, 0, 1, "3/3"]

        for params, status, kind in (
            ({"as_of": "2000-01-01T00:00:00+07:00"}, 404, "unknown-plan-then"),
            ({"as_of": "2022-10-01T00:00:00"}, 422, "naive-time"),
            ({"as_of": "2999-01-01T00:00:00+07:00"}, 422, "future-instant"),
            ({"as_of": "soon"}, 400, None),
        ):
            for path in (f"/plans/{PLAN}", f"/plans/{PLAN}/compliance"):
                answer = await client.get(path, headers=chief, params=params)
                assert answer.status_code == status, (path, params, answer.text)
                if kind:
                    assert answer.json()["type"].endswith(kind), answer.json()
        for path in (f"/plans/{PLAN}", f"/plans/{PLAN}/compliance"):
            answer = await client.get(path, headers=stranger, params={"as_of": instant.isoformat()})
            assert answer.status_code == 404  # outside reach answers like unknown
        missing = await client.get(
            f"/plans/{uuid.uuid4()}", headers=chief, params={"as_of": instant.isoformat()}
        )
        assert missing.status_code == 404
