"""Request, correlation and causation ids: taken from the client when well formed (1 to 100 of
`A-Z a-z 0-9 . _ : -`), else dropped and replaced (a request id made up, the correlation id
the request id, no causation id); bound to every log line of the request, the first two echoed
in the response headers, all three stored in the metadata of the events a command appends.
Nothing ill formed is ever echoed or stored, on any route, unmatched ones (404, 405) included."""

from __future__ import annotations

import re
import uuid
from typing import Any

import structlog
from litestar.enums import ScopeType
from litestar.types import ASGIApp, Message, Receive, Scope, Send

_ID = re.compile(r"^[A-Za-z0-9._:-]{1,100}$")
ID_HEADERS = ("x-request-id", "x-correlation-id", "x-causation-id")
"""The three ids a client may send, each validated alike by `valid_id`."""


def valid_id(value: str | None) -> str | None:
    """`value` if it is a well-formed id (1 to 100 of `A-Z a-z 0-9 . _ : -`), else None."""
    if value is None or len(value) > 100 or not _ID.match(value):
        return None
    return value


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", []):
        if key == name:
            return valid_id(value.decode("latin-1"))
    return None


def request_context_middleware(app: ASGIApp) -> ASGIApp:
    async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != ScopeType.HTTP:
            await app(scope, receive, send)
            return
        request_id = _header(scope, b"x-request-id") or uuid.uuid4().hex
        correlation_id = _header(scope, b"x-correlation-id") or request_id
        state: dict[str, Any] = scope.setdefault("state", {})
        state["request_id"] = request_id
        state["correlation_id"] = correlation_id
        state["causation_id"] = _header(scope, b"x-causation-id")

        async def send_with_ids(message: Message) -> None:
            if message["type"] == "http.response.start":
                # A problem document names the request id itself (an unmatched route never
                # reaches this middleware): one header each, never two.
                headers = [
                    (name, value)
                    for name, value in message.get("headers", [])
                    if name.lower() not in (b"x-request-id", b"x-correlation-id")
                ]
                headers.append((b"x-request-id", request_id.encode()))
                headers.append((b"x-correlation-id", correlation_id.encode()))
                message["headers"] = headers
            await send(message)

        with structlog.contextvars.bound_contextvars(
            request_id=request_id, correlation_id=correlation_id
        ):
            await app(scope, receive, send_with_ids)

    return middleware
