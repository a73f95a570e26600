"""Personal data after an erase (security review row 18): the tokens' labels go with the name,
and an erased user takes no new role."""

from __future__ import annotations

import uuid
from typing import Any

import asyncpg

from events.store import EventStore
from services.api.app import create_app
from services.runtime.config import load_settings
from tests.http import api_client
from tests.org import bearer, event_count, make_user


async def test_erasing_a_user_clears_token_labels_and_refuses_new_roles(
    pool: asyncpg.Pool[Any], domain_store: EventStore
) -> None:
    app = create_app(load_settings({}), pool=pool)
    _, admin_token = await make_user(domain_store, "admin")
    admin = bearer(admin_token)
    async with api_client(app) as client:
        unit = (
            await client.post(
                "/units",
                headers=admin,
                json={"name": "Chi bộ", "short_code": "CB", "kind": "party_cell"},
            )
        ).json()["id"]
        person, _ = await make_user(domain_store, "officer", uuid.UUID(unit))
        issued = await client.post(
            f"/users/{person}/tokens",
            headers=admin,
            json={"days": 30, "label": "laptop of Nguyễn Văn A a@example.vn"},
        )
        assert issued.status_code == 201, issued.text
        erased = await client.delete(f"/users/{person}/personal-data", headers=admin)
        assert erased.status_code == 200, erased.text

        labels = await pool.fetch("SELECT label FROM api_tokens WHERE user_id = $1", person)
        assert len(labels) == 2 and [row["label"] for row in labels] == [None, None]

        before = await event_count(pool)
        for role, where in (("chief", unit), ("admin", None)):
            granted = await client.post(
                f"/users/{person}/roles", headers=admin, json={"role": role, "unit_id": where}
            )
            assert (granted.status_code, granted.json()["type"]) == (
                422,
                "/problems/user-erased",
            ), granted.text
        assert await event_count(pool) == before


async def test_an_invalid_token_reads_alike_whatever_the_reason(
    pool: asyncpg.Pool[Any], domain_store: EventStore
) -> None:
    """Review row 14: the 401 did tell a revoked token from an expired one or an erased user's."""
    from datetime import UTC, datetime, timedelta

    from services.handlers.auth import issue_token

    app = create_app(load_settings({}), pool=pool)
    _, admin_token = await make_user(domain_store, "admin")
    admin = bearer(admin_token)
    revoked_user, _ = await make_user(domain_store, "admin")
    revoked_id, revoked, _ = await issue_token(pool, revoked_user, datetime.now(UTC), days=1)
    _, expired = await make_user(
        domain_store, "admin", days=1, now=datetime.now(UTC) - timedelta(days=2)
    )
    erased_user, erased = await make_user(domain_store, "admin")
    async with api_client(app) as client:
        await client.delete(f"/users/{revoked_user}/tokens/{revoked_id}", headers=admin)
        await client.delete(f"/users/{erased_user}/personal-data", headers=admin)
        answers = [
            await client.get("/units", headers=bearer(token))
            for token in ("clt_" + "x" * 40, revoked, expired, erased)
        ]
    assert [a.status_code for a in answers] == [401] * 4
    assert len({a.json()["detail"] for a in answers}) == 1, [a.json() for a in answers]
