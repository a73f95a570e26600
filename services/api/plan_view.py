"""The plan view: the plan as it stands (or stood), its tasks and who has not reported yet."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

import msgspec
from litestar import Request, Response, get
from litestar.di import NamedDependency
from litestar.params import FromPath

from projections import plan_view
from projections.task_facts import TaskFact
from services import plans
from services.api.as_of import aware, plan_as_of
from services.api.commanding import now
from services.api.compliance import After, AsOf, ConsistencyToken, consistent
from services.api.plans import readable_plan
from services.auth import Actor


def body(found: plans.PlanView, facts: list[TaskFact], at: datetime) -> dict[str, Any]:
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


ROUTES = [get_plan]
