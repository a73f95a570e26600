"""Read routes over the projections: compliance per plan and per unit, a unit's task board."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Annotated, Any
from uuid import UUID

from litestar import Response, get
from litestar.di import NamedDependency
from litestar.params import FromPath, HeaderParameter, QueryParameter

from events.store import EventStore
from projections import compliance, unit_directory
from services.api.as_of import plan_then
from services.api.consistency import wait_for_projection
from services.api.dependencies import Injected, Pool
from services.api.plans import readable_plan
from services.api.problems import Problem
from services.api.times import has_time, instant, instant_or_day
from services.api.unit_names import named
from services.domain.calendar import VIETNAM
from services.domain.due_reading import parse_date
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
ValidAt = Annotated[
    str | None,
    QueryParameter(
        name="valid_at",
        max_length=60,
        description="An instant with an offset, or a date (20/05/2019: the end of that day in "
        "Vietnam's time): the view as it was in effect then, as now known (with as_of: as "
        "known then)",
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
    valid_at: ValidAt = None,
    after: After = None,
    consistency_token: ConsistencyToken = None,
) -> Response[dict[str, Any]]:
    """The plan's figures now, or as of an instant, or as in effect at one (overdue judged
    against that instant)."""
    effective = instant_or_day(valid_at, "valid_at")
    if instant(as_of, "as_of") is not None or effective is not None:
        then = await plan_then(store, pool, actor, now, plan_id, as_of, effective)
        figures = await compliance.for_plan_facts(pool, plan_id, then.facts, then.judged_at)
        return Response(
            {
                "plan_id": str(plan_id),
                **figures.body(),
                "as_of": then.stamp() if as_of is not None else None,
                "valid_at": effective.isoformat() if effective else None,
            }
        )
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
    from_: Annotated[
        str | None,
        QueryParameter(
            name="from",
            description="An instant with an offset (dues from it on), or a date such as "
            "01/01/2021 (dues from that day on, in Vietnam's time)",
        ),
    ] = None,
    to: Annotated[
        str | None,
        QueryParameter(
            description="An instant with an offset (dues before it), or a date such as "
            "31/01/2021 (dues up to the end of that day, in Vietnam's time)",
        ),
    ] = None,
    after: After = None,
    consistency_token: ConsistencyToken = None,
) -> Response[dict[str, Any]]:
    await require_unit_read(pool, actor, [unit_id])
    starts, ends, by_day = period(from_, to)
    headers = await consistent(store, after, consistency_token)
    figures = await compliance.for_unit(pool, unit_id, now, starts, ends, by_day=by_day)
    unit = named(await unit_directory.names_of(pool, [unit_id]), unit_id)
    return Response({"unit_id": str(unit_id), "unit": unit, **figures.body()}, headers=headers)


def period(from_: str | None, to: str | None) -> tuple[datetime | None, datetime | None, bool]:
    """The period's bounds and whether it is of whole days: instants with offsets ([from, to)
    over the dues), or dates (the tasks whose due ends a day from `from` to `to` inclusive,
    in Vietnam's time); not one of each."""
    dated = [_is_date(given) for given in (from_, to) if given is not None]
    if any(dated) and not all(dated):
        raise _invalid("give `from` and `to` both as dates or both as instants")
    if dated and all(dated):
        first = parse_date(from_, "from") if from_ is not None else None
        last = parse_date(to, "to") if to is not None else None
        if first is not None and last is not None and first > last:
            raise _invalid("`from` must not come after `to`")
        return (
            None if first is None else _midnight(first),
            None if last is None else _midnight(last + timedelta(days=1)),
            True,
        )
    starts, ends = _instant(from_, "from"), _instant(to, "to")
    if starts is not None and ends is not None and starts > ends:
        raise _invalid("`from` must not come after `to`")
    return starts, ends, False


def _invalid(detail: str) -> Problem:
    return Problem(400, "invalid-period", "Invalid period", detail)


def _midnight(day: date) -> datetime:
    return datetime.combine(day, time(0, 0), VIETNAM)


def _is_date(given: str) -> bool:
    return not has_time(given)


def _instant(given: str | None, name: str) -> datetime | None:
    if given is None:
        return None
    try:
        moment = datetime.fromisoformat(given.replace(" ", "+"))
    except ValueError:
        raise _invalid(f"`{name}` is not an instant: {given!r}") from None
    return instant(moment, name)


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
    names = await unit_directory.names_of(pool, (i["lead_unit_id"] for i in items))
    for item in items:
        item["lead_unit"] = named(names, item["lead_unit_id"])
    return Response({"items": items, "next": None}, headers=headers)


ROUTES = [plan_compliance, unit_compliance, unit_board]
