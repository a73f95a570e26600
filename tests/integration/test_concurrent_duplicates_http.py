"""Concurrent duplicates under one Idempotency-Key all get the first answer, whatever the
command reserved (a unit's short code, a document's number): the key is looked up before a
taken reservation becomes a refusal (issue 18)."""

from __future__ import annotations

import asyncio
from typing import Any

import asyncpg
import httpx
import pytest

import events.organisation  # noqa: F401 - registers the organisation's events
from events.store import EventStore
from services.api.app import create_app
from services.runtime.config import load_settings
from tests.http import api_client
from tests.org import bearer, event_count, make_user

DUPLICATES = 8


@pytest.fixture
def app(pool: asyncpg.Pool[Any]) -> Any:
    return create_app(load_settings({}), pool=pool)


async def concurrently(
    client: httpx.AsyncClient, path: str, body: Any, headers: dict[str, str]
) -> list[httpx.Response]:
    """DUPLICATES requests sent at once, released together."""
    gate = asyncio.Event()

    async def one() -> httpx.Response:
        await gate.wait()
        return await client.post(path, json=body, headers=headers)

    tasks = [asyncio.create_task(one()) for _ in range(DUPLICATES)]
    await asyncio.sleep(0)
    gate.set()
    return await asyncio.gather(*tasks)


def assert_identical(answers: list[httpx.Response], status: int) -> None:
    firsts = [(a.status_code, a.json()) for a in answers]
    assert all(code == status for code, _ in firsts), [a.text for a in answers]
    assert all(body == firsts[0][1] for _, body in firsts), firsts


async def test_concurrent_duplicates_of_a_new_unit_get_the_first_answer(
    app: Any, domain_store: EventStore, pool: asyncpg.Pool[Any]
) -> None:
    _, token = await make_user(domain_store, "admin")
    admin = bearer(token)
    body = {"name": "Sở Nội vụ", "short_code": "SNV", "kind": "department"}
    async with api_client(app) as client:
        for trial in range(5):
            before = await event_count(pool)
            headers = {**admin, "Idempotency-Key": f"units-{trial}"}
            answers = await concurrently(
                client, "/units", {**body, "short_code": f"SNV{trial}"}, headers
            )
            assert_identical(answers, 201)
            assert await event_count(pool) == before + 1
        # Without the key a duplicate is still what it is: a taken short code.
        taken = await client.post("/units", json={**body, "short_code": "SNV0"}, headers=admin)
        assert taken.status_code == 409
        assert taken.json()["type"] == "/problems/duplicate-short-code"


async def test_concurrent_duplicates_of_an_issue_get_the_first_answer(
    app: Any, domain_store: EventStore, pool: asyncpg.Pool[Any]
) -> None:
    _, token = await make_user(domain_store, "admin")
    admin = bearer(token)
    async with api_client(app) as client:
        cell = await client.post(
            "/units",
            json={"name": "Chi bộ Cơ sở", "short_code": "CB", "kind": "party_cell"},
            headers=admin,
        )
        assert cell.status_code == 201, cell.text
        for trial in range(3):
            drafted = await client.post(
                "/plans",
                json={
                    "kind": "KH",
                    "title": f"Kế hoạch tuyên truyền {trial}",
                    "issuer_unit_id": cell.json()["id"],
                },
                headers=admin,
            )
            assert drafted.status_code == 201, drafted.text
            plan = drafted.json()["id"]
            number = {
                "number": f"33{trial}-KH/CB",
                "place": "Sơn La",
                "issued_on": "12/10/2022",
                "signer": {
                    "name": "Đoàn Văn Tú",
                    "title": "Bí thư",
                    "authority": "TM",
                    "on_behalf_of": "Chi bộ",
                },
            }
            before = await event_count(pool)
            headers = {**admin, "Idempotency-Key": f"issue-{trial}"}
            answers = await concurrently(client, f"/plans/{plan}/issue", number, headers)
            assert_identical(answers, 200)
            assert await event_count(pool) == before + 1
