"""The operator's commands: `campaign users ...` and `campaign units import`."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import asyncpg

from services.api.app import create_app
from services.runtime.config import load_settings
from tests.cli import campaign
from tests.http import api_client


async def test_users_add_prints_a_working_token_alone_on_its_last_line(
    dsn: str, pool: asyncpg.Pool[Any], tmp_path: Path
) -> None:
    added = campaign(
        dsn, "users", "add", "Đoàn Văn Tú", "--role", "admin", "--email", "tu@example.vn"
    )
    assert added.returncode == 0, added.stderr
    token = added.stdout.strip().splitlines()[-1]
    assert token.startswith("clt_") and " " not in token

    tree = tmp_path / "son-la.json"
    tree.write_text(
        json.dumps(
            {
                "units": [
                    {
                        "ref": "cb",
                        "name": "Chi bộ Sở Nội vụ",
                        "short_code": "CBSNV",
                        "kind": "party_cell",
                    },
                    {"ref": "vp", "name": "Văn phòng Sở", "short_code": "VP", "parent": "cb"},
                ]
            }
        ),
        encoding="utf-8",
    )
    imported = campaign(dsn, "units", "import", str(tree))
    assert imported.returncode == 0, imported.stderr
    assert "imported 2 units" in imported.stdout

    chief = campaign(dsn, "users", "add", "Cán bộ", "--role", "chief", "--unit", "CBSNV")
    assert chief.returncode == 0, chief.stderr
    listed = campaign(dsn, "users", "list")
    assert "Đoàn Văn Tú" in listed.stdout and "chief@" in listed.stdout

    app = create_app(load_settings({}), pool=pool)
    async with api_client(app) as client:
        units = await client.get(
            "/units", params={"q": "so noi vu"}, headers={"Authorization": f"Bearer {token}"}
        )
    assert units.status_code == 200
    assert [u["short_code"] for u in units.json()["items"]] == ["CBSNV"]


async def test_erasing_a_user_removes_personal_data_and_keeps_the_events(
    dsn: str, pool: asyncpg.Pool[Any]
) -> None:
    added = campaign(
        dsn, "users", "add", "Nguyễn Thị Lan", "--role", "admin", "--phone", "0912 345 678"
    )
    user_id = added.stdout.split()[1]
    events_before = await pool.fetchval(
        "SELECT count(*) FROM events WHERE stream_id = $1", f"user-{user_id}"
    )
    erased = campaign(dsn, "users", "erase", user_id)
    assert erased.returncode == 0, erased.stderr
    person = await pool.fetchrow(
        "SELECT name, email, phone, erased_at FROM users WHERE user_id = $1::uuid", user_id
    )
    assert (person["name"], person["phone"]) == (None, None) and person["erased_at"]
    assert (
        await pool.fetchval("SELECT count(*) FROM events WHERE stream_id = $1", f"user-{user_id}")
        == events_before
        == 2
    )
    assert "Nguyễn" not in str(await pool.fetch("SELECT data, metadata FROM events"))
    token = added.stdout.strip().splitlines()[-1]
    app = create_app(load_settings({}), pool=pool)
    async with api_client(app) as client:
        refused = await client.get("/units", headers={"Authorization": f"Bearer {token}"})
    assert refused.status_code == 401


def test_refusals_at_the_command_line_are_plain_and_exit_non_zero(dsn: str) -> None:
    refused = campaign(dsn, "users", "add", "X", "--role", "chief")
    assert refused.returncode == 1 and "pass --unit" in refused.stderr
    missing = campaign(dsn, "units", "import", "/nonexistent.json")
    assert missing.returncode == 1 and "cannot read" in missing.stderr
    revoke = campaign(
        dsn,
        "users",
        "revoke",
        "00000000-0000-0000-0000-000000000000",
        "00000000-0000-0000-0000-000000000001",
    )
    assert revoke.returncode == 1 and "[unknown-user]" in revoke.stderr
