"""The plan view: the plan as it stands (or stood), its tasks and who has not reported yet."""

from __future__ import annotations

import contextlib
from collections.abc import Mapping
from datetime import datetime
from typing import Annotated, Any, Literal
from uuid import UUID

import msgspec
from litestar import Response, get
from litestar.di import NamedDependency
from litestar.params import FromPath, FromQuery, QueryParameter

from events.page_token import decode_page, encode_page
from events.store import EventStore
from projections import plan_list, plan_view, unit_directory
from projections.task_facts import TaskFact
from services.api.as_of import plan_then
from services.api.compliance import After, AsOf, ConsistencyToken, ValidAt, consistent
from services.api.dependencies import Injected, Pool
from services.api.plans import readable_plan
from services.api.times import instant, instant_or_day
from services.api.unit_names import named
from services.domain.docnumber import InvalidDocumentNumber, parse, shown
from services.handlers.auth import Actor
from services.handlers.reach import reach


def body(
    found: plan_view.PlanView,
    facts: list[TaskFact],
    at: datetime,
    names: Mapping[UUID, dict[str, str]] | None = None,
) -> dict[str, Any]:
    """The plan view; with `names`, every unit named comes with its name and short code."""
    plan = found.plan
    units = names or {}
    tasks = plan_view.tasks(facts, at)
    owing = plan_view.not_reported(facts, at)
    if names is not None:
        for task in tasks:
            task["lead_unit"] = named(units, task["lead_unit_id"])
            task["report_to_unit"] = named(units, task["report_to_unit_id"])
            task["coordinating_units"] = [named(units, u) for u in task["coordinating_unit_ids"]]
        for entry in owing:
            entry["unit"] = named(units, entry["unit_id"])
    recipients = [
        {**r, **({"unit": named(units, r["unit_id"])} if names is not None else {})}
        for r in msgspec.to_builtins(plan.recipients)
    ]
    return {
        "id": str(plan.id),
        "status": plan.status,
        "kind": plan.kind,
        "title": plan.title,
        "issuer_unit_id": str(plan.issuer_unit_id),
        **({"issuer_unit": named(units, str(plan.issuer_unit_id))} if names is not None else {}),
        "purpose": plan.purpose,
        "implements": [_shown(cited) for cited in msgspec.to_builtins(plan.implements)],
        "phases": msgspec.to_builtins(plan.phases),
        "recipients": recipients,
        "escalation_policy": msgspec.to_builtins(plan.escalation_policy),
        "review_steps": list(plan.review_steps),
        "shift_day_off": plan.shift_day_off,
        "issued": _shown(found.issued) if found.issued is not None else None,
        "attachments": found.attachments,
        "items": found.items,
        "amendments": found.amendments,
        "sub_plans": [str(p) for p in plan.sub_plans],
        "superseded_by": str(plan.superseded_by) if plan.superseded_by else None,
        "accepts_tasks": plan.accepts_tasks,
        "version": found.version,
        "history": found.history,
        "tasks": tasks,
        "not_reported": owing,
    }


async def unit_names(pool: Pool, found: plan_view.PlanView, facts: list[TaskFact]) -> Any:
    """The names of the units a plan view names, as they stand."""
    ids: list[UUID] = [u for u in [found.plan.issuer_unit_id] if u is not None]
    ids += [r.unit_id for r in found.plan.recipients]
    for fact in facts:
        ids += [fact.lead_unit_id, fact.report_to_unit_id, *fact.coordinating_unit_ids]
    return await unit_directory.names_of(pool, ids)


def _shown(document: dict[str, Any]) -> dict[str, Any]:
    """A document's number as shown ("Số: 111 / CV-UBND" reads 111/CV-UBND)."""
    number = document.get("number")
    return {**document, "number": shown(number)} if number else document


@get("/plans/{plan_id:uuid}")
async def get_plan(
    store: Injected[EventStore],
    pool: Injected[Pool],
    actor: NamedDependency[Actor],
    now: Injected[datetime],
    plan_id: FromPath[UUID],
    as_of: AsOf = None,
    valid_at: ValidAt = None,
    after: After = None,
    consistency_token: ConsistencyToken = None,
) -> Response[Any]:
    """The plan folded from its stream, its tasks from the projection (`?after=` waits for
    a command's cursor); with `as_of`, both folded from the events recorded by then; with
    `valid_at`, from the events in effect then (as now known, or as known at `as_of`)."""
    effective = instant_or_day(valid_at, "valid_at")
    if instant(as_of, "as_of") is not None or effective is not None:
        then = await plan_then(store, pool, actor, now, plan_id, as_of, effective)
        names = await unit_names(pool, then.view, then.facts)
        return Response(
            {
                **body(then.view, then.facts, then.judged_at, names),
                "as_of": then.stamp() if as_of is not None else None,
                "valid_at": effective.isoformat() if effective else None,
            }
        )
    found = await readable_plan(store, pool, actor, plan_id)
    headers = await consistent(store, after, consistency_token)
    facts = await plan_view.facts_of_plan(pool, plan_id)
    return Response(
        {
            **body(found, facts, now, await unit_names(pool, found, facts)),
            "as_of": None,
            "valid_at": None,
        },
        headers={"ETag": f'"{found.version}"', **headers},
    )


@get("/plans")
async def list_plans(
    pool: Injected[Pool],
    actor: NamedDependency[Actor],
    issuer: FromQuery[UUID | None] = None,
    status: FromQuery[
        Literal["draft", "issued", "closed", "cancelled", "superseded"] | None
    ] = None,
    number: Annotated[str | None, QueryParameter(max_length=80)] = None,
    cites: Annotated[
        str | None,
        QueryParameter(
            max_length=80,
            description="Plans implementing a document: its number (1498-CV/TU) or the "
            "number's leading part (1498)",
        ),
    ] = None,
    q: Annotated[str | None, QueryParameter(max_length=200)] = None,
    limit: Annotated[int, QueryParameter(ge=1, le=500)] = 50,
    page: Annotated[str | None, QueryParameter(max_length=200)] = None,
) -> Response[Any]:
    """Plans the reader may read, newest first: by issuer, status, document number (as written
    or normalised: "1293-CV/TU", "1293 CV/TU"), and free text in the title and number, with or
    without diacritics ("tuyen truyen" finds "tuyên truyền")."""
    normalized = None
    if number is not None:
        with contextlib.suppress(InvalidDocumentNumber):
            normalized = parse(number).normalized
    cited = None
    if cites is not None:
        with contextlib.suppress(InvalidDocumentNumber):
            cited = parse(cites).normalized
    found = await plan_list.search(
        pool,
        readable_by=await reach(pool, actor),
        issuer=issuer,
        status=status,
        number=number,
        number_normalized=normalized,
        cites=cites,
        cites_normalized=cited,
        q=q,
        limit=limit,
        after=decode_page(page, datetime.fromisoformat, UUID) if page is not None else None,
    )
    token = None
    if found.next is not None:
        token = encode_page(found.next[0].isoformat(), str(found.next[1]))
    return Response({"items": found.items, "next": token})


ROUTES = [get_plan, list_plans]
