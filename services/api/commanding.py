"""What every command route shares: its headers, the command path, and the answer's shape."""

from __future__ import annotations

import hashlib
import re
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from litestar import Request, Response

from events.store import EventStore
from services.api.problems import Problem
from services.handlers.auth import Actor
from services.handlers.command_path import Answer, CommandContext, Handler, execute
from services.handlers.streams import USER_STREAMS
from services.handlers.token_cache import TokenCache

_IDEMPOTENCY_KEY = re.compile(r"^[\x21-\x7e]{1,200}$")
_IF_MATCH = re.compile(r'^(?:W/)?"?(\d{1,9})"?$')


_NIL, _MAX = uuid.UUID(int=0), uuid.UUID(int=2**128 - 1)


def new_id(given: uuid.UUID | None) -> uuid.UUID:
    """The id a client chose for what it creates, or a new one. The nil and the max UUID are
    nobody's id (422 `invalid-id`): they read as "none" to too many systems."""
    if given is None:
        return uuid.uuid4()
    if given in (_NIL, _MAX):
        raise Problem(
            422, "invalid-id", "Invalid id", f"{given} is not an id: leave `id` out for a new one"
        )
    return given


@dataclass(frozen=True)
class Commands:
    """The `commands` dependency: the command path for this request, as its actor at its
    instant, with its Idempotency-Key, If-Match (checked when a command is sent, so a handler's
    own refusal comes first) and X-Causation-ID (validated like the request id by the request
    context: an ill-formed one is dropped, never stored)."""

    request: Request[Any, Any, Any]
    store: EventStore
    actor: Actor
    now: datetime

    @property
    def keyed(self) -> bool:
        """Whether the request carries an Idempotency-Key (checked when the command is sent)."""
        return self.request.headers.get("idempotency-key") is not None

    async def context(self) -> CommandContext:
        request = self.request
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
            actor=self.actor,
            now=self.now,
            request_id=state.get("request_id"),
            correlation_id=state.get("correlation_id"),
            causation_id=state.get("causation_id"),
            idempotency_key=key,
            request_hash=digest,
            if_match=if_match,
        )

    async def execute(self, handler: Handler) -> Answer:
        answer = await execute(self.store, await self.context(), handler)
        if any(ref.stream_id.startswith(USER_STREAMS) for ref in answer.events):
            forget_tokens(self.request)  # at once here; other processes hear the notice
        return answer

    async def run(self, handler: Handler) -> Response[Any]:
        return answer_response(await self.execute(handler))


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


def forget_tokens(request: Request[Any, Any, Any]) -> None:
    """This process forgets every token it knew: who holds what has just changed here, and the
    notice of the change (migration 0015) may reach its listener after the next request."""
    cache: TokenCache | None = getattr(request.app.state, "token_cache", None)
    if cache is not None:
        cache.forget()
