"""The unit closure the compliance roll-up joins on, kept step by step: whatever the history of
registrations, moves, merges, splits and dissolutions, and however it is cut into commands, it
holds what a full recompute would; a registration touches no other unit's rows; commands racing
on the tree leave it right."""

from __future__ import annotations

import asyncio
import random
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import asyncpg
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from events.catalog import Event
from events.organisation import (
    UnitDissolved,
    UnitMerged,
    UnitMoved,
    UnitRegistered,
    UnitRenamed,
    UnitSplit,
)
from events.store import create_pool
from projections import unit_directory
from projections.change import Change

AT = datetime(2026, 1, 5, 8, 0, tzinfo=UTC)
Pairs = set[tuple[uuid.UUID, uuid.UUID]]


class Tree:
    """A made-up organisation's history: each step an event a unit command could record."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.parent: dict[uuid.UUID, uuid.UUID | None] = {}
        self.active: list[uuid.UUID] = []
        self.versions: dict[uuid.UUID, int] = {}
        self.committed: set[uuid.UUID] = set()
        """Units whose registration has committed: only those may be named by a command."""

    def below(self, unit: uuid.UUID) -> set[uuid.UUID]:
        found = {unit}
        grew = True
        while grew:
            more = {u for u, p in self.parent.items() if p in found} - found
            grew = bool(more)
            found |= more
        return found

    def change(self, event: Any) -> Change:
        self.versions[event.unit_id] = self.versions.get(event.unit_id, 0) + 1
        return Change(event, f"unit-{event.unit_id}", self.versions[event.unit_id], AT)

    def register(self, under: Sequence[uuid.UUID] | None = None) -> Change:
        unit = uuid.uuid4()
        parents = self.active if under is None else under
        parent = self.rng.choice(parents) if parents and self.rng.random() < 0.9 else None
        self.parent[unit] = parent
        self.active.append(unit)
        code = unit.hex[:6]
        return self.change(
            UnitRegistered(
                unit_id=unit, name=code, short_code=code, kind="office", parent_id=parent
            )
        )

    def others(self, unit: uuid.UUID) -> list[uuid.UUID]:
        return [u for u in self.active if u not in self.below(unit)]

    def step(self) -> Change:
        choice = self.rng.random()
        if len(self.active) < 3 or choice < 0.45:
            return self.register()
        unit = self.rng.choice(self.active)
        elsewhere = self.others(unit)
        if choice < 0.55:
            return self.change(
                UnitRenamed(
                    unit_id=unit, name="n", short_code="n", previous_name="", previous_short_code=""
                )
            )
        if not elsewhere:
            return self.register()
        if choice < 0.75:
            to = self.rng.choice(elsewhere)
            moved = UnitMoved(unit_id=unit, from_parent_id=self.parent[unit], to_parent_id=to)
            self.parent[unit] = to
            return self.change(moved)
        self.active.remove(unit)
        if choice < 0.85:
            return self.change(UnitMerged(unit_id=unit, successor_id=self.rng.choice(elsewhere)))
        if choice < 0.93:
            successors = tuple(self.rng.sample(elsewhere, min(2, len(elsewhere))))
            return self.change(
                UnitSplit(
                    unit_id=unit, successor_ids=successors, default_successor_id=successors[0]
                )
            )
        successor = self.rng.choice([*elsewhere, None])
        return self.change(UnitDissolved(unit_id=unit, successor_id=successor))


def cut(changes: Sequence[Change], rng: random.Random) -> list[list[Change]]:
    """The history as a run of commands of one to four events each."""
    commands, start = [], 0
    while start < len(changes):
        size = rng.randint(1, 4)
        commands.append(list(changes[start : start + size]))
        start += size
    return commands


async def closure(connection: Any) -> Pairs:
    rows = await connection.fetch("SELECT ancestor_id, descendant_id FROM unit_closure")
    return {(r["ancestor_id"], r["descendant_id"]) for r in rows}


class _RollBack(Exception):
    pass


async def full_closure(connection: Any) -> Pairs:
    found: Pairs = set()
    try:
        async with connection.transaction():
            await connection.execute("SELECT unit_closure_refresh()")
            found = await closure(connection)
            raise _RollBack
    except _RollBack:
        return found


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(steps=st.integers(min_value=1, max_value=60), seed=st.integers(0, 2**32))
def test_the_closure_kept_step_by_step_is_the_full_recompute(
    dsn: str, steps: int, seed: int
) -> None:
    asyncio.run(_history_matches_recompute(dsn, steps, seed))


async def _history_matches_recompute(dsn: str, steps: int, seed: int) -> None:
    rng = random.Random(seed)
    tree = Tree(rng)
    history = [tree.step() for _ in range(steps)]
    connection = await asyncpg.connect(dsn)
    try:
        await connection.execute("TRUNCATE unit_directory, unit_closure")
        for command in cut(history, rng):
            async with connection.transaction():
                await unit_directory.write(connection, command)
        assert await closure(connection) == await full_closure(connection)
    finally:
        await connection.close()


async def _commit(pool: asyncpg.Pool[Any], *events: Event, tree: Tree) -> None:
    async with pool.acquire() as connection, connection.transaction():
        await unit_directory.write(connection, [tree.change(e) for e in events])
    tree.committed.update(e.unit_id for e in events if isinstance(e, UnitRegistered))


async def test_a_registration_adds_its_rows_and_rewrites_no_other(
    pool: asyncpg.Pool[Any],
) -> None:
    tree = Tree(random.Random(7))
    for _ in range(30):
        await _commit(pool, tree.register().event, tree=tree)
    before = {
        (r["ancestor_id"], r["descendant_id"]): r["xmin"]
        for r in await pool.fetch("SELECT ancestor_id, descendant_id, xmin::text FROM unit_closure")
    }
    leaf = tree.register()
    await _commit(pool, leaf.event, tree=tree)
    after = {
        (r["ancestor_id"], r["descendant_id"]): r["xmin"]
        for r in await pool.fetch("SELECT ancestor_id, descendant_id, xmin::text FROM unit_closure")
    }
    new = set(after) - set(before)
    unit = leaf.event.unit_id  # type: ignore[attr-defined]
    assert {descendant for _, descendant in new} == {unit}
    assert {(a, d): after[(a, d)] for a, d in before} == before  # not one row rewritten
    async with pool.acquire() as connection:
        assert await closure(connection) == await full_closure(connection)


async def test_commands_racing_on_the_tree_leave_the_closure_right(dsn: str) -> None:
    pool = await create_pool(dsn, min_size=1, max_size=12)
    try:
        tree = Tree(random.Random(11))
        for _ in range(20):
            await _commit(pool, tree.register().event, tree=tree)
        rng = random.Random(3)

        async def registrations() -> None:
            for _ in range(15):
                known = [u for u in tree.active if u in tree.committed]
                await _commit(pool, tree.register(under=known).event, tree=tree)

        async def moves() -> None:
            for _ in range(10):
                known = [u for u in tree.active if u in tree.committed]
                unit = rng.choice(known)
                elsewhere = [u for u in tree.others(unit) if u in tree.committed]
                if elsewhere:
                    to = rng.choice(elsewhere)
                    moved = UnitMoved(
                        unit_id=unit, from_parent_id=tree.parent[unit], to_parent_id=to
                    )
                    tree.parent[unit] = to
                    await _commit(pool, moved, tree=tree)

        await asyncio.gather(*(registrations() for _ in range(6)), moves())
        async with pool.acquire() as connection:
            assert await closure(connection) == await full_closure(connection)
            assert await connection.fetchval("SELECT count(*) FROM unit_directory") == 110
    finally:
        await pool.close()
