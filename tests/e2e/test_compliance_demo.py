"""Compliance for the demo, written out by hand from the seed stories (not computed by the code
under test): per plan, per unit with roll-ups, a merged unit's tasks counted toward its
successor, and a period."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

import asyncpg

from events.store import EventStore
from projections import compliance, task_facts
from projections.projector import Projector
from services.ops.demo import demo_id, load_demo

HANOI = timezone(timedelta(hours=7))
NOW = datetime(2026, 1, 1, tzinfo=HANOI)
PROGRESS = {"tasks_done": 60, "tasks_total": 85, "value_dong": 626_000_000_000, "works": 469}


def figures(
    assigned: int,
    on_time: int,
    late: int,
    within: int,
    overdue: int,
    due: int,
    days_overdue: int,
    metrics: dict[str, int],
) -> dict[str, Any]:
    return {
        "assigned": assigned,
        "completed_on_time": on_time,
        "completed_late": late,
        "open_within_deadline": within,
        "open_overdue": overdue,
        "withdrawn": 0,
        "due_so_far": due,
        "on_time_due": on_time,
        "completed_due": on_time + late,
        "days_overdue": days_overdue,
        "metrics": metrics,
        "open_without_deadline": 0,
        "completed_without_deadline": 0,
        "completion_rate": f"{on_time + late}/{due}",
        "on_time_rate": f"{on_time}/{due}",
    }


# 1293-CV/TU, due 1 June 2019: the press on time, the propaganda board late (19/06/2020),
# the Department of Planning never: 2,406 days overdue on 1 January 2026.
# 227-KH/TU, due 15/10/2020: three on time, the Mass Mobilisation board never: 1,904 days.
# 334-KH/CB: three on time; the consolidated report (3 models) is not counted twice.
EXPECTED_PLANS = {
    "1293": figures(4, 2, 1, 0, 1, 4, 2406, PROGRESS),
    "227": figures(4, 3, 0, 0, 1, 4, 1904, {}),
    "334": figures(3, 3, 0, 0, 0, 3, 0, {"models": 3}),
    "107": figures(0, 0, 0, 0, 0, 0, 0, {}),
}
EXPECTED_UNITS = {
    # the Sơn La cell rolls up the union and party group 1; the Party committee above it too
    "sl-cb": figures(3, 3, 0, 0, 0, 3, 0, {"models": 3}),
    "sl-du": figures(3, 3, 0, 0, 0, 3, 0, {"models": 3}),
    "sl-t1": figures(1, 1, 0, 0, 0, 1, 0, {"models": 2}),
    # the 2025 board: the merged propaganda board's late task, the Mass Mobilisation board's
    # open task (handed over), and the newspaper moved under it (two tasks on time)
    "ct-btgdv": figures(4, 2, 1, 0, 1, 4, 1904, PROGRESS),
    "ct-tu": figures(8, 5, 1, 0, 2, 8, 2406 + 1904, PROGRESS),
    "ct-skhdt": figures(1, 0, 0, 0, 1, 1, 2406, {}),
}


async def test_compliance_of_the_demo(domain_store: EventStore, pool: asyncpg.Pool[Any]) -> None:
    await load_demo(domain_store)
    projector = Projector(domain_store, task_facts.MODEL)
    assert await projector.claim()
    # the demo's 47 task events and the 13 schedules recorded with them (11 issued, 1 extended,
    # 1 reassigned)
    assert await projector.catch_up_to_the_end() == 60
    for ref, expected in EXPECTED_PLANS.items():
        found = await compliance.for_plan(pool, demo_id(f"plan:{ref}"), NOW)
        assert found.body() == expected, ref
    for ref, expected in EXPECTED_UNITS.items():
        found = await compliance.for_unit(pool, demo_id(f"unit:{ref}"), NOW)
        assert found.body() == expected, ref
    in_2020 = await compliance.for_unit(
        pool,
        demo_id("unit:ct-tu"),
        NOW,
        datetime(2020, 1, 1, tzinfo=HANOI),
        datetime(2021, 1, 1, tzinfo=HANOI),
    )
    assert in_2020.body() == figures(4, 3, 0, 0, 1, 4, 1904, {})
    before_due = await compliance.for_plan(
        pool, demo_id("plan:227"), datetime(2020, 9, 1, tzinfo=HANOI)
    )
    assert (before_due.open_within_deadline, before_due.open_overdue) == (1, 0)
    assert before_due.completion_rate == "0/0"
