"""Probes and metrics on a port of their own, for the roles that serve no HTTP API (the
projector and the worker): `GET /health/live` (the process runs), `GET /health/ready` (this
role can do its work: 200, or 503, with the details as JSON) and `GET /metrics` (Prometheus).

A few lines of asyncio rather than a web framework: it answers three paths, one request per
connection, and must keep answering while the role is busy.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import Awaitable, Callable
from typing import Any

import structlog
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

log = structlog.get_logger(__name__)

Readiness = Callable[[], Awaitable[tuple[bool, dict[str, Any]]]]
READ_SECONDS = 5.0
CHECK_SECONDS = 3.0


class ProbeServer:
    def __init__(self, host: str, port: int, role: str, ready: Readiness) -> None:
        self.host, self.port, self.role = host, port, role
        self._ready = ready
        self._server: asyncio.Server | None = None

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._serve, self.host, self.port)
        for bound in self._server.sockets:
            self.port = int(bound.getsockname()[1])
            break
        log.info("probes and metrics served", role=self.role, port=self.port)

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
            with contextlib.suppress(Exception):
                await self._server.wait_closed()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            request = await asyncio.wait_for(reader.readline(), READ_SECONDS)
            while (await asyncio.wait_for(reader.readline(), READ_SECONDS)) not in (
                b"\r\n",
                b"\n",
                b"",
            ):
                pass
            parts = request.decode("latin-1").split()
            method, path = (parts[0], parts[1].split("?", 1)[0]) if len(parts) >= 2 else ("", "")
            status, media_type, body = await self._answer(method, path)
            writer.write(
                f"HTTP/1.1 {status}\r\nContent-Type: {media_type}\r\n"
                f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n".encode()
                + body
            )
            await writer.drain()
        except (TimeoutError, ConnectionError, UnicodeError):
            pass
        finally:
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()

    async def _answer(self, method: str, path: str) -> tuple[str, str, bytes]:
        if method not in ("GET", "HEAD"):
            return "405 Method Not Allowed", "text/plain", b"GET only\n"
        if path == "/metrics":
            return "200 OK", CONTENT_TYPE_LATEST, generate_latest()
        if path == "/health/live":
            return "200 OK", "application/json", b'{"status":"ok"}'
        if path == "/health/ready":
            try:
                ok, details = await asyncio.wait_for(self._ready(), CHECK_SECONDS)
            except Exception as error:  # a probe answers; it never raises
                ok, details = False, {"error": f"{type(error).__name__}: {error}"}
            body = json.dumps(
                {"status": "ok" if ok else "unavailable", "role": self.role, **details},
                default=str,
            ).encode()
            return ("200 OK" if ok else "503 Service Unavailable"), "application/json", body
        return "404 Not Found", "text/plain", b"not found\n"
