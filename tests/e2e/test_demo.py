"""`campaign demo`: the five seed campaigns through the commands, twice; and every fact of the
demo data checked against the seed it comes from."""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import pytest

from events.store import EventStore
from events.verify import verify
from services.ops.demo import load_demo
from services.ops.demo_data import NOT_IN_SEEDS, PLANS, UNITS, all_facts

SEEDS = Path(__file__).resolve().parents[3] / "shared" / "seeds"


async def counts_per_plan(pool: asyncpg.Pool[Any]) -> dict[str, tuple[int, int, int, int]]:
    rows = await pool.fetch("""
        SELECT i.data->>'number' AS number,
               count(a.*) AS tasks,
               count(c.*) FILTER (WHERE (c.data->>'on_time')::bool) AS on_time,
               count(c.*) FILTER (WHERE NOT (c.data->>'on_time')::bool) AS late
        FROM events i
        LEFT JOIN events a ON a.type = 'AssignmentIssued' AND a.plan_id = i.plan_id
        LEFT JOIN events c ON c.type = 'AssignmentCompleted' AND c.stream_id = a.stream_id
        WHERE i.type = 'PlanIssued'
        GROUP BY 1""")
    return {
        r["number"]: (r["tasks"], r["on_time"], r["late"], r["tasks"] - r["on_time"] - r["late"])
        for r in rows
    }


async def test_the_demo_loads_the_seed_campaigns_once(
    domain_store: EventStore, pool: asyncpg.Pool[Any]
) -> None:
    appended = await load_demo(domain_store)
    assert appended == 89  # 76 facts of the seeds and 13 deadline schedules recorded with them
    # plan: tasks, reports on time, late, never
    assert await counts_per_plan(pool) == {
        "1293-CV/TU": (4, 2, 1, 1),
        "227-KH/TU": (4, 3, 0, 1),
        "334-KH/CB": (3, 3, 0, 0),
        "107/KH-SNV": (0, 0, 0, 0),
    }
    types = dict(await pool.fetch("SELECT type, count(*) FROM events GROUP BY type"))
    assert types["SubmissionReviewed"] == 11 and types["ExtensionGranted"] == 1
    assert (types["ObstacleRaised"], types["ObstacleResolved"]) == (1, 1)
    assert (types["ModelRegistered"], types["ModelCommended"]) == (1, 1)
    assert (types["UnitMerged"], types["UnitMoved"], types["AssignmentReassigned"]) == (2, 1, 1)
    # a schedule with each task issued (11), with the extension granted and the reassignment
    assert types["DeadlineScheduled"] == 13
    changes = await pool.fetchval(
        "SELECT count(*) FROM events WHERE type = 'SubmissionReviewed' "
        "AND data->>'outcome' = 'changes_requested'"
    )
    consolidated = await pool.fetchval(
        "SELECT count(*) FROM events WHERE type = 'SubmissionFiled' "
        "AND jsonb_array_length(data->'sources') = 2"
    )
    assert (changes, consolidated) == (1, 1)
    assert (
        await pool.fetchval("SELECT bool_and((metadata->>'backdated')::bool) FROM events") is True
    )
    assert (await verify(pool)).ok

    assert await load_demo(domain_store) == 0  # a second run appends nothing
    assert await pool.fetchval("SELECT count(*) FROM events") == 89


def seed_text(number: str) -> str:
    [path] = SEEDS.glob(f"{number}_*.txt")
    return path.read_text(encoding="utf-8")


_DMY = re.compile(r"(\d{1,2})[/-](\d{1,2})[/-](\d{4})")
_WORDS = re.compile(r"ngày (\d{1,2}) tháng (\d{1,2}) năm (\d{4})")


def written_date(evidence: str) -> date | None:
    match = _DMY.search(evidence) or _WORDS.search(evidence)
    return date(int(match[3]), int(match[2]), int(match[1])) if match else None


@pytest.mark.skipif(not SEEDS.is_dir(), reason="../shared/seeds is not beside this checkout")
def test_every_fact_of_the_demo_appears_in_its_seed() -> None:
    missing = [
        f"{fact.seed}: {fact.evidence!r}"
        for fact in all_facts()
        if fact.evidence not in seed_text(fact.seed)
    ]
    assert missing == []
    for unit in UNITS:
        assert unit.name in seed_text(unit.fact.seed), unit.name
    for plan in PLANS:
        text = seed_text(plan.number_fact.seed)
        digits = plan.number.split("-")[0].split("/")[0]
        assert plan.number in text or digits in plan.number_fact.evidence, plan.number
        assert written_date(plan.date_fact.evidence) == date.fromisoformat(plan.issued_on)
        for number, day, fact in plan.implements:
            assert number in fact.evidence and fact.evidence in seed_text(fact.seed)
            assert day is None or written_date(fact.evidence) == date.fromisoformat(day)
        for task in plan.tasks:
            due = datetime.fromisoformat(task.due).date()
            written = written_date(task.due_fact.evidence)
            if written is None:  # "cuối tháng 5/2019": by the end of May, due at 1 June 00:00
                month, year = re.search(r"tháng (\d+)/(\d{4})", task.due_fact.evidence).groups()  # type: ignore[union-attr]
                assert due - timedelta(days=1) == date(int(year), int(month) + 1, 1) - timedelta(
                    days=1
                ), task.ref
            else:
                assert written == due, task.ref
    assert sum(plan.place == NOT_IN_SEEDS for plan in PLANS) == 1  # 107/KH-SNV names none


async def test_the_read_models_rebuilt_after_the_demo_come_out_identical(
    domain_store: EventStore, pool: asyncpg.Pool[Any]
) -> None:
    from projections.registry import rebuild_named

    await load_demo(domain_store)

    async def snapshot() -> list[list[dict[str, Any]]]:
        return [
            [dict(r) for r in await pool.fetch(f"SELECT * FROM {table} ORDER BY 1")]
            for table in ("unit_directory", "user_roles", "exemplary_models")
        ]

    before = await snapshot()
    assert len(before[2]) == 1 and before[2][0]["commendations"] == ["grassroots"]
    await rebuild_named("directory", domain_store)
    assert await snapshot() == before
