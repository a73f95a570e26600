"""`GET /audit/verify`: recompute the hash chains of one campaign or one stream."""

from __future__ import annotations

from typing import Annotated, Any
from uuid import UUID

from litestar import Request, get
from litestar.di import NamedDependency
from litestar.params import Parameter

from events.verify import verify
from services import plans
from services.api.commanding import store_of
from services.api.problems import Problem
from services.auth import Actor
from services.reach import require_read


@get("/audit/verify")
async def audit_verify(
    request: Request[Any, Any, Any],
    actor: NamedDependency[Actor],
    plan: Annotated[UUID | None, Parameter(query="plan")] = None,
    stream: Annotated[str | None, Parameter(query="stream", max_length=200)] = None,
) -> dict[str, Any]:
    """Every stream of the campaign (the plan's and its tasks') or the one stream, checked from
    its first event: versions, `prev_hash` links, and each hash against the stored envelope."""
    pool = request.app.state.pool
    if (plan is None) == (stream is None):
        raise Problem(
            400,
            "verify-scope",
            "Say what to verify",
            "give either plan or stream; the whole store is `campaign verify`",
        )
    if plan is not None:
        found = await plans.view(store_of(request), plan)
        if found is None:
            raise Problem(404, "unknown-plan", "Unknown plan", f"plan {plan} does not exist")
        await require_read(pool, actor, plans.readers(found.plan))
        streams = [
            r["stream_id"]
            for r in await pool.fetch(
                "SELECT DISTINCT stream_id FROM events WHERE plan_id = $1 ORDER BY 1", plan
            )
        ]
    else:
        assert stream is not None
        units = await pool.fetchval(
            "SELECT array_agg(DISTINCT u) FROM events, unnest(units) AS u WHERE stream_id = $1",
            stream,
        )
        await require_read(pool, actor, units or [])  # before saying whether it exists
        exists = await pool.fetchval(
            "SELECT EXISTS (SELECT 1 FROM events WHERE stream_id = $1)", stream
        )
        if not exists:
            raise Problem(404, "unknown-stream", "Unknown stream", f"no event in {stream!r}")
        streams = [stream]
    report = await verify(pool, streams=streams)
    first = report.first_break
    return {
        "ok": report.ok,
        "streams": report.streams,
        "events": report.events,
        "first_break": first.describe() if first else None,
        "breaks": [
            {
                "stream_id": b.stream_id,
                "version": b.version,
                "position": b.position,
                "reason": b.reason,
            }
            for b in report.breaks
        ],
    }


ROUTES = [audit_verify]
