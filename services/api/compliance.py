"""Read routes over the projections: compliance per plan and per unit, a unit's task board."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any
from uuid import UUID

from litestar import Request, Response, get
from litestar.di import NamedDependency
from litestar.params import FromPath, FromQuery, Parameter

from projections import compliance
from services.api.commanding import now, store_of
from services.api.consistency import wait_for_projection
from services.api.plans import readable_plan
from services.api.problems import Problem
from services.auth import Actor
from services.reach import require_read

After = Annotated[
    str | None,
    Parameter(
        query="after",
        description="The cursor a command returned: wait up to 2 s for the projection to pass it",
    ),
]
ConsistencyToken = Annotated[str | None, Parameter(header="Consistency-Token")]


async def _consistent(
    request: Request[Any, Any, Any], after: str | None, header: str | None
) -> dict[str, str]:
    return await wait_for_projection(request.app.state.pool, store_of(request), after or header)


@get("/plans/{plan_id:uuid}/compliance")
async def plan_compliance(
    request: Request[Any, Any, Any],
    actor: NamedDependency[Actor],
    plan_id: FromPath[UUID],
    after: After = None,
    consistency_token: ConsistencyToken = None,
) -> Response[dict[str, Any]]:
    await readable_plan(request, actor, plan_id)
    headers = await _consistent(request, after, consistency_token)
    figures = await compliance.for_plan(request.app.state.pool, plan_id, now(request))
    return Response({"plan_id": str(plan_id), **figures.body()}, headers=headers)


@get("/units/{unit_id:uuid}/compliance")
async def unit_compliance(
    request: Request[Any, Any, Any],
    actor: NamedDependency[Actor],
    unit_id: FromPath[UUID],
    from_: Annotated[datetime | None, Parameter(query="from")] = None,
    to: FromQuery[datetime | None] = None,
    after: After = None,
    consistency_token: ConsistencyToken = None,
) -> Response[dict[str, Any]]:
    await require_read(request.app.state.pool, actor, [unit_id])
    for moment in (from_, to):
        if moment is not None and moment.tzinfo is None:
            raise Problem(
                422,
                "naive-time",
                "Time without an offset",
                "from and to need an offset, such as 2022-10-01T00:00:00+07:00",
            )
        try:
            if moment is not None:
                moment.astimezone(UTC)
        except OverflowError:
            raise Problem(
                422, "invalid-time", "Time out of range", f"{moment} is out of range"
            ) from None
    headers = await _consistent(request, after, consistency_token)
    figures = await compliance.for_unit(request.app.state.pool, unit_id, now(request), from_, to)
    return Response({"unit_id": str(unit_id), **figures.body()}, headers=headers)


@get("/units/{unit_id:uuid}/assignments")
async def unit_board(
    request: Request[Any, Any, Any],
    actor: NamedDependency[Actor],
    unit_id: FromPath[UUID],
    after: After = None,
    consistency_token: ConsistencyToken = None,
) -> Response[dict[str, Any]]:
    await require_read(request.app.state.pool, actor, [unit_id])
    headers = await _consistent(request, after, consistency_token)
    items = await compliance.board(request.app.state.pool, unit_id, now(request))
    return Response({"items": items, "next": None}, headers=headers)


ROUTES = [plan_compliance, unit_compliance, unit_board]
