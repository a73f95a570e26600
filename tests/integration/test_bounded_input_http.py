"""Bounded input over HTTP (issue 17; security review rows 2, 3, 6, 15 and the compliance gap of
row 16): each hostile input of the review answers a problem, never a 5xx, and appends nothing."""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime, timedelta, timezone
from typing import Any

import asyncpg
import httpx
import pytest

import events.assignments
import events.organisation  # noqa: F401 - registers the organisation's events
from events.store import EventStore
from services.api.app import create_app
from services.api.bodies import MAX_DEPTH
from services.runtime.config import load_settings
from tests.http import api_client
from tests.org import bearer, event_count, make_user

HANOI = timezone(timedelta(hours=7))
NOW = datetime(2026, 3, 2, 9, 0, tzinfo=HANOI)
TREE = {
    "units": [
        {"ref": "tu", "name": "Tỉnh ủy", "short_code": "TU", "kind": "party_committee"},
        {"ref": "vp", "name": "Văn phòng", "short_code": "VPTU", "kind": "other", "parent": "tu"},
        {"ref": "snv", "name": "Sở Nội vụ", "short_code": "SNV", "kind": "department"},
    ]
}


@pytest.fixture
async def ctx(app: Any, pool: asyncpg.Pool[Any], domain_store: EventStore) -> Any:
    return app, pool, domain_store


@pytest.fixture
def app(pool: asyncpg.Pool[Any]) -> Any:
    return create_app(load_settings({}), pool=pool, clock=lambda: NOW)


class World:
    def __init__(self, client: httpx.AsyncClient, pool: asyncpg.Pool[Any]) -> None:
        self.client, self.pool = client, pool
        self.units: dict[str, str] = {}
        self.admin: dict[str, str] = {}
        self.chief: dict[str, str] = {}
        self.officer: dict[str, str] = {}
        self.plan = ""
        self.task = ""

    async def unchanged(self, before: int) -> None:
        assert await event_count(self.pool) == before


