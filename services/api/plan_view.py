"""The plan view: the plan as it stands (or stood), its tasks and who has not reported yet."""

from __future__ import annotations

import base64
import binascii
import contextlib
from datetime import datetime
from typing import Annotated, Any, Literal
from uuid import UUID

import msgspec
from litestar import Request, Response, get
from litestar.di import NamedDependency
from litestar.params import FromPath, FromQuery, QueryParameter

from projections import plan_list, plan_view
from projections.task_facts import TaskFact
from services.api.as_of import aware, plan_as_of
from services.api.commanding import now
from services.api.compliance import After, AsOf, ConsistencyToken, consistent
from services.api.plans import readable_plan
from services.api.problems import Problem
from services.domain.docnumber import InvalidDocumentNumber, parse
from services.handlers.auth import Actor
from services.handlers.reach import reach

PlanStatus = Literal["draft", "issued", "closed", "cancelled", "superseded"]


def body(found: plan_view.PlanView, facts: list[TaskFact], at: datetime) -> dict[str, Any]:
    plan = found.plan
    return {
        "id": str(plan.id),
        "status": plan.status,
        "kind": plan.kind,
        "title": plan.title,
        "issuer_unit_id": str(plan.issuer_unit_id),
        "purpose": plan.purpose,
        "implements": msgspec.to_builtins(plan.implements),
        "phases": msgspec.to_builtins(plan.phases),
        "recipients": msgspec.to_builtins(plan.recipients),
        "escalation_policy": msgspec.to_builtins(plan.escalation_policy),
        "review_steps": list(plan.review_steps),
        "shift_day_off": plan.shift_day_off,
        "issued": found.issued,
        "attachments": found.attachments,
        "amendments": found.amendments,
        "sub_plans": [str(p) for p in plan.sub_plans],
        "superseded_by": str(plan.superseded_by) if plan.superseded_by else None,
        "accepts_tasks": plan.accepts_tasks,
        "version": found.version,
        "history": found.history,
        "tasks": plan_view.tasks(facts, at),
        "not_reported": plan_view.not_reported(facts, at),
    }


@get("/plans/{plan_id:uuid}")
async def get_plan(
    request: Request[Any, Any, Any],
    actor: NamedDependency[Actor],
    plan_id: FromPath[UUID],
    as_of: AsOf = None,
    after: After = None,
    consistency_token: ConsistencyToken = None,
) -> Response[Any]:
    """The plan folded from its stream, its tasks from the projection (`?after=` waits for
    a command's cursor); with `as_of`, both folded from the events recorded by then."""
    if aware(as_of, "as_of") is not None:
        assert as_of is not None
        then = await plan_as_of(request, actor, plan_id, as_of)
        return Response({**body(then.view, then.facts, as_of), "as_of": then.stamp()})
    found = await readable_plan(request, actor, plan_id)
    headers = await consistent(request, after, consistency_token)
    facts = await plan_view.facts_of_plan(request.app.state.pool, plan_id)
    return Response(
        {**body(found, facts, now(request)), "as_of": None},
        headers={"ETag": f'"{found.version}"', **headers},
    )


@get("/plans")
async def list_plans(
    request: Request[Any, Any, Any],
    actor: NamedDependency[Actor],
    issuer: FromQuery[UUID | None] = None,
    status: FromQuery[
        Literal["draft", "issued", "closed", "cancelled", "superseded"] | None
    ] = None,
    number: Annotated[str | None, QueryParameter(max_length=80)] = None,
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
    found = await plan_list.search(
        request.app.state.pool,
        readable_by=await reach(request.app.state.pool, actor),
        issuer=issuer,
        status=status,
        number=number,
        number_normalized=normalized,
        q=q,
        limit=limit,
        after=_page(page),
    )
    token = None
    if found.next is not None:
        raw = f"{found.next[0].isoformat()}|{found.next[1]}".encode()
        token = base64.urlsafe_b64encode(raw).decode().rstrip("=")
    return Response({"items": found.items, "next": token})


def _page(token: str | None) -> tuple[datetime, UUID] | None:
    if token is None:
        return None
    try:
        moment, _, plan_id = (
            base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)).decode().partition("|")
        )
        return datetime.fromisoformat(moment), UUID(plan_id)
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise Problem(
            400, "invalid-page", "Invalid page token", "pass the `next` token of the previous page"
        ) from None


ROUTES = [get_plan, list_plans]
