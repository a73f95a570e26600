"""Compliance figures and the task board (projections/compliance) over task rows of known
statuses and dues around "now": what a plan's, a unit's and a board's reader sees."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import pytest
from msgspec.structs import replace

from projections import compliance, task_facts
from projections.task_facts import TaskFact

NOW = datetime(2026, 3, 10, 3, 0, tzinfo=UTC)
PLAN, OTHER_PLAN = uuid.uuid4(), uuid.uuid4()
COMMITTEE, CELL, ELSEWHERE = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
"""The cell is under the committee; the third unit is in another tree."""
HOUR, DAY = timedelta(hours=1), timedelta(days=1)


def fact(n: int, status: str, due: datetime, lead: uuid.UUID = CELL, **fields: Any) -> TaskFact:
    row = TaskFact(
        uuid.UUID(int=n), PLAN, str(n), lead, COMMITTEE, COMMITTEE, status, due, due, NOW - 30 * DAY
    )
    return replace(row, **fields)


SOON = fact(1, "submitted", NOW + HOUR, filed_metrics={"works": 100}, obstacles_open=1)
DUE_NOW = fact(2, "acknowledged", NOW, extension_pending=True)
LATE = fact(3, "changes_requested", NOW - DAY - HOUR)  # overdue by a day and an hour: 2 days
ON_TIME = fact(4, "completed_on_time", NOW - 2 * DAY, on_time=True, metrics={"works": 3})
CONSOLIDATED = fact(
    5,
    "completed_late",
    NOW - 3 * DAY,
    on_time=False,
    days_late=1,
    metrics={"works": 5, "people": 40},  # holds task 4's 3 works
    consolidated=True,
    sources=(ON_TIME.assignment_id,),
)
WITHDRAWN = fact(6, "withdrawn", NOW - 5 * DAY, lead=COMMITTEE, coordinating_unit_ids=(CELL,))
EARLY = fact(7, "completed_on_time", NOW + 2 * DAY, lead=COMMITTEE, metrics={"works": 1})
FACTS = [SOON, DUE_NOW, LATE, ON_TIME, CONSOLIDATED, WITHDRAWN, EARLY]
STRANGER = fact(8, "assigned", NOW - DAY, lead=ELSEWHERE)
ANOTHER_PLAN = replace(fact(9, "assigned", NOW - DAY), plan_id=OTHER_PLAN)

PLAN_FIGURES = compliance.Compliance(
    assigned=8,
    completed_on_time=2,  # 4, and 7 before its due
    completed_late=1,
    open_within_deadline=2,  # 1, and 2 due exactly now: it may still be reported on time
    open_overdue=2,  # 3 and 8
    withdrawn=1,
    due_so_far=5,  # 2, 3, 4, 5, 8: the withdrawn one and those not yet due left out
    on_time_due=1,
    completed_due=2,
    days_overdue=2 + 1,
    metrics={"people": 40, "works": 6},  # 3 + 5 - 3 + 1: each work counted once
)


@pytest.fixture
async def facts(pool: asyncpg.Pool[Any]) -> asyncpg.Pool[Any]:
    await pool.copy_records_to_table(
        "task_facts",
        records=[task_facts.values(f) for f in [*FACTS, STRANGER, ANOTHER_PLAN]],
        columns=task_facts.COLUMNS,
    )
    await pool.executemany(
        "INSERT INTO unit_closure (ancestor_id, descendant_id) VALUES ($1, $2)",
        [(u, u) for u in (COMMITTEE, CELL, ELSEWHERE)] + [(COMMITTEE, CELL)],
    )
    return pool


async def test_a_plans_figures_count_each_task_in_one_bucket(facts: asyncpg.Pool[Any]) -> None:
    figures = await compliance.for_plan(facts, PLAN, NOW)
    assert figures == PLAN_FIGURES
    assert (figures.completion_rate, figures.on_time_rate) == ("2/5", "1/5")
    body = figures.body()
    assert (body["completion_rate"], body["on_time_rate"], body["open_overdue"]) == (
        "2/5",
        "1/5",
        2,
    )


async def test_the_figures_as_of_an_instant_aggregate_the_same_way(
    facts: asyncpg.Pool[Any],
) -> None:
    folded = [*FACTS, STRANGER]
    assert await compliance.for_plan_facts(facts, PLAN, folded, NOW) == PLAN_FIGURES


async def test_a_task_is_overdue_once_past_its_due(facts: asyncpg.Pool[Any]) -> None:
    before = await compliance.for_plan(facts, PLAN, NOW - timedelta(microseconds=1))
    assert (before.open_within_deadline, before.open_overdue) == (2, 2)
    assert (before.due_so_far, before.days_overdue) == (4, 2 + 1)
    # Any part of a day past the due counts as a day: task 2 by one, task 8 by two now.
    after = await compliance.for_plan(facts, PLAN, NOW + timedelta(microseconds=1))
    assert (after.open_within_deadline, after.open_overdue) == (1, 3)
    assert (after.due_so_far, after.days_overdue) == (5, 1 + 2 + 2)


async def test_a_units_figures_cover_its_subtree_and_the_dues_in_the_period(
    facts: asyncpg.Pool[Any],
) -> None:
    cell = await compliance.for_unit(facts, CELL, NOW)
    assert (cell.assigned, cell.open_overdue, cell.completed_due, cell.due_so_far) == (
        6,  # 1 to 5, and task 9 of another plan
        2,
        2,
        5,
    )
    committee = await compliance.for_unit(facts, COMMITTEE, NOW)
    assert (committee.assigned, committee.withdrawn, committee.metrics) == (
        8,
        1,
        {"people": 40, "works": 6},
    )
    # Dues in [starts, ends): task 2 (due exactly at the start) in, task 1 (due at the end) out.
    window = await compliance.for_unit(facts, COMMITTEE, NOW, starts=NOW, ends=NOW + HOUR)
    assert (window.assigned, window.open_within_deadline) == (1, 1)
    later = await compliance.for_unit(facts, COMMITTEE, NOW, starts=NOW + HOUR)
    assert later.assigned == 2  # 1 and 7


async def test_the_board_lists_open_tasks_first_by_due_with_their_flags(
    facts: asyncpg.Pool[Any],
) -> None:
    board = await compliance.board(facts, CELL, NOW)
    seen = [
        (
            row["item"],
            row["role"],
            row["overdue"],
            row["obstacle_open"],
            row["obstacles_open"],
            row["extension_pending"],
        )
        for row in board
    ]
    assert seen == [
        ("3", "lead", True, False, 0, False),  # open, due a day and an hour ago
        ("9", "lead", True, False, 0, False),  # open, due a day ago (under another plan)
        ("2", "lead", False, False, 0, True),  # open, due exactly now: not yet overdue
        ("1", "lead", False, True, 1, False),  # open, due in an hour
        ("6", "coordinate", False, False, 0, False),  # closed ones after, by due
        ("5", "lead", False, False, 0, False),
        ("4", "lead", False, False, 0, False),
    ]
