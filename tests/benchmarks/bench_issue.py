"""Issuing one item to many leads as the store grows, beside a raw batch INSERT, in one run.

    python tests/benchmarks/bench_issue.py            # 200 items of 500 leads: 100,000 tasks
    python tests/benchmarks/bench_issue.py --smoke    # seconds, for CI

Through the command path (the same handler `POST /plans/{id}/assignments` runs): each task
issued with its deadline schedule, the deadline steps written inline, all in one append. Prints
the cost of an item at the start, the middle and the end of the run (the store grows by
`--leads` tasks and about twice as many events an item), and a raw INSERT of the same number of
rows into a copy of the events table, so that what growth costs shows as a ratio. Asserts
nothing.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

import events.domain  # noqa: F401 - registers every domain event
from events.plans import Signer
from events.store import EventStore, create_pool
from services.domain.assignment import IssueAssignment
from services.domain.plan import DraftPlan
from services.domain.unit import ImportedUnit, RegisterUnit
from services.handlers import assignments, plans, units
from services.handlers.auth import OPERATOR
from services.handlers.command_path import CommandContext, execute
from services.ops.migrate import migrate_and_rebuild
from tests.benchmarks.scratch import scratch_database

RAW_BATCH = """
INSERT INTO raw_events (tx_id, event_id, stream_id, version, type, schema_version, data,
                        metadata, category, plan_id, units, recorded_at, prev_hash, hash)
SELECT pg_current_xact_id()::text::bigint, e.id, e.stream, 1, 'AssignmentIssued', 1, $1,
       '{}'::jsonb, 'assignment', $2, ARRAY[e.unit], now(), NULL, $3
FROM unnest($4::uuid[], $5::text[], $6::uuid[]) AS e(id, stream, unit)
"""


async def command(store: EventStore, handler: Any) -> None:
    await execute(store, CommandContext(OPERATOR, datetime.now(UTC)), handler)


async def setup(store: EventStore, leads: int) -> tuple[uuid.UUID, list[uuid.UUID]]:
    province = uuid.uuid4()
    await command(
        store,
        units.handler(
            RegisterUnit(province, "Tỉnh ủy", "TU", "party_committee", None), OPERATOR, store.pool
        ),
    )
    rows = [
        ImportedUnit(f"x{n}", uuid.uuid4(), f"Xã {n}", f"X{n}", "commune", None, province)
        for n in range(leads)
    ]
    await command(store, units.import_handler(rows, OPERATOR))
    plan = uuid.uuid4()
    now = datetime.now(UTC)
    draft = DraftPlan(plan, "KH", "Kế hoạch", province)
    await command(store, plans.handler(draft, OPERATOR, store.pool))
    signer = Signer(name="Nguyễn Văn A", title="Bí thư")
    issue = plans.Issue(plan, "1/KH-TU", "Hà Nội", signer, now)
    await command(store, plans.handler(issue, OPERATOR, store.pool))
    return plan, [row.unit_id for row in rows]


async def bench(dsn: str, items: int, leads: int) -> None:
    pool = await create_pool(dsn, min_size=2, max_size=6)
    store = EventStore(pool)
    await pool.execute("CREATE TABLE raw_events (LIKE events INCLUDING ALL)")
    plan, lead_ids = await setup(store, leads)
    due = datetime.now(UTC) + timedelta(days=60)
    costs: list[float] = []
    raw: list[float] = []
    try:
        for item in range(items):
            now = datetime.now(UTC)
            issued = [
                IssueAssignment(
                    assignment_id=uuid.uuid4(),
                    plan_id=plan,
                    item=str(item + 1),
                    text="Báo cáo kết quả thực hiện",
                    lead_unit_id=lead,
                    due=due,
                    now=now,
                    effective_at=now,
                )
                for lead in lead_ids
            ]
            started = time.perf_counter()
            await command(store, assignments.issue_handler(issued, OPERATOR))
            costs.append((time.perf_counter() - started) * 1000)
            started = time.perf_counter()
            await pool.execute(
                RAW_BATCH,
                b'{"text": "B\\u00e1o c\\u00e1o"}',
                plan,
                b"\x00" * 32,
                [uuid.uuid4() for _ in lead_ids],
                [f"assignment-{uuid.uuid4()}" for _ in lead_ids],
                lead_ids,
            )
            raw.append((time.perf_counter() - started) * 1000)
        window = max(1, min(10, items // 3))
        events = await pool.fetchval("SELECT count(*) FROM events")
        print(f"issuing {items} items of {leads} leads: {items * leads:,} tasks, {events:,} events")
        for label, part in (
            (f"items 1-{window}", slice(0, window)),
            (f"items around {items // 2}", slice(items // 2 - window // 2, items // 2 + window)),
            (f"the last {window}", slice(items - window, items)),
        ):
            ours, theirs = statistics.median(costs[part]), statistics.median(raw[part])
            print(
                f"  {label:<22} {ours:8.1f} ms an item ({leads / ours * 1000:8,.0f} tasks/s)"
                f"   raw INSERT of {leads} rows {theirs:6.1f} ms   ratio {theirs / ours:.2f}"
            )
        first, last = statistics.median(costs[:window]), statistics.median(costs[-window:])
        print(f"  last/first (median): {last / first:.2f}   (goal: issuing does not slow down)")
    finally:
        await store.close()
        await pool.close()


async def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--smoke", action="store_true", help="seconds, for CI")
    parser.add_argument("--items", type=int, default=200)
    parser.add_argument("--leads", type=int, default=500)
    args = parser.parse_args()
    if args.smoke:
        args.items, args.leads = 6, 50
    async with scratch_database(migrate_and_rebuild) as (dsn, _):
        await bench(dsn, args.items, args.leads)


if __name__ == "__main__":
    os.environ.setdefault("LOG_FORMAT", "console")
    asyncio.run(main())
