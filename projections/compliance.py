"""Compliance, aggregated at query time from `task_facts` over the unit tree as it stands (the
`unit_closure` table): a unit's figures include its descendants and the units merged, split
or dissolved into them."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

import asyncpg

from events.store import DbConnection
from projections import task_facts
from projections.task_facts import TaskFact

CLOSED = ("completed_on_time", "completed_late", "withdrawn")
# Overdue: open and past the due in force, as the task itself says (`Assignment.overdue`): a
# report filed at the due is on time, so at the due a task is not overdue yet.

_FIGURES = """
SELECT count(*) AS assigned,
       count(*) FILTER (WHERE status = 'completed_on_time' AND due IS NOT NULL)
           AS completed_on_time,
       count(*) FILTER (WHERE status = 'completed_late') AS completed_late,
       count(*) FILTER (WHERE status <> ALL($2::text[]) AND due >= $1) AS open_within_deadline,
       count(*) FILTER (WHERE status <> ALL($2::text[]) AND due < $1) AS open_overdue,
       count(*) FILTER (WHERE status = 'withdrawn') AS withdrawn,
       count(*) FILTER (WHERE status <> 'withdrawn' AND due <= $1) AS due_so_far,
       count(*) FILTER (WHERE status = 'completed_on_time' AND due <= $1) AS on_time_due,
       count(*) FILTER (WHERE status LIKE 'completed%' AND due <= $1) AS completed_due,
       coalesce(sum(ceil(extract(epoch FROM $1 - due) / 86400))
                FILTER (WHERE status <> ALL($2::text[]) AND due < $1), 0)::bigint
           AS days_overdue,
       count(*) FILTER (WHERE due IS NULL AND status <> ALL($2::text[])) AS open_without_deadline,
       count(*) FILTER (WHERE due IS NULL AND status LIKE 'completed%')
           AS completed_without_deadline
FROM scope
"""
# A consolidated report's total already holds its sources' totals: each completed task adds
# its total and takes away the totals of the tasks it consolidates, so every figure counts once.
_METRICS = """
SELECT key, sum(value)::bigint AS total FROM (
    SELECT m.key, m.value::numeric AS value
    FROM scope, jsonb_each_text(scope.metrics) AS m(key, value)
    WHERE scope.status LIKE 'completed%'
    UNION ALL
    SELECT m.key, -(m.value::numeric)
    FROM scope JOIN {facts} source ON source.assignment_id = ANY(scope.sources),
         jsonb_each_text(source.metrics) AS m(key, value)
    WHERE scope.status LIKE 'completed%' AND source.status LIKE 'completed%'
) AS figures
WHERE $1::timestamptz IS NOT NULL AND $2::text[] IS NOT NULL
GROUP BY key ORDER BY key
"""


@dataclass(frozen=True)
class Compliance:
    assigned: int
    completed_on_time: int
    completed_late: int
    open_within_deadline: int
    open_overdue: int
    withdrawn: int
    due_so_far: int
    on_time_due: int
    completed_due: int
    days_overdue: int
    metrics: dict[str, int]
    open_without_deadline: int = 0
    """Tasks the document set no deadline for ("không có thời hạn"), counted apart: never
    overdue, never in the rates."""
    completed_without_deadline: int = 0

    @property
    def completion_rate(self) -> str:
        """Completed over tasks already due, withdrawn ones excluded: "60/85"."""
        return f"{self.completed_due}/{self.due_so_far}"

    @property
    def on_time_rate(self) -> str:
        return f"{self.on_time_due}/{self.due_so_far}"

    def body(self) -> dict[str, Any]:
        return {
            **self.__dict__,
            "completion_rate": self.completion_rate,
            "on_time_rate": self.on_time_rate,
        }


async def _figures(
    connection: DbConnection, scope: str, now: datetime, *args: Any, facts: str = "task_facts"
) -> Compliance:
    scope = scope.format(facts=facts)
    row = await connection.fetchrow(f"{scope} {_FIGURES}", now, list(CLOSED), *args)
    metrics = await connection.fetch(
        f"{scope} {_METRICS.format(facts=facts)}", now, list(CLOSED), *args
    )
    assert row is not None
    return Compliance(**dict(row), metrics={m["key"]: m["total"] for m in metrics})


_PLAN_SCOPE = (
    "WITH scope AS (SELECT * FROM {facts} WHERE plan_id = $3 "
    "AND $1::timestamptz IS NOT NULL AND $2::text[] IS NOT NULL)"
)


async def for_plan(pool: asyncpg.Pool[Any], plan_id: UUID, now: datetime) -> Compliance:
    async with pool.acquire() as connection:
        return await _figures(connection, _PLAN_SCOPE, now, plan_id)


async def for_plan_facts(
    pool: asyncpg.Pool[Any], plan_id: UUID, facts: Iterable[TaskFact], now: datetime
) -> Compliance:
    """The plan's compliance over facts folded elsewhere (as of an instant), with the same
    aggregation: they are loaded into a temporary table that lives for one transaction."""
    async with pool.acquire() as connection, connection.transaction():
        await connection.execute(
            "CREATE TEMPORARY TABLE as_of_facts (LIKE task_facts INCLUDING DEFAULTS) ON COMMIT DROP"
        )
        await connection.copy_records_to_table(
            "as_of_facts",
            records=[task_facts.values(fact) for fact in facts],
            columns=task_facts.COLUMNS,
        )
        return await _figures(connection, _PLAN_SCOPE, now, plan_id, facts="as_of_facts")


async def for_unit(
    pool: asyncpg.Pool[Any],
    unit_id: UUID,
    now: datetime,
    starts: datetime | None = None,
    ends: datetime | None = None,
    *,
    by_day: bool = False,
) -> Compliance:
    """Tasks led by the unit's subtree today whose due in force falls in [starts, ends); with
    `by_day` (a period of whole days), in (starts, ends]: a due at midnight ends the day before,
    so "trong tháng 1/2021" (due 01/02/2021 00:00) is January's."""
    low, high = (">", "<=") if by_day else (">=", "<")
    scope = (
        "WITH scope AS (SELECT f.* FROM {facts} f JOIN unit_closure tree "
        "ON tree.descendant_id = f.lead_unit_id WHERE tree.ancestor_id = $3 "
        f"AND ($4::timestamptz IS NULL OR f.due {low} $4) "
        f"AND ($5::timestamptz IS NULL OR f.due {high} $5))"
    )
    async with pool.acquire() as connection:
        return await _figures(connection, scope, now, unit_id, starts, ends)


async def board(pool: asyncpg.Pool[Any], unit_id: UUID, now: datetime) -> list[dict[str, Any]]:
    """The unit's task board: the tasks it leads or coordinates, open ones first, by due."""
    rows = await pool.fetch(
        "SELECT assignment_id, plan_id, item, status, original_due, due, due_text, completed_at, "
        "on_time, extension_pending, obstacles_open, lead_unit_id, "
        "CASE WHEN lead_unit_id = $1 THEN 'lead' ELSE 'coordinate' END AS role "
        "FROM task_facts WHERE lead_unit_id = $1 OR coordinating_unit_ids @> ARRAY[$1::uuid] "
        "ORDER BY (status = ANY($2::text[])), due, assignment_id",
        unit_id,
        list(CLOSED),
    )
    return [
        {
            **dict(r),
            "overdue": r["status"] not in CLOSED and r["due"] is not None and r["due"] < now,
            "obstacle_open": r["obstacles_open"] > 0,
        }
        for r in rows
    ]
