"""`GET /audit/verify`: recompute the hash chains of one campaign or one stream;
`GET /audit/seals/latest`: the latest seal of the whole log."""

from __future__ import annotations

from typing import Annotated, Any
from uuid import UUID

from litestar import Response, get
from litestar.di import NamedDependency
from litestar.params import QueryParameter

from events import sealing
from events.store import EventStore
from events.verify import verify
from projections import plan_list
from services.api.dependencies import Injected, Pool
from services.api.plans import readable_plan
from services.api.problems import Problem
from services.handlers.auth import Actor
from services.handlers.reach import may_read, require_whole_log


@get("/audit/verify")
async def audit_verify(
    store: Injected[EventStore],
    pool: Injected[Pool],
    actor: NamedDependency[Actor],
    plan: Annotated[UUID | None, QueryParameter(name="plan")] = None,
    stream: Annotated[str | None, QueryParameter(name="stream", max_length=200)] = None,
) -> dict[str, Any]:
    """Every stream of the campaign (the plan's and its tasks') or the one stream, checked from
    its first event: versions, `prev_hash` links, and each hash against the stored envelope."""
    if (plan is None) == (stream is None):
        raise Problem(
            400,
            "verify-scope",
            "Say what to verify",
            "give either plan or stream; the whole store is `campaign verify`",
        )
    if plan is not None:
        await readable_plan(store, pool, actor, plan)
        streams = await store.streams_of_plan(plan)
    else:
        assert stream is not None
        units = await store.units_of_stream(stream)
        # Outside reach a stream answers like an unknown one: nobody learns it exists. A draft
        # plan's stream is its issuer's alone (the read rule).
        draft = await _draft_issuer(pool, stream)
        readers = [draft] if draft is not None else units
        if units is None or not await may_read(pool, actor, readers or []):
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


async def _draft_issuer(pool: Pool, stream: str) -> UUID | None:
    """The issuer of the plan whose stream this is, while that plan is a draft."""
    category, _, rest = stream.partition("-")
    if category != "plan":
        return None
    try:
        plan_id = UUID(rest)
    except ValueError:
        return None
    found = await plan_list.status_and_issuer(pool, plan_id)
    return found[1] if found is not None and found[0] == "draft" else None


@get("/audit/seals/latest")
async def latest_seal(pool: Injected[Pool], actor: NamedDependency[Actor]) -> Response[bytes]:
    """The latest seal of the whole log, as `campaign seal --export` prints it (README "Seals"):
    for admins and for auditors of a top unit, whose reach is every stream the seal names."""
    await require_whole_log(pool, actor)
    seal = await sealing.latest(pool)
    if seal is None:
        raise Problem(404, "no-seal", "No seal yet", "the log has not been sealed yet")
    line = seal.export_line(await sealing.current_epoch(pool))
    return Response(line, media_type="application/json")


ROUTES = [audit_verify, latest_seal]
