"""What every command route shares: who sends it, its headers, and the answer's shape."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable
from datetime import datetime
from typing import Any

from litestar import Request, Response

from events.store import EventStore
from services.api.problems import Problem
from services.handlers.auth import Actor, authenticate
from services.handlers.command_path import Answer, CommandContext, Handler, execute

_IDEMPOTENCY_KEY = re.compile(r"^[\x21-\x7e]{1,200}$")
_IF_MATCH = re.compile(r'^(?:W/)?"?(\d{1,9})"?$')


def now(request: Request[Any, Any, Any]) -> datetime:
    clock: Callable[[], datetime] = request.app.state.clock
    return clock()


async def current_actor(request: Request[Any, Any, Any]) -> Actor:
    """The `actor` dependency: the user behind the bearer token (401 problem otherwise)."""
    return await authenticate(
        request.app.state.pool, request.headers.get("authorization"), now(request)
    )


async def command_context(
    request: Request[Any, Any, Any], actor: Actor, *, backdated: bool = False
) -> CommandContext:
    key = request.headers.get("idempotency-key")
    if key is not None and not _IDEMPOTENCY_KEY.match(key):
        raise Problem(
            400,
            "invalid-idempotency-key",
            "Invalid Idempotency-Key",
            "use 1 to 200 visible ASCII characters",
        )
    if_match = None
    raw_if_match = request.headers.get("if-match")
    if raw_if_match is not None:
        match = _IF_MATCH.match(raw_if_match.strip())
        if match is None:
            raise Problem(
                400,
                "invalid-if-match",
                "Invalid If-Match",
                'If-Match takes the ETag a read returned, such as "3"',
            )
        if_match = int(match[1])
    body = await request.body()
    digest = hashlib.sha256(f"{request.method} {request.url.path}\n".encode() + body).digest()
    state = request.scope.get("state", {})
    return CommandContext(
        actor=actor,
        now=now(request),
        request_id=state.get("request_id"),
        correlation_id=state.get("correlation_id"),
        causation_id=request.headers.get("x-causation-id"),
        idempotency_key=key,
        request_hash=digest,
        if_match=if_match,
        backdated=backdated,
    )


def store_of(request: Request[Any, Any, Any]) -> EventStore:
    store: EventStore = request.app.state.store
    return store


async def run(
    request: Request[Any, Any, Any], actor: Actor, handler: Handler, *, backdated: bool = False
) -> Response[Any]:
    context = await command_context(request, actor, backdated=backdated)
    answer = await execute(store_of(request), context, handler)
    return answer_response(answer)


def answer_response(answer: Answer) -> Response[Any]:
    body = {
        "id": answer.id,
        "events": [
            {
                "event_id": str(ref.event_id),
                "stream_id": ref.stream_id,
                "version": ref.version,
                "cursor": ref.cursor,
            }
            for ref in answer.events
        ],
        "cursor": answer.cursor,
        **answer.extra,
    }
    return Response(body, status_code=answer.status)
