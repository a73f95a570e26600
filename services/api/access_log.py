"""The access log: one line per HTTP request, written when its answer is over (a live stream
when it closes): method, route template (never the path itself, which may carry ids and
queries), status, duration, request id and the user's id. No header, token, query or body.
It wraps the whole application, so unmatched routes (404, 405) are logged too."""

from __future__ import annotations

import time
from typing import Any

from litestar.enums import ScopeType
from litestar.types import ASGIApp, Message, Receive, Scope, Send

from services.runtime.logging import access_logger

log = access_logger()


def access_log_middleware(app: ASGIApp) -> ASGIApp:
    async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != ScopeType.HTTP:
            await app(scope, receive, send)
            return
        started = time.perf_counter()
        status: int | None = None

        async def sending(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await app(scope, receive, sending)
        finally:
            state: dict[str, Any] = scope.get("state") or {}
            log.info(
                "request",
                method=scope.get("method"),
                route=scope.get("path_template"),
                status=status,
                duration_ms=round((time.perf_counter() - started) * 1000, 1),
                request_id=state.get("request_id"),
                user_id=state.get("user_id"),
            )

    return middleware
