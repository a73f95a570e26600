"""The deadline steps table as the command path writes it: a task's new schedule supersedes
its pending steps, whether it comes in its own append or beside other tasks' first schedules."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg

from events.deadlines import DeadlineScheduled, ScheduledStep
from projections import deadline_steps
from projections.change import Change

NOW = datetime(2030, 3, 4, 1, 0, tzinfo=UTC)


def scheduled(task: uuid.UUID, version: int, days: int) -> Change:
    due = NOW + timedelta(days=days)
    steps = tuple(
        ScheduledStep(step=step, offset=offset, action=action, target="lead", unit_id=None, at=at)
        for step, offset, action, at in (
            ("-3", -3, "remind", due - timedelta(days=3)),
            ("0", 0, "miss", due),
        )
    )
    event = DeadlineScheduled(
        assignment_id=task,
        schedule_version=version,
        due=due,
        calendar_version="vn:test",
        steps=steps,
        scheduled_at=NOW,
        cause="issued" if version == 1 else "extended",
    )
    return Change(event, f"assignment-{task}", version, NOW)


async def rows(pool: asyncpg.Pool[Any], task: uuid.UUID) -> list[tuple[int, str, str]]:
    found = await pool.fetch(
        "SELECT schedule_version, step, status FROM deadline_steps WHERE assignment_id = $1 "
        "ORDER BY schedule_version, step",
        task,
    )
    return [tuple(r) for r in found]  # type: ignore[misc]


async def test_a_new_schedule_supersedes_the_pending_steps_in_any_batch(
    pool: asyncpg.Pool[Any],
) -> None:
    extended, other, again = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    async with pool.acquire() as connection:
        await deadline_steps.write(connection, [scheduled(extended, 1, 10)])
        # An extension beside two first schedules, one of them rescheduled in the same batch.
        await deadline_steps.write(
            connection,
            [
                scheduled(other, 1, 5),
                scheduled(extended, 2, 20),
                scheduled(again, 1, 5),
                scheduled(again, 2, 7),
            ],
        )
    assert await rows(pool, extended) == [
        (1, "-3", "superseded"),
        (1, "0", "superseded"),
        (2, "-3", "pending"),
        (2, "0", "pending"),
    ]
    assert await rows(pool, other) == [(1, "-3", "pending"), (1, "0", "pending")]
    assert await rows(pool, again) == [
        (1, "-3", "superseded"),
        (1, "0", "superseded"),
        (2, "-3", "pending"),
        (2, "0", "pending"),
    ]