async def answer(response: httpx.Response, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    body: dict[str, Any] = response.json()
    return body


@asynccontextmanager
async def opened(app: Any, pool: asyncpg.Pool[Any], store: EventStore) -> AsyncIterator[World]:
    """The app serving a tree (TU above VPTU, SNV beside), an issued plan and one task."""
    domain_store = store
    async with api_client(app) as client:
        w = World(client, pool)
        _, token = await make_user(domain_store, "admin", now=NOW)
        w.admin = bearer(token)
        w.units = (
            await answer(await client.post("/units/import", json=TREE, headers=w.admin), 201)
        )["units"]
        _, token = await make_user(domain_store, "chief", uuid.UUID(w.units["tu"]), now=NOW)
        w.chief = bearer(token)
        _, token = await make_user(domain_store, "officer", uuid.UUID(w.units["vp"]), now=NOW)
        w.officer = bearer(token)
        draft = {"kind": "KH", "issuer_unit_id": w.units["tu"], "title": "Kế hoạch 1"}
        w.plan = (await answer(await client.post("/plans", json=draft, headers=w.chief), 201))["id"]
        issue = {
            "number": "1-KH/TU",
            "place": "Sơn La",
            "signer": {"name": "Nguyễn Văn A", "title": "Bí thư"},
        }
        await answer(await client.post(f"/plans/{w.plan}/issue", json=issue, headers=w.chief), 200)
        task = {
            "item": "1",
            "lead_unit_ids": [w.units["vp"]],
            "text": "Báo cáo",
            "due": "2026-03-20T00:00:00+07:00",
        }
        w.task = (
            await answer(
                await client.post(f"/plans/{w.plan}/assignments", json=task, headers=w.chief), 201
            )
        )["id"]
        yield w


def task_body(**changes: Any) -> dict[str, Any]:
    body = {"item": "2", "lead_unit_ids": [], "text": "Việc", "due": "2026-03-20T00:00:00+07:00"}
    body.update(changes)
    return body


# -- row 2 and row 3: offsets and dates -----------------------------------------------------


@pytest.mark.parametrize("offset", [1_000_000, -1_000_000, 61])
async def test_an_escalation_offset_beyond_sixty_working_days_is_refused(
    ctx: Any, offset: int
) -> None:
    async with opened(*ctx) as world:
        before = await event_count(world.pool)
        policy = [
            {"offset": 0, "action": "miss", "target": "lead"},
            {"offset": offset, "action": "escalate", "target": "report_to"},
        ]
        body = task_body(lead_unit_ids=[world.units["vp"]], escalation_policy=policy)
        response = await world.client.post(
            f"/plans/{world.plan}/assignments", json=body, headers=world.chief
        )
        problem = await answer(response, 422)
        assert problem["type"] == "/problems/invalid-escalation-policy"
        await world.unchanged(before)


@pytest.mark.parametrize(
    "due", ["9999-12-31T23:59:59+07:00", "9999-12-31T23:59:59-12:00", "2101-01-01T00:00:00+07:00"]
)
async def test_a_due_outside_the_window_is_refused_not_a_500(ctx: Any, due: str) -> None:
    async with opened(*ctx) as world:
        before = await event_count(world.pool)
        body = task_body(lead_unit_ids=[world.units["vp"]], due=due)
        response = await world.client.post(
            f"/plans/{world.plan}/assignments", json=body, headers=world.chief
        )
        assert (await answer(response, 422))["type"] == "/problems/date-out-of-range"
        await world.unchanged(before)


async def test_an_extension_to_year_9999_is_refused_at_request_time(ctx: Any) -> None:
    async with opened(*ctx) as world:
        before = await event_count(world.pool)
        response = await world.client.post(
            f"/assignments/{world.task}/extensions",
            json={"requested_due": "9999-12-31T23:59:59+07:00", "reason": "thêm thời gian"},
            headers=world.officer,
        )
        assert (await answer(response, 422))["type"] == "/problems/date-out-of-range"
        await world.unchanged(before)
        # Nothing pending blocks a sound request after it.
        response = await world.client.post(
            f"/assignments/{world.task}/extensions",
            json={"requested_due": "2026-04-01T00:00:00+07:00", "reason": "thêm thời gian"},
            headers=world.officer,
        )
        await answer(response, 201)


# -- row 3 and row 15: bodies ---------------------------------------------------------------


async def test_json_nested_ten_thousand_deep_is_a_400(ctx: Any) -> None:
    async with opened(*ctx) as world:
        before = await event_count(world.pool)
        deep = '{"name": "x", "short_code": "X", "kind": ' + "[" * 10_000 + "]" * 10_000 + "}"
        for path in ("/units", "/units/import", f"/assignments/{world.task}/submissions"):
            response = await world.client.post(
                path, content=deep, headers={**world.admin, "Content-Type": "application/json"}
            )
            assert (await answer(response, 400))["type"] == "/problems/json-too-deep"
        just = "[" * (MAX_DEPTH - 1) + "]" * (MAX_DEPTH - 1)
        response = await world.client.post(
            "/units",
            content='{"name": "x", "short_code": "X", "kind": ' + just + "}",
            headers={**world.admin, "Content-Type": "application/json"},
        )
        assert (await answer(response, 400))["type"] == "/problems/invalid-request"
        await world.unchanged(before)


async def test_duplicate_json_keys_are_a_400(ctx: Any) -> None:
    async with opened(*ctx) as world:
        before = await event_count(world.pool)
        body = '{"name": "Ban A", "short_code": "BA", "short_code": "BB"}'
        response = await world.client.post(
            "/units", content=body, headers={**world.admin, "Content-Type": "application/json"}
        )
        problem = await answer(response, 400)
        assert problem["type"] == "/problems/duplicate-json-key"
        assert "short_code" in problem["detail"]
        nested = json.dumps({"text": "x", "metrics": {}}).replace("{}", '{"a": 1, "a": 2}')
        response = await world.client.post(
            f"/assignments/{world.task}/submissions",
            content=nested,
            headers={**world.officer, "Content-Type": "application/json; charset=utf-8"},
        )
        assert (await answer(response, 400))["type"] == "/problems/duplicate-json-key"
        await world.unchanged(before)


@pytest.mark.parametrize("content_type", ["text/plain", None, "application/x-www-form-urlencoded"])
async def test_only_json_is_parsed_as_json(ctx: Any, content_type: str | None) -> None:
    async with opened(*ctx) as world:
        before = await event_count(world.pool)
        body = json.dumps({"name": "Ban A", "short_code": "BA"}).encode()
        headers = dict(world.admin)
        if content_type:
            headers["Content-Type"] = content_type
        response = await world.client.post("/units", content=body, headers=headers)
        assert (await answer(response, 415))["type"] == "/problems/unsupported-media-type"
        response = await world.client.post("/units/import", content=body, headers=headers)
        assert (await answer(response, 415))["type"] == "/problems/unsupported-media-type"
        await world.unchanged(before)


async def test_csv_is_still_taken_on_the_import(ctx: Any) -> None:
    async with opened(*ctx) as world:
        csv = "ref,name,short_code,kind,parent\nbq,Ban Quản lý,BQL,other,\n"
        response = await world.client.post(
            "/units/import",
            content=csv.encode(),
            headers={**world.admin, "Content-Type": "text/csv"},
        )
        await answer(response, 201)


@pytest.mark.parametrize("name", ["Ban\x07A", "Ban \x1b[2JA", "Ban \u202eA", "\u2067Ban A\u2069"])
async def test_names_with_control_or_bidi_characters_are_refused(ctx: Any, name: str) -> None:
    async with opened(*ctx) as world:
        before = await event_count(world.pool)
        response = await world.client.post(
            "/units", json={"name": name, "short_code": "BA"}, headers=world.admin
        )
        assert (await answer(response, 422))["type"] == "/problems/invalid-name"
        await world.unchanged(before)


@pytest.mark.parametrize("code", ["VРTU", "ＶＰＴＵ", "VPΤU"])
async def test_look_alike_short_codes_beside_a_sibling_are_refused(ctx: Any, code: str) -> None:
    async with opened(*ctx) as world:
        before = await event_count(world.pool)
        body = {"name": "Văn phòng 2", "short_code": code, "parent_id": world.units["tu"]}
        response = await world.client.post("/units", json=body, headers=world.admin)
        problem = await answer(response, 409)
        assert problem["type"] == "/problems/confusable-short-code"
        assert problem["looks_like"] == "VPTU"
        # Renaming a sibling to the look-alike is refused alike.
        response = await world.client.post(
            f"/units/{world.units['snv']}/move",
            json={"parent_id": world.units["tu"]},
            headers=world.admin,
        )
        await answer(response, 200)
        response = await world.client.post(
            f"/units/{world.units['snv']}/rename",
            json={"name": "Sở Nội vụ", "short_code": code},
            headers=world.admin,
        )
        assert (await answer(response, 409))["type"] == "/problems/confusable-short-code"
        # Elsewhere in the tree the same code is nobody's look-alike.
        body = {"name": "Văn phòng 2", "short_code": code}
        await answer(await world.client.post("/units", json=body, headers=world.admin), 201)
        assert await event_count(world.pool) == before + 2


@pytest.mark.parametrize(
    "metrics",
    [{"models": -1}, {f"m{i}": 1 for i in range(10_000)}, {f"m{i}": 1 for i in range(101)}],
)
async def test_negative_or_too_many_metrics_are_refused(ctx: Any, metrics: dict[str, int]) -> None:
    async with opened(*ctx) as world:
        before = await event_count(world.pool)
        response = await world.client.post(
            f"/assignments/{world.task}/submissions",
            json={"text": "Kết quả", "metrics": metrics},
            headers=world.officer,
        )
        assert (await answer(response, 422))["type"] == "/problems/invalid-metrics"
        await world.unchanged(before)


# -- row 6: request, correlation and causation ids -------------------------------------------

HOSTILE_IDS = [
    "<script>alert(1)</script>" + "x" * 7_000,
    "a" * 101,
    "id with spaces",
    "id;drop table",
]


@pytest.mark.parametrize("hostile", HOSTILE_IDS)
async def test_an_ill_formed_causation_id_is_never_stored(ctx: Any, hostile: str) -> None:
    async with opened(*ctx) as world:
        headers = {
            **world.officer,
            "X-Causation-ID": hostile,
            "X-Correlation-ID": hostile,
            "X-Request-ID": hostile,
        }
        response = await world.client.post(
            f"/assignments/{world.task}/progress",
            json={"percent": 10, "note": "đang làm"},
            headers=headers,
        )
        await answer(response, 200)
        assert hostile not in response.headers.get("x-request-id", "")
        assert hostile not in response.headers.get("x-correlation-id", "")
        metadata = await world.pool.fetchval(
            "SELECT metadata::text FROM events ORDER BY position DESC LIMIT 1"
        )
        assert "<script>" not in metadata and "x" * 100 not in metadata
        stored = json.loads(metadata)
        assert stored.get("causation_id") is None
        assert stored["request_id"] == response.headers["x-request-id"]


async def test_well_formed_ids_are_kept_as_before(ctx: Any) -> None:
    async with opened(*ctx) as world:
        headers = {
            **world.officer,
            "X-Causation-ID": "evt:42",
            "X-Correlation-ID": "corr-1",
            "X-Request-ID": "req.1",
        }
        response = await world.client.post(
            f"/assignments/{world.task}/progress",
            json={"percent": 20, "note": "tiếp"},
            headers=headers,
        )
        await answer(response, 200)
        assert response.headers["x-request-id"] == "req.1"
        assert response.headers["x-correlation-id"] == "corr-1"
        stored = json.loads(
            await world.pool.fetchval(
                "SELECT metadata::text FROM events ORDER BY position DESC LIMIT 1"
            )
        )
        assert (stored["causation_id"], stored["correlation_id"], stored["request_id"]) == (
            "evt:42",
            "corr-1",
            "req.1",
        )


@pytest.mark.parametrize("path", ["/no/such/route", "/units", "/plans/not-a-uuid"])
async def test_ids_are_validated_on_every_route_unmatched_ones_included(
    ctx: Any, path: str
) -> None:
    async with opened(*ctx) as world:
        hostile = "<script>alert(1)</script>"
        for method in ("GET", "DELETE"):
            response = await world.client.request(
                method, path, headers={**world.chief, "X-Request-ID": hostile}
            )
            assert response.status_code < 500
            assert hostile not in response.text
            assert hostile not in response.headers.get("x-request-id", "")
            if response.headers.get("content-type", "").startswith("application/problem+json"):
                assert response.json()["request_id"] == response.headers["x-request-id"]


# -- row 16: compliance over a period ---------------------------------------------------------


async def test_compliance_from_after_to_is_a_400(ctx: Any) -> None:
    async with opened(*ctx) as world:
        response = await world.client.get(
            f"/units/{world.units['tu']}/compliance",
            params={"from": "2026-03-01T00:00:00+07:00", "to": "2026-01-01T00:00:00+07:00"},
            headers=world.chief,
        )
        assert (await answer(response, 400))["type"] == "/problems/invalid-period"
        response = await world.client.get(
            f"/units/{world.units['tu']}/compliance",
            params={"from": "2026-01-01T00:00:00+07:00", "to": "2026-03-01T00:00:00+07:00"},
            headers=world.chief,
        )
        await answer(response, 200)


@pytest.mark.parametrize(
    "nobody", ["00000000-0000-0000-0000-000000000000", "ffffffff-ffff-ffff-ffff-ffffffffffff"]
)
async def test_the_nil_uuid_is_nobodys_id(ctx: Any, nobody: str) -> None:
    # Review row 15: a nil UUID as `id` was accepted.
    async with opened(*ctx) as world:
        before = await event_count(world.pool)
        body = {"name": "Ban A", "short_code": "BA", "id": nobody}
        response = await world.client.post("/units", json=body, headers=world.admin)
        assert (await answer(response, 422))["type"] == "/problems/invalid-id"
        draft = {"kind": "KH", "issuer_unit_id": world.units["tu"], "title": "K", "id": nobody}
        response = await world.client.post("/plans", json=draft, headers=world.chief)
        assert (await answer(response, 422))["type"] == "/problems/invalid-id"
        tree = {"units": [{"ref": "a", "name": "Ban A", "short_code": "BA", "id": nobody}]}
        response = await world.client.post("/units/import", json=tree, headers=world.admin)
        assert (await answer(response, 422))["type"] == "/problems/invalid-import"
        await world.unchanged(before)
