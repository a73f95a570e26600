"""The deadline engine against real PostgreSQL and Redis: the demo's misses recorded once by
the reconciler, concurrent handlers of one step, a Redis flush, a rebuild that moves nothing."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import asyncpg

from events.store import EventStore
from projections.registry import rebuild_named
from services.domain.assignment import IssueAssignment
from services.handlers import assignments
from services.handlers.auth import OPERATOR
from services.handlers.command_path import CommandContext, execute
from services.handlers.deadlines import perform_step
from services.ops.demo import demo_id, load_demo
from workers import queue
from workers.deadlines import reconcile, schedule_due_steps

HANOI = timezone(timedelta(hours=7))


def context(store: EventStore, redis: Any = None, now: datetime | None = None) -> dict[str, Any]:
    moment = now or datetime.now(UTC)
    return {"pool": store.pool, "store": store, "redis": redis, "clock": lambda: moment}


async def recorded(pool: asyncpg.Pool[Any]) -> list[tuple[str, str, str, str | None]]:
    """(task ref, event type, effective time, to unit ref) of every deadline step recorded."""
    names = {
        **{demo_id(f"task:{ref}"): ref for ref in _TASKS},
        **{demo_id(f"unit:{ref}"): ref for ref in _UNITS},
    }
    rows = await pool.fetch(
        "SELECT type, data FROM events WHERE type IN "
        "('ReminderSent', 'DeadlineMissed', 'EscalationRaised') ORDER BY tx_id, position"
    )
    import json

    found = []
    for row in rows:
        data = json.loads(row["data"])
        to = data.get("to_unit_id")
        found.append(
            (
                names[uuid.UUID(data["assignment_id"])],
                row["type"],
                datetime.fromisoformat(data["effective_at"]).astimezone(HANOI).isoformat(),
                names.get(uuid.UUID(to), to) if to else None,
            )
        )
    return sorted(found)


_TASKS = ("1293-1", "1293-2a", "1293-2b", "1293-3", "227-1", "227-2", "227-3a", "227-3b", "227-4")
_UNITS = ("ct-tu", "ct-btv", "ct-btg", "ct-bdv", "ct-btgdv", "ct-skhdt")


async def test_the_reconciler_records_the_demos_misses_and_escalations_once(
    domain_store: EventStore, pool: asyncpg.Pool[Any]
) -> None:
    await load_demo(domain_store)
    steps = await pool.fetch("SELECT * FROM deadline_steps ORDER BY 1, 2, 3")
    # History entered later: no reminder is pending, every one was already past.
    assert not [r for r in steps if r["action"] == "remind" and r["status"] == "pending"]
    assert await reconcile(context(domain_store)) == 9
    # Written out from the seeds: 1293-CV/TU was due before 1/6/2019 (day 0 Friday 31/5); the
    # propaganda board reported late (19/06/2020) and the Department of Planning never; the
    # Mass Mobilisation board never reported on 227-KH/TU (due before 15/10/2020, day 0
    # Wednesday 14/10); its task went to the 2025 board with a new schedule. Escalations go to
    # the Standing Committee (report-to), then the City Party Committee above it.
    assert await recorded(pool) == sorted(
        [
            ("1293-1", "DeadlineMissed", "2019-06-01T00:00:00+07:00", None),
            ("1293-1", "EscalationRaised", "2019-06-03T08:00:00+07:00", "ct-btv"),
            ("1293-1", "EscalationRaised", "2019-06-05T08:00:00+07:00", "ct-tu"),
            ("1293-3", "DeadlineMissed", "2019-06-01T00:00:00+07:00", None),
            ("1293-3", "EscalationRaised", "2019-06-03T08:00:00+07:00", "ct-btv"),
            ("1293-3", "EscalationRaised", "2019-06-05T08:00:00+07:00", "ct-tu"),
            ("227-4", "DeadlineMissed", "2020-10-15T00:00:00+07:00", None),
            ("227-4", "EscalationRaised", "2020-10-15T08:00:00+07:00", "ct-btv"),
            ("227-4", "EscalationRaised", "2020-10-19T08:00:00+07:00", "ct-tu"),
        ]
    )
    assert await reconcile(context(domain_store)) == 0  # nothing twice
    assert await pool.fetchval("SELECT count(*) FROM deadline_steps WHERE status = 'pending'") == 0

    # A rebuild of the steps table changes no step.
    before = await pool.fetch("SELECT * FROM deadline_steps ORDER BY 1, 2, 3")
    await rebuild_named("deadline_steps", domain_store)
    assert await pool.fetch("SELECT * FROM deadline_steps ORDER BY 1, 2, 3") == before
    assert await reconcile(context(domain_store)) == 0


async def test_five_concurrent_handlers_of_one_step_record_it_once(
    domain_store: EventStore, pool: asyncpg.Pool[Any]
) -> None:
    await load_demo(domain_store)
    task = demo_id("task:1293-3")
    version = await pool.fetchval(
        "SELECT max(schedule_version) FROM deadline_steps WHERE assignment_id = $1", task
    )
    now = datetime.now(UTC)
    answers = await asyncio.gather(
        *(perform_step(domain_store, task, version, "0", now) for _ in range(5))
    )
    # Callers that raced the first are answered with its event; later ones find it recorded.
    assert len({a.events[0].event_id for a in answers if a.events}) == 1
    assert (
        await pool.fetchval(
            "SELECT count(*) FROM events WHERE type = 'DeadlineMissed' AND stream_id = $1",
            f"assignment-{task}",
        )
        == 1
    )


async def test_a_redis_flush_delays_a_thousand_steps_by_one_reconciler_period(
    domain_store: EventStore,
    pool: asyncpg.Pool[Any],
    redis_url: str,
    lose_redis: Callable[[], Awaitable[None]],
) -> None:
    await load_demo(domain_store)
    assert await reconcile(context(domain_store)) == 9  # the demo's history, out of the way
    plan, lead = demo_id("plan:334"), demo_id("unit:sl-t1")
    now = datetime.now(UTC)
    due = now + timedelta(seconds=30)
    commands = [
        IssueAssignment(uuid.uuid4(), plan, f"9.{n}", "Báo cáo nhanh", lead, due, now, now)
        for n in range(1000)
    ]
    await execute(
        domain_store,
        CommandContext(OPERATOR, now),
        assignments.issue_handler(commands, OPERATOR),
    )
    # Each new task's miss falls due in 30 s: 1,000 steps pending in the same minute.
    pending = await pool.fetchval(
        "SELECT count(*) FROM deadline_steps WHERE status = 'pending' AND at = $1", due
    )
    assert pending == 1000
    redis = await queue.connect(redis_url)
    try:
        assert await schedule_due_steps(context(domain_store, redis)) == 1000
        assert await schedule_due_steps(context(domain_store, redis)) == 0  # queued once
        await lose_redis()  # Redis lost every job
        later = due + timedelta(minutes=1)
        assert await reconcile(context(domain_store, redis, later)) == 1000
    finally:
        await redis.aclose()
    assert (
        await pool.fetchval(
            "SELECT count(*) FROM events WHERE type = 'DeadlineMissed' "
            "AND (data->>'effective_at')::timestamptz = $1",
            due,
        )
        == 1000
    )


async def test_tasks_issued_before_schedules_existed_get_one_from_the_backfill(
    domain_store: EventStore, pool: asyncpg.Pool[Any], dsn: str
) -> None:
    from events.assignments import AssignmentIssued, AssignmentWithdrawn
    from events.envelope import Metadata, NewEvent, StreamWrite
    from tests.cli import campaign

    await load_demo(domain_store)
    plan, lead, cell = demo_id("plan:334"), demo_id("unit:sl-t1"), demo_id("unit:sl-cb")
    old_open, old_closed = uuid.uuid4(), uuid.uuid4()
    due = datetime(2030, 1, 16, tzinfo=HANOI)
    for task in (old_open, old_closed):  # as the command path wrote them before issue 8
        issued = AssignmentIssued(
            assignment_id=task,
            plan_id=plan,
            item="5",
            text="Nhiệm vụ cũ",
            lead_unit_id=lead,
            due=due,
            report_to_unit_id=cell,
            issuer_unit_id=cell,
            effective_at=datetime(2029, 12, 1, tzinfo=HANOI),
        )
        events = [NewEvent(issued, plan_id=plan, units=(lead, cell))]
        if task == old_closed:
            withdrawn = AssignmentWithdrawn(
                assignment_id=task, reason="x", effective_at=datetime(2029, 12, 2, tzinfo=HANOI)
            )
            events.append(NewEvent(withdrawn, plan_id=plan, units=(lead, cell)))
        await domain_store.append([StreamWrite(f"assignment-{task}", 0, events)], Metadata())
    filled = campaign(dsn, "deadlines", "backfill")
    assert filled.returncode == 0, filled.stderr
    assert "scheduled the deadlines of 1 open task(s)" in filled.stdout
    steps = await pool.fetch(
        "SELECT step, status, at FROM deadline_steps WHERE assignment_id = $1 ORDER BY at",
        old_open,
    )
    assert [(r["step"], r["status"]) for r in steps] == [
        ("-3", "pending"),
        ("-1", "pending"),
        ("0", "pending"),
        ("+1", "pending"),
        ("+3", "pending"),
    ]
    # Due before Wednesday 16/1/2030: day 0 is Tuesday 15/1.
    assert steps[1]["at"] == datetime(2030, 1, 14, 8, tzinfo=HANOI)
    again = campaign(dsn, "deadlines", "backfill")
    assert "scheduled the deadlines of 0 open task(s)" in again.stdout


async def test_a_new_calendar_version_moves_no_recorded_step(
    domain_store: EventStore, pool: asyncpg.Pool[Any], monkeypatch: Any
) -> None:
    from projections import calendar_versions as tables
    from services.domain import calendar
    from services.handlers import deadlines as deadline_shell

    await load_demo(domain_store)
    before = await pool.fetch("SELECT * FROM deadline_steps ORDER BY 1, 2, 3")
    async with pool.acquire() as connection:
        assert await tables.store_current(connection) is None  # stored once
        first = await tables.load(connection)
    # Our overrides gain a day off (as a new package release or decree would bring one).
    extra = calendar.overrides()
    extra["version"] = 2
    extra["days_off"] = [*extra["days_off"], {"date": "2031-03-07", "reason": "thử nghiệm"}]
    monkeypatch.setattr(calendar, "overrides", lambda: extra)
    async with pool.acquire() as connection:
        assert await tables.store_current(connection) == "vn:0.109:2"
        assert await tables.load(connection, first.version) == first  # the old one unchanged
    assert await pool.fetch("SELECT * FROM deadline_steps ORDER BY 1, 2, 3") == before
    now = datetime.now(UTC)
    task = uuid.uuid4()
    due = datetime(2031, 3, 11, tzinfo=HANOI)  # before Tuesday 11/3/2031: day 0 Monday 10/3
    await execute(
        domain_store,
        CommandContext(OPERATOR, now),
        assignments.issue_handler(
            [
                IssueAssignment(
                    task, demo_id("plan:334"), "7", "x", demo_id("unit:sl-t1"), due, now, now
                )
            ],
            OPERATOR,
        ),
    )
    assert (await deadline_shell.current_calendar(pool)).version == "vn:0.109:2"
    steps = dict(
        await pool.fetch("SELECT step, at FROM deadline_steps WHERE assignment_id = $1", task)
    )
    # -1 skips Friday 7/3, now a day off in version 2: Thursday 6/3.
    assert steps["-1"] == datetime(2031, 3, 6, 8, tzinfo=HANOI)


async def test_a_plan_that_asks_for_the_day_off_shift_gives_it_to_its_tasks(
    domain_store: EventStore, pool: asyncpg.Pool[Any]
) -> None:
    from services.api.app import create_app
    from services.runtime.config import load_settings
    from tests.http import api_client
    from tests.org import bearer, make_user

    await load_demo(domain_store)
    _, token = await make_user(domain_store, "admin")
    admin = bearer(token)
    async with api_client(create_app(load_settings({}), pool=pool)) as client:
        drafted = await client.post(
            "/plans",
            headers=admin,
            json={
                "kind": "KH",
                "title": "Kế hoạch năm 2027",
                "issuer_unit_id": str(demo_id("unit:sl-cb")),
                "shift_day_off": True,
            },
        )
        assert drafted.status_code == 201, drafted.text
        plan = drafted.json()["id"]
        issued = await client.post(
            f"/plans/{plan}/issue",
            headers=admin,
            json={"number": "01-KH/CB", "place": "Sơn La", "signer": {"name": "A", "title": "B"}},
        )
        assert issued.status_code == 200, issued.text
        body = {
            "item": "1",
            "text": "Báo cáo",
            "lead_unit_ids": [str(demo_id("unit:sl-t1"))],
            "due": "2027-01-03T00:00:00+07:00",  # day 0 is Saturday 2/1/2027
        }
        shifted = await client.post(f"/plans/{plan}/assignments", headers=admin, json=body)
        kept = await client.post(
            f"/plans/{plan}/assignments", headers=admin, json={**body, "shift_day_off": False}
        )
        assert shifted.status_code == kept.status_code == 201, shifted.text
    dues = {
        row["assignment_id"]: row["at"]
        for row in await pool.fetch("SELECT assignment_id, at FROM deadline_steps WHERE step = '0'")
    }
    # The end of Monday 4/1/2027 for the plan's default; the due itself when the task says no.
    assert dues[uuid.UUID(shifted.json()["id"])] == datetime(2027, 1, 5, tzinfo=HANOI)
    assert dues[uuid.UUID(kept.json()["id"])] == datetime(2027, 1, 3, tzinfo=HANOI)
