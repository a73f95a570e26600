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


async def test_a_role_is_granted_revoked_and_a_new_token_issued_at_the_command_line(
    dsn: str, pool: asyncpg.Pool[Any], tmp_path: Path
) -> None:
    tree = tmp_path / "tree.txt"  # not named .csv: --format says what it is
    tree.write_text(
        "ref,name,short_code,kind,parent\n"
        "tu,Tỉnh ủy Sơn La,TUSL,party_committee,\n"
        "snv,Sở Nội vụ,SNV,department,tu\n",
        encoding="utf-8",
    )
    imported = campaign(dsn, "units", "import", str(tree), "--format", "csv")
    assert imported.returncode == 0, imported.stderr
    assert "imported 2 units" in imported.stdout
    snv = await pool.fetchval("SELECT unit_id FROM unit_directory WHERE short_code = 'SNV'")
    added = campaign(dsn, "users", "add", "Lò Văn A")
    assert added.returncode == 0, added.stderr
    user = added.stdout.split()[1]
    first_token = added.stdout.strip().splitlines()[-1]
    compliance = f"/units/{snv}/compliance"

    granted = campaign(dsn, "users", "grant", user, "--role", "chief", "--unit", "SNV")
    assert granted.returncode == 0, granted.stderr
    role_id = granted.stdout.strip().removesuffix(")").rsplit(" ", 1)[-1]
    assert f"{user}  Lò Văn A  chief@{snv} ({role_id})" in campaign(dsn, "users", "list").stdout
    app = create_app(load_settings({}), pool=pool)
    async with api_client(app) as client:
        as_chief = await client.get(compliance, headers={"Authorization": f"Bearer {first_token}"})
        assert as_chief.status_code == 200, as_chief.text

        revoked = campaign(dsn, "users", "revoke", user, role_id)
        assert revoked.returncode == 0, revoked.stderr
        assert revoked.stdout.strip() == f"revoked role {role_id}"
        assert f"{user}  Lò Văn A  -" in campaign(dsn, "users", "list").stdout

        issued = campaign(dsn, "users", "token", user, "--days", "7")
        assert issued.returncode == 0, issued.stderr
        second_token = issued.stdout.strip().splitlines()[-1]
        assert second_token.startswith("clt_") and second_token != first_token
        for token in (first_token, second_token):  # both sign in; neither reads the Sở now
            refused = await client.get(compliance, headers={"Authorization": f"Bearer {token}"})
            assert refused.status_code == 403, refused.text


def test_what_the_command_line_cannot_name_or_find_is_refused_plainly(
    dsn: str, tmp_path: Path
) -> None:
    nobody = "00000000-0000-4000-8000-000000000000"
    utf16 = tmp_path / "units.csv"
    utf16.write_text("ref,name,short_code\ntu,Tỉnh ủy,TU\n", encoding="utf-16")
    cases = {
        ("users", "add", "X", "--role", "chief", "--unit", "NOWHERE"): "names 0 active units",
        ("users", "grant", "not-a-user", "--role", "admin"): "'not-a-user' is not a user id",
        ("users", "grant", nobody, "--role", "admin"): "[unknown-user]",
        ("users", "erase", nobody): f"no user {nobody}",
        ("users", "token", "x"): "'x' is not a user id",
        ("units", "import", str(utf16)): f"{utf16} is not UTF-8",
        ("terms", "set", "NOWHERE", "2020-10-15", "2025-10-15"): "names 0 active units",
    }
    for args, message in cases.items():
        answer = campaign(dsn, *args)
        assert (answer.returncode, answer.stdout) == (1, ""), args
        assert answer.stderr.startswith("error: ") and message in answer.stderr, answer.stderr


def test_a_term_that_cannot_be_is_refused_at_the_command_line(dsn: str, tmp_path: Path) -> None:
    tree = tmp_path / "cell.json"
    tree.write_text(
        json.dumps({"units": [{"ref": "cb", "name": "Chi bộ", "short_code": "CB"}]}),
        encoding="utf-8",
    )
    assert campaign(dsn, "units", "import", str(tree)).returncode == 0
    empty = campaign(dsn, "terms", "list")
    assert empty.stdout.startswith("no terms set: every unit uses five-year terms")
    labelled = campaign(dsn, "terms", "set", "CB", "2020-10-15", "2025-10-15", "--label", "XV")
    assert labelled.returncode == 0, labelled.stderr
    assert labelled.stdout.startswith("term XV of ")
    cases = {
        ("2020-10-15", "15/10/2025"): "dates are YYYY-MM-DD",
        ("2025-10-15", "2020-10-15"): "a term ends after it starts",
        ("2020-10-15", "2020-10-15"): "a term ends after it starts",
        ("2023-01-01", "2027-01-01"): "overlap",
    }
    for (starts, ends), message in cases.items():
        answer = campaign(dsn, "terms", "set", "CB", starts, ends)
        assert answer.returncode == 1 and message in answer.stderr, answer.stderr
    listed = campaign(dsn, "terms", "list").stdout.strip().splitlines()
    assert len(listed) == 1 and "XV  2020-10-15 to 2025-10-15" in listed[0]
