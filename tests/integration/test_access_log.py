"""The access log (security review row 18): `campaign serve` writes one JSON line per request
with method, route template, status, duration, request id and user id, and never the token,
the body, the query or the path's ids."""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path
from typing import Any

import httpx

from events.store import EventStore
from tests.e2e.test_dev import free_port
from tests.org import bearer, make_user
from tests.processes import start_campaign, stop


async def test_one_json_line_per_request_without_token_or_body(
    domain_store: EventStore, dsn: str, tmp_path: Path
) -> None:
    user, token = await make_user(domain_store, "admin")
    port = free_port()
    log = tmp_path / "api.log"
    server = start_campaign(log, "serve", DATABASE_URL=dsn, HTTP_PORT=str(port))
    secret_name = "Văn phòng bí mật 7f3a"
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=30) as client:
            deadline = time.monotonic() + 60
            while True:
                try:
                    if (await client.get("/health/live")).status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                assert server.poll() is None and time.monotonic() < deadline, log.read_text()
                await asyncio.sleep(0.1)
            created = await client.post(
                "/units",
                headers={**bearer(token), "X-Request-ID": "access-log-1"},
                json={"name": secret_name, "short_code": "VPBM", "kind": "office"},
            )
            assert created.status_code == 201, created.text
            unit = created.json()["id"]
            read = await client.get(
                f"/units/{unit}", params={"q": "dang uy"}, headers=bearer(token)
            )
            assert read.status_code == 200
            unknown = await client.get("/no/such/route", headers=bearer(token))
            assert unknown.status_code == 404
            anonymous = await client.get("/units")
            assert anonymous.status_code == 401

            def access() -> list[dict[str, Any]]:
                lines = [json.loads(line) for line in log.read_text().splitlines() if line]
                return [line for line in lines if line.get("logger") == "campaign.access"]

            deadline = time.monotonic() + 30
            while sum(1 for line in access() if line["route"] != "/health/live") < 4:
                assert time.monotonic() < deadline, log.read_text()
                await asyncio.sleep(0.1)
    finally:
        stop(server)
    text = log.read_text()
    assert token not in text and token.split("_", 1)[-1] not in text
    assert secret_name not in text and "VPBM" not in text and "dang uy" not in text
    lines = [line for line in access() if line["route"] != "/health/live"]
    assert [(line["method"], line["route"], line["status"], line["user_id"]) for line in lines] == [
        ("POST", "/units", 201, str(user)),
        ("GET", "/units/{unit_id}", 200, str(user)),
        ("GET", None, 404, None),
        ("GET", "/units", 401, None),
    ]
    assert lines[0]["request_id"] == "access-log-1"
    assert all(line["request_id"] for line in lines)
    assert all(isinstance(line["duration_ms"], float | int) for line in lines)
    assert all(line["event"] == "request" and line["level"] == "info" for line in lines)
    assert unit not in json.dumps(lines)
