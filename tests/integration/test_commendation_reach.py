"""Who may commend (security review row 5): a chief of a unit above the model's unit, at the
level of that unit's tier; a sibling, another province or a level not the unit's is refused
and appends nothing."""

from __future__ import annotations

import uuid
from typing import Any

import asyncpg

from events.store import EventStore
from services.api.app import create_app
from services.runtime.config import load_settings
from tests.http import api_client
from tests.org import bearer, event_count, make_user

TREE = [
    {"ref": "p1", "name": "Thành ủy Một", "short_code": "TU1", "kind": "party_committee"},
    {"ref": "d", "name": "Quận ủy", "short_code": "QU", "kind": "district", "parent": "p1"},
    {"ref": "c", "name": "Chi bộ", "short_code": "CB", "kind": "party_cell", "parent": "d"},
    {"ref": "c2", "name": "Chi bộ hai", "short_code": "CB2", "kind": "party_cell", "parent": "d"},
    {"ref": "g", "name": "Tổ đảng", "short_code": "TĐ", "kind": "party_group", "parent": "c"},
    {"ref": "p2", "name": "Tỉnh ủy Hai", "short_code": "TU2", "kind": "party_committee"},
]


async def test_only_a_chief_above_commends_and_only_at_the_tier_of_the_unit(
    pool: asyncpg.Pool[Any], domain_store: EventStore
) -> None:
    app = create_app(load_settings({}), pool=pool)
    _, admin_token = await make_user(domain_store, "admin")
    async with api_client(app) as client:
        units = (
            await client.post("/units/import", headers=bearer(admin_token), json={"units": TREE})
        ).json()["units"]
        chiefs = {}
        for ref in ("p1", "d", "c", "c2", "g", "p2"):
            _, token = await make_user(domain_store, "chief", uuid.UUID(units[ref]))
            chiefs[ref] = bearer(token)
        model = (
            await client.post(
                "/models",
                headers=chiefs["g"],
                json={
                    "unit_id": units["g"],
                    "year": 2022,
                    "field": "Dân vận khéo",
                    "kind": "collective",
                    "title": "Mô hình",
                },
            )
        ).json()["id"]

        def commend(level: str, by: str) -> dict[str, str]:
            return {"level": level, "by_unit_id": units[by], "citation": "Tuyên dương"}

        refused = [
            ("c2", "national", "commender-not-above"),  # a sibling unit's chief, at national
            ("c2", "grassroots", "commender-not-above"),  # a sibling at its own tier
            ("p2", "provincial", "commender-not-above"),  # a chief of another province
            ("g", "grassroots", "commender-not-above"),  # the model's own unit
            ("c", "national", "level-not-of-tier"),
            ("c", "district", "level-not-of-tier"),
            ("d", "grassroots", "level-not-of-tier"),
            ("p1", "national", "level-not-of-tier"),
        ]
        before = await event_count(pool)
        for by, level, problem in refused:
            answer = await client.post(
                f"/models/{model}/commendations", headers=chiefs[by], json=commend(level, by)
            )
            assert (answer.status_code, answer.json()["type"]) == (422, f"/problems/{problem}"), (
                by,
                level,
                answer.text,
            )
        assert await event_count(pool) == before

        for by, level in (("c", "grassroots"), ("d", "district"), ("p1", "provincial")):
            answer = await client.post(
                f"/models/{model}/commendations", headers=chiefs[by], json=commend(level, by)
            )
            assert answer.status_code == 200, (by, level, answer.text)
        listed = (
            await client.get("/models", params={"unit": units["g"]}, headers=chiefs["g"])
        ).json()["items"]
        assert [m["commendations"] for m in listed] == [["grassroots", "district", "provincial"]]
