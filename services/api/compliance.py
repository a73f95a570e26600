"""Read routes over the projections: compliance per plan and per unit, a unit's task board."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any
from uuid import UUID

from litestar import Response, get
from litestar.di import NamedDependency
from litestar.params import FromPath, FromQuery, HeaderParameter, QueryParameter

from events.store import EventStore
from projections import compliance
from services.api.as_of import plan_as_of
from services.api.consistency import wait_for_projection
from services.api.dependencies import Injected, Pool
from services.api.plans import readable_plan
from services.api.problems import Problem
from services.api.times import instant
from services.handlers.auth import Actor
from services.handlers.reach import require_unit_read

After = Annotated[
    str | None,
    QueryParameter(
        name="after",
        description="The cursor a command returned: wait up to 2 s for the projection to pass it",
    ),
]
ConsistencyToken = Annotated[str | None, HeaderParameter(name="Consistency-Token")]
AsOf = Annotated[
    datetime | None,
    QueryParameter(
        name="as_of",
        description="An instant with an offset: the view built from the events recorded by then",
    ),
]


async def consistent(store: EventStore, after: str | None, header: str | None) -> dict[str, str]:
    return await wait_for_projection(store, after or header)


@get("/plans/{plan_id:uuid}/compliance")
async def plan_compliance(
    store: Injected[EventStore],
    pool: Injected[Pool],
    actor: NamedDependency[Actor],
    now: Injected[datetime],
    plan_id: FromPath[UUID],
    as_of: AsOf = None,
    after: After = None,
    consistency_token: ConsistencyToken = None,
) -> Response[dict[str, Any]]:
    """The plan's figures now, or as of an instant (overdue judged against that instant)."""
    if instant(as_of, "as_of") is not None:
        assert as_of is not None
        then = await plan_as_of(store, pool, actor, now, plan_id, as_of)
        figures = await compliance.for_plan_facts(pool, plan_id, then.facts, as_of)
        return Response({"plan_id": str(plan_id), **figures.body(), "as_of": then.stamp()})
    await readable_plan(store, pool, actor, plan_id)
    headers = await consistent(store, after, consistency_token)
    figures = await compliance.for_plan(pool, plan_id, now)
    return Response({"plan_id": str(plan_id), **figures.body(), "as_of": None}, headers=headers)


@get("/units/{unit_id:uuid}/compliance")
async def unit_compliance(
    store: Injected[EventStore],
    pool: Injected[Pool],
    actor: NamedDependency[Actor],
    now: Injected[datetime],
    unit_id: FromPath[UUID],
    from_: Annotated[datetime | None, QueryParameter(name="from")] = None,
    to: FromQuery[datetime | None] = None,
    after: After = None,
    consistency_token: ConsistencyToken = None,
) -> Response[dict[str, Any]]:
    await require_unit_read(pool, actor, [unit_id])
    instant(from_, "from")
    instant(to, "to")
    if from_ is not None and to is not None and from_ > to:
        raise Problem(400, "invalid-period", "Invalid period", "`from` must not come after `to`")
    headers = await consistent(store, after, consistency_token)
    figures = await compliance.for_unit(pool, unit_id, now, from_, to)
    return Response({"unit_id": str(unit_id), **figures.body()}, headers=headers)


@get("/units/{unit_id:uuid}/assignments")
async def unit_board(
    store: Injected[EventStore],
    pool: Injected[Pool],
    actor: NamedDependency[Actor],
    now: Injected[datetime],
    unit_id: FromPath[UUID],
    after: After = None,
    consistency_token: ConsistencyToken = None,
) -> Response[dict[str, Any]]:
    await require_unit_read(pool, actor, [unit_id])
    headers = await consistent(store, after, consistency_token)
    items = await compliance.board(pool, unit_id, now)
    return Response({"items": items, "next": None}, headers=headers)


ROUTES = [plan_compliance, unit_compliance, unit_board]
