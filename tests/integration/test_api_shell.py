"""The HTTP shell: health, metrics, OpenAPI and problem details for every error."""

from __future__ import annotations

from typing import Any

import asyncpg
import pytest
from litestar import Litestar

from events.store import create_pool
from services.api.app import create_app
from services.runtime.config import load_settings
from tests.http import api_client


@pytest.fixture
def app(pool: asyncpg.Pool[Any]) -> Litestar:
    return create_app(load_settings({}), pool=pool)


async def test_live_and_ready_answer_when_the_database_does(
    app: Litestar,
) -> None:
    async with api_client(app) as client:
        live = await client.get("/health/live")
        assert live.status_code == 200 and live.json() == {"status": "live"}
        ready = await client.get("/health/ready")
        assert ready.status_code == 200, ready.text
        assert ready.json() == {"status": "ready", "role": "api", "checks": {"database": "ok"}}


async def test_ready_fails_with_a_problem_when_the_database_is_gone(dsn: str) -> None:
    pool = await create_pool(dsn, min_size=1, max_size=1)
    app = create_app(load_settings({}), pool=pool)
    async with api_client(app) as client:
        assert (await client.get("/health/ready")).status_code == 200
        await pool.close()
        ready = await client.get("/health/ready")
    assert ready.status_code == 503
    assert ready.headers["content-type"].startswith("application/problem+json")
    body = ready.json()
    assert body["type"] == "/problems/not-ready"
    assert body["checks"]["database"].startswith("failing")


async def test_errors_are_problem_details_with_a_stable_type_and_the_request_id(
    app: Litestar,
) -> None:
    async with api_client(app) as client:
        missing = await client.get("/no/such/thing", headers={"X-Request-ID": "req-42"})
        assert missing.status_code == 404
        assert missing.headers["content-type"].startswith("application/problem+json")
        assert missing.headers["x-request-id"] == "req-42"
        body = missing.json()
        assert body["type"] == "/problems/not-found" and body["status"] == 404
        assert body["instance"] == "/no/such/thing" and body["request_id"] == "req-42"

        wrong_method = await client.delete("/health/live")
        assert wrong_method.status_code == 405
        assert wrong_method.json()["type"] == "/problems/method-not-allowed"


async def test_metrics_count_requests_by_route_and_status(
    app: Litestar,
) -> None:
    async with api_client(app) as client:
        await client.get("/health/ready")
        await client.get("/health/live")
        metrics = (await client.get("/metrics")).text
        assert (
            'campaign_http_requests_total{app_name="campaign-ledger",method="GET",'
            'path="/health/ready",status_code="200"}' in metrics
        )
        assert "campaign_http_request_duration_seconds_bucket" in metrics
        assert (
            "campaign_store_appends_total" in metrics or "campaign_store_append_seconds" in metrics
        )


async def test_the_openapi_document_is_served_locally(app: Litestar) -> None:
    async with api_client(app) as client:
        schema = await client.get("/schema/openapi.json")
        assert schema.status_code == 200
        assert schema.json()["info"]["title"] == "Campaign Ledger"
        assert "/health/ready" in schema.json()["paths"]
