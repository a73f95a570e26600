"""The read models as one list: every one rebuilt from the events comes out as the commands
left it, and `campaign rebuild --list` shows each with its mode, rows and lag."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from uuid import UUID

import asyncpg

from events.catalog import catalog
from events.store import EventStore
from projections import registry
from projections.projector import Projector
from services.handlers import users
from services.handlers.auth import OPERATOR
from services.handlers.command_path import CommandContext, execute
from services.ops.demo import demo_id, load_demo
from tests.cli import campaign
from tests.org import make_user


async def snapshot(pool: asyncpg.Pool[Any], table: str) -> list[tuple[Any, ...]]:
    rows = await pool.fetch(f"SELECT * FROM {table}")
    return sorted((tuple(r.values()) for r in rows), key=repr)


async def load_demo_with_roles(store: EventStore) -> None:
    """The demo, and users holding roles (one granted and revoked), which the demo has none of."""
    await load_demo(store)
    unit = demo_id("unit:sl-t1")
    await make_user(store, "chief", unit)
    user_id, _ = await make_user(store, "officer", unit)
    role_id = (await users.get(store.pool, user_id)).roles[0]["role_id"]  # type: ignore[union-attr]
    await execute(
        store,
        CommandContext(OPERATOR, datetime.now(UTC)),
        users.revoke_handler(user_id, UUID(role_id), OPERATOR, "moved"),
    )


async def test_every_inline_read_model_rebuilt_from_the_events_is_what_the_commands_wrote(
    domain_store: EventStore, pool: asyncpg.Pool[Any]
) -> None:
    await load_demo_with_roles(domain_store)
    for model in registry.INLINE:
        before = {table: await snapshot(pool, table) for table in model.tables}
        assert any(before.values()), f"the demo leaves {model.name} empty: nothing is compared"
        await pool.execute(f"TRUNCATE {', '.join(model.tables)}")
        applied = await registry.rebuild(model, domain_store)
        assert applied > 0
        assert {table: await snapshot(pool, table) for table in model.tables} == before, model.name


async def test_the_projected_read_model_rebuilt_is_what_the_projector_wrote(
    domain_store: EventStore, pool: asyncpg.Pool[Any]
) -> None:
    await load_demo(domain_store)
    for model in registry.PROJECTED:
        projector = Projector(domain_store, model, owner="test")
        assert await projector.claim()
        await projector.catch_up_to_the_end()
        await projector.release()
        before = await snapshot(pool, model.table)
        await pool.execute(f"TRUNCATE {model.table}")
        await registry.rebuild(model, domain_store)
        assert await snapshot(pool, model.table) == before


async def test_each_read_model_replays_the_categories_of_the_events_it_handles(
    domain_store: EventStore, pool: asyncpg.Pool[Any]
) -> None:
    await load_demo_with_roles(domain_store)
    handled = {t.__name__ for model in registry.READ_MODELS for t in model.handles}
    assert handled <= catalog.type_names()
    seen = set()
    async with pool.acquire() as connection, connection.transaction():
        categories = ["unit", "user", "plan", "assignment", "model", "subscription"]
        async for event in domain_store.replay(connection, categories=categories):
            for model in registry.READ_MODELS:
                if isinstance(event.data, model.handles):
                    category = event.stream_id.split("-", 1)[0]
                    assert category in model.categories, (model.name, event.type)
                    seen.add(model.name)
    assert seen == {model.name for model in registry.READ_MODELS}


async def test_campaign_rebuild_lists_every_read_model_with_its_mode_rows_and_lag(
    domain_store: EventStore, dsn: str
) -> None:
    await load_demo(domain_store)
    listed = campaign(dsn, "rebuild", "--list")
    assert listed.returncode == 0, listed.stderr
    lines = [line.split() for line in listed.stdout.splitlines()]
    assert lines[0][:4] == ["read", "model", "mode", "rows"]
    rows = {cells[0]: cells[1:4] for cells in lines[1:]}
    assert list(rows) == [m.name for m in registry.READ_MODELS]
    assert rows["task_facts"] == ["projector", "0", "60"]  # not projected yet: 60 task events
    assert rows["plan_list"] == ["inline", "4", "0"]
    assert rows["unit_directory"] == ["inline", "15", "0"]

    rebuilt = campaign(dsn, "rebuild", "task_facts")
    assert rebuilt.returncode == 0, rebuilt.stderr
    listed = campaign(dsn, "rebuild", "--list")
    rows = {line.split()[0]: line.split()[1:4] for line in listed.stdout.splitlines()[1:]}
    assert rows["task_facts"] == ["projector", "11", "0"]


def test_an_unknown_read_model_is_refused_with_the_known_ones(dsn: str) -> None:
    answer = campaign(dsn, "rebuild", "task_fact")
    assert answer.returncode == 2
    assert "no read model is called 'task_fact'" in answer.stderr
    assert "task_facts" in answer.stderr and "directory" in answer.stderr
