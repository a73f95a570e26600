"""Liveness (the process answers) and readiness (this role can serve: its database answers)."""

from __future__ import annotations

import asyncio
from typing import Any

from litestar import Request, Response, get

from events.store import EventStore
from services.api.problems import OUTAGE, Problem, database_unreachable, problem_response


@get("/health/live", opt={"exclude_from_auth": True}, sync_to_thread=False)
def live() -> dict[str, str]:
    return {"status": "live"}


@get("/health/ready", opt={"exclude_from_auth": True})
async def ready(request: Request[Any, Any, Any]) -> Response[Any]:
    store: EventStore | None = getattr(request.app.state, "store", None)
    checks: dict[str, str] = {}
    try:
        if store is None:
            raise RuntimeError("no database pool")
        await asyncio.wait_for(store.ping(), timeout=2.0)
        checks["database"] = "ok"
    except Exception as error:  # any failure to answer (asyncpg's InternalClientError too)
        if database_unreachable(error):
            OUTAGE.failed(error)
        checks["database"] = f"failing: {type(error).__name__}: {error}"
        return problem_response(
            request,
            Problem(
                503,
                "not-ready",
                "Not ready",
                "the database does not answer",
                role="api",
                checks=checks,
            ),
        )
    OUTAGE.recovered()
    return Response({"status": "ready", "role": "api", "checks": checks})
