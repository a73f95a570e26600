"""A CSV unit import that cannot be taken: each fault a clear problem, and nothing appended."""

from __future__ import annotations

from typing import Any

import asyncpg
import pytest

import events.organisation  # noqa: F401 - registers the organisation's events
from events.store import EventStore
from services.api.app import create_app
from services.runtime.config import load_settings
from tests.http import api_client
from tests.org import bearer, event_count, make_user

HEADER = "ref,name,short_code,kind,parent\n"
BAN = "btg,Ban Tuyên giáo Tỉnh ủy,BTGTU,party_board,\n"

FAULTS = [
    pytest.param(b"", 422, "invalid-import", "needs the columns ref, name, short_code", id="empty"),
    pytest.param(
        "reference,name,code\nbtg,Ban Tuyên giáo,BTG\n".encode(),
        422,
        "invalid-import",
        "needs the columns ref, name, short_code",
        id="header-without-ref",
    ),
    pytest.param(
        "ref,name,short_code,colour\nbtg,Ban Tuyên giáo,BTG,đỏ\n".encode(),
        422,
        "invalid-import",
        "unknown column(s): colour",
        id="unknown-column",
    ),
    pytest.param(HEADER.encode(), 422, "empty-import", "the file names no unit", id="header-only"),
    pytest.param(
        (HEADER + BAN + "bdv,Ban Dân vận,BDV,spaceship,\n").encode(),
        422,
        "invalid-import",
        "line 3: Invalid enum value 'spaceship' - at `$.kind`",
        id="bad-kind-on-line-3",
    ),
    pytest.param(
        (HEADER + BAN + "bdv,,BDV,party_board,\n").encode(),
        422,
        "invalid-import",
        "line 3: Object missing required field `name`",
        id="row-without-name",
    ),
    pytest.param(
        (HEADER + BAN + "bdv,Ban Dân vận,BTGTU,party_board,\n").encode(),
        409,
        "duplicate-short-code",
        "BTGTU",
        id="duplicate-code",
    ),
    pytest.param(
        (HEADER + BAN + "btg,Ban Dân vận,BDV,party_board,\n").encode(),
        422,
        "duplicate-ref",
        "ref 'btg' appears twice",
        id="duplicate-ref",
    ),
    pytest.param(
        (HEADER + BAN + "bdv,Ban Dân vận,BDV,party_board,tinh-uy\n").encode(),
        422,
        "unknown-parent",
        "parent 'tinh-uy' is neither a ref in the file nor a unit id",
        id="parent-neither-ref-nor-id",
    ),
    pytest.param(
        (
            HEADER + BAN + "bdv,Ban Dân vận,BDV,party_board,9b2f8a0e-0000-4000-8000-000000000001\n"
        ).encode(),
        422,
        "unknown-parent",
        "row 'bdv'",
        id="parent-id-of-no-unit",
    ),
    pytest.param(
        (HEADER + BAN).encode("utf-16"),  # as Excel saves "Unicode Text"
        400,
        "invalid-import",
        "the CSV file is not UTF-8",
        id="utf-16",
    ),
]


@pytest.mark.parametrize(("body", "status", "problem", "detail"), FAULTS)
async def test_a_faulty_csv_import_is_refused_whole(
    domain_store: EventStore,
    pool: asyncpg.Pool[Any],
    body: bytes,
    status: int,
    problem: str,
    detail: str,
) -> None:
    _, token = await make_user(domain_store, "admin")
    before = await event_count(pool)
    async with api_client(create_app(load_settings({}), pool=pool)) as client:
        answer = await client.post(
            "/units/import",
            content=body,
            headers={**bearer(token), "Content-Type": "text/csv; charset=utf-8"},
        )
        assert answer.status_code == status, answer.text
        assert answer.headers["content-type"] == "application/problem+json"
        found = answer.json()
        assert found["type"] == f"/problems/{problem}" and found["status"] == status
        assert detail in found["detail"]
        assert found["instance"] == "/units/import"
        listed = await client.get("/units", headers=bearer(token))
    assert listed.json()["items"] == []
    assert await event_count(pool) == before


async def test_a_csv_import_with_a_byte_order_mark_and_an_existing_parent_is_taken(
    domain_store: EventStore, pool: asyncpg.Pool[Any]
) -> None:
    _, token = await make_user(domain_store, "admin")
    async with api_client(create_app(load_settings({}), pool=pool)) as client:
        province = await client.post(
            "/units",
            json={"name": "Tỉnh ủy Sơn La", "short_code": "TUSL", "kind": "party_committee"},
            headers=bearer(token),
        )
        parent = province.json()["id"]
        csv = f"{HEADER}btg,Ban Tuyên giáo Tỉnh ủy,BTGTU,party_board,{parent}\n"
        answer = await client.post(
            "/units/import",
            content=csv.encode("utf-8-sig"),  # as Excel saves "CSV UTF-8"
            headers={**bearer(token), "Content-Type": "text/csv"},
        )
        assert answer.status_code == 201, answer.text
        board = answer.json()["units"]["btg"]
        unit = (await client.get(f"/units/{board}", headers=bearer(token))).json()
    assert (unit["short_code"], unit["parent_id"]) == ("BTGTU", parent)
