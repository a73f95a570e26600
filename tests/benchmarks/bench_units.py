"""What registering a unit costs as the organisation grows, against a raw INSERT, in one run.

    python tests/benchmarks/bench_units.py            # 10,000 units
    python tests/benchmarks/bench_units.py --smoke    # 300 units, for CI

Registers units through the command path (decide on fresh state, append, every inline read
model: the directory and its closure) into a tree shaped like the country's (34 provinces,
districts, communes, offices), eight callers at once (`--callers`). Prints the median and p99 of a
registration at the start, the middle and the end, what a raw single-row INSERT transaction
costs on the same database, a move of a province-sized subtree, the full recompute of the
closure (what every unit command did before migration 0014), and the closure's dead rows.
Asserts nothing about speed.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import statistics
import sys
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

import events.domain  # noqa: F401  - registers every domain event
from events.store import EventStore, create_pool
from services.domain.unit import MoveUnit, RegisterUnit
from services.handlers import units
from services.handlers.auth import OPERATOR
from services.handlers.command_path import CommandContext, execute
from services.ops.migrate import migrate_and_rebuild
from tests.benchmarks.scratch import scratch_database

WINDOW = 200


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


async def register_all(
    store: EventStore, total: int, callers: int
) -> tuple[list[float], list[uuid.UUID]]:
    """Milliseconds per registration, in the order they were registered."""
    rng = random.Random(34)
    registered: list[uuid.UUID] = []
    provinces: list[uuid.UUID] = []
    costs: list[float] = [0.0] * total
    lock = asyncio.Lock()
    next_number = 0

    async def caller(limit: int | None = None) -> None:
        nonlocal next_number
        while True:
            async with lock:
                number = next_number
                if number >= (limit or total):
                    return
                next_number += 1
                # A parent among units registered already: shallow first, as a tree grows.
                parent = None if number < 34 else rng.choice(registered[: max(34, number // 3)])
            unit_id = uuid.uuid4()
            kind = "office" if parent else "party_committee"
            command = RegisterUnit(unit_id, f"Đơn vị {number}", f"DV{number}", kind, parent)
            started = time.perf_counter()
            await execute(
                store,
                CommandContext(OPERATOR, datetime.now(UTC)),
                units.handler(command, OPERATOR, store.pool),
            )
            costs[number] = (time.perf_counter() - started) * 1000
            async with lock:
                registered.append(unit_id)
                if parent is None:
                    provinces.append(unit_id)

    # The provinces one by one, so that every other unit has a parent registered before it.
    await caller(limit=min(34, total))
    await asyncio.gather(*(caller() for _ in range(callers)))
    return costs, provinces


async def raw_inserts(pool: Any, count: int) -> list[float]:
    await pool.execute("CREATE TABLE raw_units (id uuid PRIMARY KEY, name text, parent uuid)")
    costs = []
    for number in range(count):
        started = time.perf_counter()
        async with pool.acquire() as connection, connection.transaction():
            await connection.execute(
                "INSERT INTO raw_units VALUES ($1, $2, NULL)", uuid.uuid4(), f"Đơn vị {number}"
            )
        costs.append((time.perf_counter() - started) * 1000)
    return costs


def line(label: str, costs: list[float]) -> str:
    return (
        f"  {label:<28} median {statistics.median(costs):6.2f} ms   "
        f"p99 {percentile(costs, 0.99):6.2f} ms"
    )


async def bench(dsn: str, total: int, callers: int) -> None:
    pool = await create_pool(dsn, min_size=callers, max_size=callers + 4)
    store = EventStore(pool)
    try:
        started = time.perf_counter()
        costs, provinces = await register_all(store, total, callers)
        seconds = time.perf_counter() - started
        print(f"registering {total:,} units, {callers} callers: {total / seconds:,.0f}/s")
        window = min(WINDOW, total // 3)
        first = costs[34 : 34 + window]
        middle = costs[total // 2 - window // 2 : total // 2 + window // 2]
        last = costs[-window:]
        print(line(f"units 35-{34 + window}", first))
        print(line(f"units around {total // 2:,}", middle))
        print(line(f"the last {window}", last))
        print(
            f"  last/first (median): {statistics.median(last) / statistics.median(first):.2f}"
            "   (goal: the 10,000th costs what the 10th did)"
        )
        raw = await raw_inserts(pool, window)
        print(line("raw INSERT transaction", raw))
        print(
            f"  registration/raw (median, last {window}): "
            f"{statistics.median(last) / statistics.median(raw):.1f}x"
        )
        sizes = await pool.fetch(
            "SELECT ancestor_id, count(*) AS below FROM unit_closure "
            "WHERE ancestor_id = ANY($1) GROUP BY ancestor_id ORDER BY below DESC",
            provinces,
        )
        subtree, below = sizes[0]["ancestor_id"], sizes[0]["below"]
        target = next(p for p in provinces if p != subtree)
        started = time.perf_counter()
        await execute(
            store,
            CommandContext(OPERATOR, datetime.now(UTC)),
            units.handler(MoveUnit(subtree, target, "sáp nhập tỉnh"), OPERATOR, pool),
        )
        print(
            f"  moving a province ({below:,} units below it): "
            f"{(time.perf_counter() - started) * 1000:.1f} ms"
        )
        dead = await pool.fetchval(
            "SELECT n_dead_tup FROM pg_stat_user_tables WHERE relname = 'unit_closure'"
        )
        async with pool.acquire() as connection, connection.transaction():
            started = time.perf_counter()
            await connection.execute("SELECT unit_closure_refresh()")
            refresh = (time.perf_counter() - started) * 1000
        rows = await pool.fetchval("SELECT count(*) FROM unit_closure")

        print(
            f"  full closure recompute ({rows:,} rows; what each unit command did before): "
            f"{refresh:.1f} ms"
        )
        print(f"  dead rows in unit_closure before it (statistics, may lag): {dead:,}")
    finally:
        await store.close()
        await pool.close()


async def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--smoke", action="store_true", help="300 units, for CI")
    parser.add_argument("--units", type=int, default=10_000)
    parser.add_argument(
        "--callers", type=int, default=8, help="registering at once (1: the cost of one alone)"
    )
    args = parser.parse_args()
    total = 300 if args.smoke else args.units
    async with scratch_database(migrate_and_rebuild) as (dsn, _):
        await bench(dsn, total, args.callers)


if __name__ == "__main__":
    os.environ.setdefault("LOG_FORMAT", "console")
    asyncio.run(main())
