"""`campaign serve` on every core: several API processes behind one port answer as one API. The
rate limit holds across them, /metrics counts every process's requests, SIGTERM stops them
all; several processes without Redis (where the limits are counted) are refused plainly."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import httpx
import psutil
import pytest

from events.store import EventStore
from tests.e2e.test_dev import free_port
from tests.org import bearer, make_user
from tests.processes import start_campaign, stop
from tests.waiting import until

pytestmark = pytest.mark.slow


def unit(code: str) -> dict[str, str]:
    return {"name": f"Đơn vị {code}", "short_code": code, "kind": "office"}


def requests_counted(metrics: str, path: str) -> float:
    pattern = re.compile(r"^campaign_http_requests_total\{([^}]*)\} ([0-9.e+]+)$", re.M)
    return sum(
        float(value) for labels, value in pattern.findall(metrics) if f'path="{path}"' in labels
    )


async def test_several_api_processes_answer_as_one(
    domain_store: EventStore, dsn: str, redis_url: str, tmp_path: Path
) -> None:
    _, token = await make_user(domain_store, "admin")
    port = free_port()
    server = start_campaign(
        tmp_path / "api.log",
        "serve",
        DATABASE_URL=dsn,
        REDIS_URL=redis_url,
        HTTP_PORT=str(port),
        HTTP_WORKERS="2",
        COMMANDS_PER_MINUTE="4",
        LOG_LEVEL="warning",
    )
    try:
        # A new connection per request, so the kernel spreads them over the processes.
        async with httpx.AsyncClient(
            base_url=f"http://127.0.0.1:{port}",
            limits=httpx.Limits(max_keepalive_connections=0),
            timeout=30,
        ) as client:

            async def live() -> bool:
                try:
                    return (await client.get("/health/live")).status_code == 200
                except httpx.TransportError:
                    return False

            await until(live, 60, "the API to answer")
            api = [
                child
                for child in psutil.Process(server.pid).children()
                if "resource_tracker" not in " ".join(child.cmdline())
            ]
            assert len(api) == 2, "one supervisor, two API processes"

            for _ in range(20):
                assert (await client.get("/health/live")).status_code == 200
            metrics = (await client.get("/metrics")).text
            assert requests_counted(metrics, "/health/live") >= 21

            answers = [
                (await client.post("/units", headers=bearer(token), json=unit(f"P{n}"))).status_code
                for n in range(6)
            ]
            assert answers == [201, 201, 201, 201, 429, 429]
    finally:
        code = stop(server)
    assert code == 0
    assert not [p for p in api if p.is_running() and p.status() != psutil.STATUS_ZOMBIE]


def test_several_api_processes_without_redis_are_refused(dsn: str, tmp_path: Path) -> None:
    log = tmp_path / "api.log"
    env: dict[str, Any] = {"DATABASE_URL": dsn, "HTTP_WORKERS": "2", "REDIS_URL": ""}
    server = start_campaign(log, "serve", HTTP_PORT=str(free_port()), **env)
    assert server.wait(timeout=60) != 0
    assert "HTTP_WORKERS=2 needs REDIS_URL" in log.read_text()
