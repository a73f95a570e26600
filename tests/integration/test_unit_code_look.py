"""Look-alike short codes are found by their look (migration 0016), among any number of
siblings, by every command that gives a unit a code or a place, and for units registered
before the look was kept."""

from __future__ import annotations

from typing import Any

import asyncpg
import pytest

import events.organisation  # noqa: F401 - registers the organisation's events
from events.store import EventStore
from services.api.app import create_app
from services.ops.migrate import migrate_and_rebuild
from services.runtime.config import load_settings
from tests.http import api_client, ok
from tests.org import bearer, event_count, make_user

CYRILLIC_VPTU = "VРTU"  # the second letter is Cyrillic Er


@pytest.fixture
def app(pool: asyncpg.Pool[Any]) -> Any:
    return create_app(load_settings({}), pool=pool)


async def register(client: Any, admin: dict[str, str], code: str, parent: str | None) -> Any:
    body = {"name": f"Đơn vị {code}", "short_code": code, "parent_id": parent}
    return await client.post("/units", json=body, headers=admin)


async def test_a_look_alike_is_found_among_hundreds_of_siblings_by_each_command(
    app: Any, domain_store: EventStore, pool: asyncpg.Pool[Any]
) -> None:
    _, token = await make_user(domain_store, "admin")
    admin = bearer(token)
    async with api_client(app) as client:
        province = (await ok(await register(client, admin, "TU", None), 201))["id"]
        other = (await ok(await register(client, admin, "TU2", None), 201))["id"]
        rows = [
            {"ref": f"x{n}", "name": f"Ban {n}", "short_code": f"B{n}", "parent": province}
            for n in range(300)
        ]
        rows.append({"ref": "vp", "name": "Văn phòng", "short_code": "VPTU", "parent": province})
        await ok(await client.post("/units/import", json={"units": rows}, headers=admin), 201)
        stray = (await ok(await register(client, admin, CYRILLIC_VPTU, other), 201))["id"]
        before = await event_count(pool)

        refused = await register(client, admin, CYRILLIC_VPTU, province)
        assert (refused.status_code, refused.json()["looks_like"]) == (409, "VPTU")
        moved = await client.post(
            f"/units/{stray}/move", json={"parent_id": province}, headers=admin
        )
        assert (moved.status_code, moved.json()["type"]) == (
            409,
            "/problems/confusable-short-code",
        )
        renamed = await client.post(
            "/units/"
            + (
                await pool.fetchval(
                    "SELECT unit_id::text FROM unit_directory WHERE short_code = 'B7'"
                )
            )
            + "/rename",
            json={"name": "Ban 7", "short_code": "ＶＰＴＵ"},  # full-width
            headers=admin,
        )
        assert renamed.json()["looks_like"] == "VPTU"
        imported = await client.post(
            "/units/import",
            json={"units": [{"ref": "a", "name": "x", "short_code": "VPΤU", "parent": province}]},
            headers=admin,
        )  # Greek Tau
        assert (imported.status_code, imported.json()["looks_like"]) == (409, "VPTU")
        assert await event_count(pool) == before

        # A code unlike every sibling's is taken, and one that is not a code is refused as such.
        await ok(await register(client, admin, "VPTU-2", province), 201)
        invalid = await register(client, admin, "VP TU!", province)
        assert invalid.json()["type"] == "/problems/invalid-short-code"


async def test_units_registered_before_migration_0016_have_their_look_filled(
    app: Any, domain_store: EventStore, pool: asyncpg.Pool[Any], dsn: str
) -> None:
    _, token = await make_user(domain_store, "admin")
    admin = bearer(token)
    async with api_client(app) as client:
        province = (await ok(await register(client, admin, "TU", None), 201))["id"]
        await ok(await register(client, admin, "VPTU", province), 201)
        # The database as it stood before 0016 landed.
        await pool.execute(
            "DROP INDEX unit_directory_by_look, unit_directory_root_look; "
            "ALTER TABLE unit_directory DROP COLUMN code_look; "
            "DELETE FROM schema_migrations WHERE version = 16"
        )
        report = await migrate_and_rebuild(dsn)
        assert report.applied == ["0016_unit_code_look"]
        assert report.rebuilds == ["unit_directory"]
        looks = await pool.fetch("SELECT short_code, code_look FROM unit_directory ORDER BY 1")
        assert [tuple(r) for r in looks] == [("TU", "TU"), ("VPTU", "VPTU")]
        refused = await register(client, admin, CYRILLIC_VPTU, province)
        assert refused.json()["type"] == "/problems/confusable-short-code"


async def test_a_row_written_without_its_look_is_still_compared(
    app: Any, domain_store: EventStore, pool: asyncpg.Pool[Any]
) -> None:
    """During a rolling upgrade a process older than 0016 writes rows with no look."""
    _, token = await make_user(domain_store, "admin")
    admin = bearer(token)
    async with api_client(app) as client:
        province = (await ok(await register(client, admin, "TU", None), 201))["id"]
        await ok(await register(client, admin, "VPTU", province), 201)
        await pool.execute("UPDATE unit_directory SET code_look = '' WHERE short_code = 'VPTU'")
        refused = await register(client, admin, CYRILLIC_VPTU, province)
        assert (refused.status_code, refused.json()["looks_like"]) == (409, "VPTU")
