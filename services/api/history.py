"""A campaign's history for auditors: every event of a plan (and its sub-plans) in feed order."""

from __future__ import annotations

from typing import Annotated, Any, Literal
from uuid import UUID

import msgspec
from litestar import Request, Response, get
from litestar.di import NamedDependency
from litestar.params import FromPath, QueryParameter

from events.store import EventStore
from events.wire import wire
from projections import unit_directory
from services.api.dependencies import Injected, Pool
from services.api.plans import readable_plan
from services.handlers import plans
from services.handlers.auth import Actor
from services.handlers.reach import feed_scope, may_read

NDJSON = "application/x-ndjson"


@get("/plans/{plan_id:uuid}/history")
async def plan_history(
    request: Request[Any, Any, Any],
    store: Injected[EventStore],
    pool: Injected[Pool],
    actor: NamedDependency[Actor],
    plan_id: FromPath[UUID],
    include_sub_plans: Annotated[bool, QueryParameter(name="include_sub_plans")] = False,
    after: Annotated[str | None, QueryParameter(name="after")] = None,
    limit: Annotated[int, QueryParameter(name="limit", ge=1, le=10_000)] = 1000,
    expand: Annotated[
        Literal["units"] | None,
        QueryParameter(
            description="units: the JSON answer also gives, under `units`, the name and short "
            "code of every unit the page's events concern, by id",
        ),
    ] = None,
) -> Response[Any]:
    """Every event of the campaign in feed order with actor, times and hashes; JSON, or NDJSON
    when asked for with `Accept: application/x-ndjson` (the next page's cursor in `Next-Cursor`)."""
    found = await readable_plan(store, pool, actor, plan_id)
    plan_ids = [plan_id]
    if include_sub_plans:
        pending = list(found.plan.sub_plans)
        seen: set[UUID] = set()
        while pending:
            sub_plan = pending.pop()
            if sub_plan in plan_ids or sub_plan in seen:
                continue
            seen.add(sub_plan)
            sub_view = await plans.view(store, sub_plan)
            # A sub-plan the reader may not read is left out, with what hangs below it.
            if sub_view is not None and await may_read(pool, actor, plans.readers(sub_view.plan)):
                plan_ids.append(sub_plan)
                pending.extend(sub_view.plan.sub_plans)
    # The events shown are those the feed shows the reader (the read rule): a recipient reads
    # the plan's events and its own tasks', not a sibling's.
    scope = await feed_scope(pool, actor)
    page = await store.history(plan_ids, after=after, limit=limit, **scope.store_filters())
    if NDJSON in request.headers.get("accept", ""):
        lines = b"".join(msgspec.json.encode(wire(e)) + b"\n" for e in page.events)
        headers = {"Next-Cursor": page.next} if page.next else {}
        return Response(lines, media_type=NDJSON, headers=headers)
    body: dict[str, Any] = {"items": [wire(e) for e in page.events], "next": page.next}
    if expand == "units":
        concerned = (unit_id for e in page.events for unit_id in e.tags.units)
        names = await unit_directory.names_of(pool, concerned)
        body["units"] = {str(unit_id): named for unit_id, named in names.items()}
    return Response(body)


ROUTES = [plan_history]
