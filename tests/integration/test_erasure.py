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
