"""Every read model of the ledger, in one list.

A read model declares its name, the events it handles, its tables, and how it is written:
`inline`, in the transaction of the command that appended the events (so a command's answer is
readable at once), or by the `projector`, which follows the feed. The command path, `campaign
migrate` (a migration's `-- rebuild: NAME` line) and `campaign rebuild` go through this list.

Rebuilding: an inline model empties its tables and folds every event of its categories again
in one transaction (commands write its tables in theirs: once TRUNCATE holds the lock, every
event that matters has committed and is read, or waits for the rebuild); a projected model is
folded beside the live table and swapped in (`projections/rebuild.py`).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from events.catalog import Event
from events.store import DbConnection, EventStore
from projections import (
    deadline_steps,
    exemplary_models,
    plan_list,
    task_facts,
    unit_directory,
    user_roles,
)
from projections.change import Change
from projections.projected import ProjectedModel
from projections.rebuild import Progress, rebuild_beside

Writer = Callable[[DbConnection, Sequence[Change]], Awaitable[None]]


@dataclass(frozen=True)
class InlineModel:
    name: str
    summary: str
    handles: tuple[type[Event], ...]
    categories: tuple[str, ...]
    tables: tuple[str, ...]
    fold: Callable[..., Any]
    """The pure fold of one event (`apply`: a row and an event to the new row, or an event to
    the change it makes); `write` carries it out in the command's transaction."""
    write: Writer
    mode: Literal["inline"] = "inline"


ReadModel = InlineModel | ProjectedModel

READ_MODELS: tuple[ReadModel, ...] = (
    InlineModel(
        "unit_directory",
        "units as they stand, and the tree's closure",
        unit_directory.EVENTS,
        ("unit",),
        ("unit_directory", "unit_closure"),
        unit_directory.apply,
        unit_directory.write,
    ),
    InlineModel(
        "user_roles",
        "the roles users hold, per unit",
        user_roles.EVENTS,
        ("user",),
        ("user_roles",),
        user_roles.apply,
        user_roles.write,
    ),
    InlineModel(
        "exemplary_models",
        "exemplary models with their reports and commendations",
        exemplary_models.EVENTS,
        ("model",),
        ("exemplary_models",),
        exemplary_models.apply,
        exemplary_models.write,
    ),
    InlineModel(
        "plan_list",
        "plans as they stand, for finding them",
        plan_list.EVENTS,
        ("plan",),
        ("plan_list", "plan_citations"),
        plan_list.apply,
        plan_list.write,
    ),
    InlineModel(
        "deadline_steps",
        "every scheduled deadline step and where it stands",
        deadline_steps.EVENTS,
        ("assignment",),
        ("deadline_steps",),
        deadline_steps.apply,
        deadline_steps.write,
    ),
    task_facts.MODEL,
)

GROUPS = {"directory": ("unit_directory", "user_roles", "exemplary_models", "plan_list")}
"""Names that landed migrations use for several read models at once."""

INLINE = tuple(m for m in READ_MODELS if isinstance(m, InlineModel))
PROJECTED = tuple(m for m in READ_MODELS if isinstance(m, ProjectedModel))


class UnknownReadModel(ValueError):
    pass


def named(name: str) -> list[ReadModel]:
    """The read models a name stands for: one model, a group, or `all`."""
    if name == "all":
        return list(READ_MODELS)
    names = GROUPS.get(name, (name,))
    found = [m for m in READ_MODELS if m.name in names]
    if len(found) != len(names):
        known = ", ".join([m.name for m in READ_MODELS] + list(GROUPS))
        raise UnknownReadModel(f"no read model is called {name!r} (known: {known})")
    return found


INLINE_EVENTS: tuple[type[Event], ...] = tuple({t for m in INLINE for t in m.handles})


def written_inline(events: Iterable[Event]) -> bool:
    """Whether any inline read model has rows to write for these events."""
    return any(isinstance(event, INLINE_EVENTS) for event in events)


async def write_inline(connection: DbConnection, changes: Sequence[Change]) -> None:
    """Keep every inline read model in step with events just appended, in their transaction."""
    for model in INLINE:
        handled = [c for c in changes if isinstance(c.event, model.handles)]
        if handled:
            await model.write(connection, handled)


def _quiet(_: str, __: int, ___: int) -> None:
    return None


async def rebuild(model: ReadModel, store: EventStore, progress: Progress = _quiet) -> int:
    """Fold every event of the model again; returns how many events were applied."""
    if isinstance(model, ProjectedModel):
        return (await rebuild_beside(model, store, progress=progress)).events
    return await replay_inline(model, store, progress)


async def replay_inline(
    model: InlineModel, store: EventStore, progress: Progress = _quiet, page: int = 1000
) -> int:
    """Empty the model's tables and fold every event of its categories again, in one
    transaction; returns how many events were read (those the model ignores included)."""
    read = 0
    async with store.pool.acquire() as connection, connection.transaction():
        await connection.execute(f"TRUNCATE {', '.join(model.tables)}")
        batch: list[Change] = []
        async for event in store.replay(connection, categories=list(model.categories)):
            read += 1
            if isinstance(event.data, model.handles):
                batch.append(Change(event.data, event.stream_id, event.version, event.recorded_at))
            if len(batch) >= page:
                await model.write(connection, batch)
                progress("fold", read, read)
                batch = []
        if batch:
            await model.write(connection, batch)
    return read


@dataclass(frozen=True)
class Standing:
    """Where a read model stands, for `campaign rebuild --list`."""

    name: str
    mode: str
    tables: tuple[str, ...]
    rows: int
    lag: int
    """Events not yet applied: 0 for an inline model (it is written with the events)."""
    summary: str


async def standing(store: EventStore) -> list[Standing]:
    found = []
    for model in READ_MODELS:
        rows = await store.pool.fetchval(f"SELECT count(*) FROM {model.tables[0]}")
        lag = 0
        if isinstance(model, ProjectedModel):
            lag = (await model.backlog(store)).events
        found.append(Standing(model.name, model.mode, model.tables, rows, lag, model.summary))
    return found


async def rebuild_named(name: str, store: EventStore) -> int:
    """Rebuild the read models a name stands for; the events applied, all told."""
    return sum([await rebuild(model, store) for model in named(name)])
