"""The organisation over HTTP on real PostgreSQL: imports, a 2025 reorganisation, idempotency,
If-Match, concurrency, who may do what, and bad input that appends nothing."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta
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

SON_LA = {
    "units": [
        {"ref": "tu", "name": "Tỉnh ủy Sơn La", "short_code": "TUSL", "kind": "party_committee"},
        {
            "ref": "btg",
            "name": "Ban Tuyên giáo Tỉnh ủy",
            "short_code": "BTGTU",
            "kind": "party_board",
            "parent": "tu",
        },
        {
            "ref": "bdv",
            "name": "Ban Dân vận Tỉnh ủy",
            "short_code": "BDVTU",
            "kind": "party_board",
            "parent": "tu",
        },
        {
            "ref": "duk",
            "name": "Đảng ủy Khối các cơ quan tỉnh",
            "short_code": "ĐUK",
            "kind": "party_committee",
            "parent": "tu",
        },
        {
            "ref": "btgduk",
            "name": "Ban Tuyên giáo Đảng ủy Khối",
            "short_code": "BTGĐUK",
            "kind": "party_board",
            "parent": "duk",
        },
        {
            "ref": "snv",
            "name": "Sở Nội vụ tỉnh Sơn La",
            "short_code": "SNV",
            "kind": "department",
            "parent": "tu",
        },
        {
            "ref": "cb",
            "name": "Chi bộ Văn phòng Sở Nội vụ",
            "short_code": "CBVP",
            "kind": "party_cell",
            "parent": "snv",
        },
    ]
}


@pytest.fixture
def app(pool: asyncpg.Pool[Any]) -> Any:
    return create_app(load_settings({"MAX_BODY_BYTES": "4096"}), pool=pool)


@pytest.fixture
async def admin(domain_store: EventStore) -> dict[str, str]:
    _, token = await make_user(domain_store, "admin")
    return bearer(token)


async def post(
    client: httpx.AsyncClient, path: str, body: Any, headers: dict[str, str], **extra: str
) -> httpx.Response:
    return await client.post(path, json=body, headers={**headers, **extra})


async def test_a_provinces_tree_is_imported_in_one_append(
    app: Any, admin: dict[str, str], pool: asyncpg.Pool[Any]
) -> None:
    async with api_client(app) as client:
        imported = await post(client, "/units/import", SON_LA, admin)
        assert imported.status_code == 201, imported.text
        body = imported.json()
        ids = body["units"]
        assert set(ids) == {"tu", "btg", "bdv", "duk", "btgduk", "snv", "cb"}
        assert body["id"] == ids["tu"] and len(body["events"]) == 7
        transactions = await pool.fetchval(
            "SELECT count(DISTINCT tx_id) FROM events WHERE type = 'UnitRegistered'"
        )
        assert transactions == 1

        children = (await client.get("/units", params={"parent": ids["tu"]}, headers=admin)).json()
        assert sorted(u["short_code"] for u in children["items"]) == [
            "BDVTU",
            "BTGTU",
            "SNV",
            "ĐUK",
        ]
        found = (await client.get("/units", params={"q": "dang uy khoi"}, headers=admin)).json()
        assert {u["id"] for u in found["items"]} == {ids["duk"], ids["btgduk"]}
        found = (await client.get("/units", params={"q": "Sơn La"}, headers=admin)).json()
        assert {u["id"] for u in found["items"]} == {ids["tu"], ids["snv"]}
        cell = (await client.get(f"/units/{ids['cb']}", headers=admin)).json()
        assert cell["parent_id"] == ids["snv"] and cell["kind"] == "party_cell"


async def test_a_tree_imports_from_csv_under_an_existing_unit(
    app: Any, admin: dict[str, str]
) -> None:
    async with api_client(app) as client:
        root = await post(
            client,
            "/units",
            {"name": "Thành ủy Cần Thơ", "short_code": "TU", "kind": "party_committee"},
            admin,
        )
        city = root.json()["id"]
        csv = (
            "ref,name,short_code,kind,parent\n"
            f"btg,Ban Tuyên giáo Thành ủy,BTGTU,party_board,{city}\n"
            "bao,Báo Cần Thơ,BCT,press,btg\n"
        )
        imported = await client.post(
            "/units/import", content=csv.encode(), headers={**admin, "Content-Type": "text/csv"}
        )
        assert imported.status_code == 201, imported.text
        press = imported.json()["units"]["bao"]
        unit = (await client.get(f"/units/{press}", headers=admin)).json()
        assert unit["name"] == "Báo Cần Thơ"
        assert unit["parent_id"] == imported.json()["units"]["btg"]


async def test_a_2025_reorganisation_merges_two_boards_and_dissolves_one(
    app: Any, admin: dict[str, str], domain_store: EventStore
) -> None:
    async with api_client(app) as client:
        tree = (
            await post(
                client,
                "/units/import",
                {
                    "units": [
                        {
                            "ref": "tu",
                            "name": "Thành ủy Cần Thơ",
                            "short_code": "TU",
                            "kind": "party_committee",
                        },
                        {
                            "ref": "btg",
                            "name": "Ban Tuyên giáo Thành ủy",
                            "short_code": "BTGTU",
                            "kind": "party_board",
                            "parent": "tu",
                        },
                        {
                            "ref": "bdv",
                            "name": "Ban Dân vận Thành ủy",
                            "short_code": "BDVTU",
                            "kind": "party_board",
                            "parent": "tu",
                        },
                        {
                            "ref": "bkt",
                            "name": "Ban Kinh tế Thành ủy",
                            "short_code": "BKTTU",
                            "kind": "party_board",
                            "parent": "tu",
                        },
                    ]
                },
                admin,
            )
        ).json()["units"]
        merged_board = await post(
            client,
            "/units",
            {
                "name": "Ban Tuyên giáo và Dân vận Thành ủy",
                "short_code": "BTGDVTU",
                "kind": "party_board",
                "parent_id": tree["tu"],
            },
            admin,
        )
        successor = merged_board.json()["id"]
        for board in ("btg", "bdv"):
            merged = await post(
                client,
                f"/units/{tree[board]}/merge",
                {"successor_id": successor, "reason": "Kết luận 121-KL/TW"},
                admin,
            )
            assert merged.status_code == 200, merged.text
        dissolved = await post(
            client,
            f"/units/{tree['bkt']}/dissolve",
            {"successor_id": successor, "reason": "giải thể"},
            admin,
        )
        assert dissolved.status_code == 200, dissolved.text

        for ref, status in (("btg", "merged"), ("bdv", "merged"), ("bkt", "dissolved")):
            unit = (await client.get(f"/units/{tree[ref]}", headers=admin)).json()
            assert (unit["status"], unit["successor_id"]) == (status, successor)
        # The merged boards' codes are free again under the city committee.
        reused = await post(
            client,
            "/units",
            {
                "name": "Ban Tuyên giáo (tái lập)",
                "short_code": "BTGTU",
                "kind": "party_board",
                "parent_id": tree["tu"],
            },
            admin,
        )
        assert reused.status_code == 201
        # Nothing may hang under a merged unit any more.
        refused = await post(
            client, "/units", {"name": "x", "short_code": "X", "parent_id": tree["btg"]}, admin
        )
        assert refused.status_code == 422 and refused.json()["type"] == "/problems/parent-inactive"

    history = [
        (e.type, e.data)
        for ref in ("btg", "bdv", "bkt")
        for e in await domain_store.read_stream(f"unit-{tree[ref]}")
    ]
    assert [t for t, _ in history] == [
        "UnitRegistered",
        "UnitMerged",
        "UnitRegistered",
        "UnitMerged",
        "UnitRegistered",
        "UnitDissolved",
    ]
    assert {str(getattr(d, "successor_id", successor)) for _, d in history} == {successor}


async def test_a_retried_request_with_the_same_key_appends_nothing(
    app: Any, admin: dict[str, str], pool: asyncpg.Pool[Any]
) -> None:
    body = {"name": "Sở Nội vụ", "short_code": "SNV", "kind": "department"}
    async with api_client(app) as client:
        first = await post(client, "/units", body, admin, **{"Idempotency-Key": "req-1"})
        count = await event_count(pool)
        retry = await post(client, "/units", body, admin, **{"Idempotency-Key": "req-1"})
        assert retry.status_code == first.status_code == 201
        assert retry.json() == first.json()
        assert await event_count(pool) == count
        other = await post(
            client, "/units", {**body, "short_code": "SNV2"}, admin, **{"Idempotency-Key": "req-1"}
        )
        assert other.status_code == 422
        assert other.json()["type"] == "/problems/idempotency-key-reused"
        assert await event_count(pool) == count


async def test_if_match_is_strict_and_etags_follow_the_version(
    app: Any, admin: dict[str, str]
) -> None:
    async with api_client(app) as client:
        unit = (
            await post(client, "/units", {"name": "Báo Cần Thơ", "short_code": "BCT"}, admin)
        ).json()["id"]
        etag = (await client.get(f"/units/{unit}", headers=admin)).headers["etag"]
        assert etag == '"1"'
        renamed = await post(
            client,
            f"/units/{unit}/rename",
            {"name": "Báo Cần Thơ điện tử"},
            admin,
            **{"If-Match": etag},
        )
        assert renamed.status_code == 200
        stale = await post(
            client, f"/units/{unit}/rename", {"name": "Báo CT"}, admin, **{"If-Match": etag}
        )
        assert stale.status_code == 409
        assert stale.json()["type"] == "/problems/stale-version"
        assert stale.json()["actual_version"] == 2
        assert (await client.get(f"/units/{unit}", headers=admin)).headers["etag"] == '"2"'


async def test_concurrent_renames_without_if_match_both_land(
    app: Any, admin: dict[str, str], domain_store: EventStore
) -> None:
    async with api_client(app) as client:
        unit = (
            await post(client, "/units", {"name": "Ban Dân vận", "short_code": "BDV"}, admin)
        ).json()["id"]
        answers = await asyncio.gather(
            *(
                post(client, f"/units/{unit}/rename", {"name": f"Ban Dân vận {n}"}, admin)
                for n in range(4)
            )
        )
        assert [a.status_code for a in answers] == [200] * 4
        assert (await client.get(f"/units/{unit}", headers=admin)).json()["version"] == 5
    renames = [e for e in await domain_store.read_stream(f"unit-{unit}") if e.type == "UnitRenamed"]
    assert len(renames) == 4


# -- who may do what: a literal table, not derived from the code's policy -------------------

ROLES = ("anonymous", "admin", "chief", "officer", "auditor", "consumer")
MATRIX = [
    # method, route,                      anonymous admin chief officer auditor consumer
    ("GET", "/health/live", (200, 200, 200, 200, 200, 200)),
    ("GET", "/metrics", (200, 200, 200, 200, 200, 200)),
    ("GET", "/units", (401, 200, 200, 200, 200, 200)),
    ("GET", "/units/{unit}", (401, 200, 200, 200, 200, 200)),
    ("POST", "/units", (401, 201, 403, 403, 403, 403)),
    ("POST", "/units/import", (401, 201, 403, 403, 403, 403)),
    ("POST", "/units/{unit}/rename", (401, 200, 403, 403, 403, 403)),
    ("POST", "/units/{unit}/move", (401, 422, 403, 403, 403, 403)),
    ("POST", "/units/{unit}/dissolve", (401, 422, 403, 403, 403, 403)),
    ("GET", "/users", (401, 200, 403, 403, 403, 403)),
    ("POST", "/users", (401, 201, 403, 403, 403, 403)),
    ("GET", "/users/{user}", (401, 200, 403, 403, 403, 403)),
    ("POST", "/users/{user}/roles", (401, 201, 403, 403, 403, 403)),
    ("POST", "/users/{user}/tokens", (401, 201, 403, 403, 403, 403)),
]


async def test_the_authorization_matrix(app: Any, domain_store: EventStore) -> None:
    async with api_client(app) as client:
        _, admin_token = await make_user(domain_store, "admin")
        admin = bearer(admin_token)
        city = (
            await post(client, "/units", {"name": "Thành ủy", "short_code": "TU"}, admin)
        ).json()["id"]
        unit = (
            await post(
                client, "/units", {"name": "Ban", "short_code": "B", "parent_id": city}, admin
            )
        ).json()["id"]
        headers = {"anonymous": {}, "admin": admin}
        for role in ("chief", "officer", "auditor", "consumer"):
            _, token = await make_user(domain_store, role, uuid.UUID(unit))  # type: ignore[arg-type]
            headers[role] = bearer(token)
        target_user, _ = await make_user(domain_store, None)
        counter = iter(range(10_000))

        def body(route: str) -> Any:
            n = next(counter)
            return {
                "/units": {"name": f"Đơn vị {n}", "short_code": f"DV{n}", "parent_id": city},
                "/units/import": {
                    "units": [
                        {"ref": "a", "name": f"Nhập {n}", "short_code": f"N{n}", "parent": city}
                    ]
                },
                "/units/{unit}/rename": {"name": f"Ban {n}"},
                "/units/{unit}/move": {"parent_id": unit},
                "/units/{unit}/dissolve": {"successor_id": unit},
                "/users": {"name": f"Cán bộ {n}"},
                "/users/{user}/roles": {"role": "auditor", "unit_id": unit},
                "/users/{user}/tokens": {"days": 1},
            }.get(route)

        failures = []
        for method, route, expected in MATRIX:
            path = route.replace("{unit}", unit).replace("{user}", str(target_user))
            for role, status in zip(ROLES, expected, strict=True):
                if route == "/users/{user}/roles" and role == "admin":
                    # Each grant must differ: an auditor role per fresh unit.
                    sub = (await post(client, "/units", body("/units"), admin)).json()["id"]
                    payload: Any = {"role": "auditor", "unit_id": sub}
                else:
                    payload = body(route)
                response = await client.request(method, path, json=payload, headers=headers[role])
                if response.status_code != status:
                    failures.append(
                        f"{role} {method} {route}: {response.status_code}, "
                        f"expected {status}: {response.text[:120]}"
                    )
        assert failures == []


# -- bad input: the specific problem, and nothing appended ----------------------------------


async def test_bad_input_answers_its_problem_and_appends_nothing(
    app: Any, domain_store: EventStore, pool: asyncpg.Pool[Any]
) -> None:
    async with api_client(app) as client:
        user_id, token = await make_user(domain_store, "admin")
        admin = bearer(token)
        city = (
            await post(client, "/units", {"name": "Thành ủy", "short_code": "TU"}, admin)
        ).json()["id"]
        board = (
            await post(
                client, "/units", {"name": "Ban", "short_code": "B", "parent_id": city}, admin
            )
        ).json()["id"]
        _, expired = await make_user(
            domain_store, "admin", days=1, now=datetime.now(UTC) - timedelta(days=2)
        )
        revoked_user, _ = await make_user(domain_store, "admin")
        issued = (await client.post(f"/users/{revoked_user}/tokens", json={}, headers=admin)).json()
        revoked = issued["token"]
        assert (await client.get("/units", headers=bearer(revoked))).status_code == 200
        await client.delete(f"/users/{revoked_user}/tokens/{issued['token_id']}", headers=admin)
        erased_user, erased = await make_user(domain_store, "admin")
        await client.delete(f"/users/{erased_user}/personal-data", headers=admin)
        missing = uuid.uuid4()

        cases: list[tuple[str, str, dict[str, str], Any, int, str]] = [
            (
                "POST",
                "/units",
                {**admin, "Content-Type": "application/json"},
                b'{"name": ',
                400,
                "invalid-request",
            ),
            ("POST", "/units", admin, {"name": 5, "short_code": "X"}, 400, "invalid-request"),
            (
                "POST",
                "/units",
                admin,
                {"name": "x", "short_code": "X", "colour": "red"},
                400,
                "invalid-request",
            ),
            (
                "POST",
                "/units",
                admin,
                {"name": "x", "short_code": "X", "kind": "galaxy"},
                400,
                "invalid-request",
            ),
            (
                "POST",
                "/units",
                admin,
                {"name": "x" * 5000, "short_code": "X"},
                413,
                "body-too-large",
            ),
            (
                "POST",
                "/units",
                admin,
                {"name": "x", "short_code": "A_B"},
                422,
                "invalid-short-code",
            ),
            (
                "POST",
                "/units",
                admin,
                {"name": "x", "short_code": "X", "parent_id": str(missing)},
                422,
                "unknown-parent",
            ),
            (
                "POST",
                "/units",
                admin,
                {"name": "dup", "short_code": "b", "parent_id": city},
                409,
                "duplicate-short-code",
            ),
            ("POST", f"/units/{missing}/rename", admin, {"name": "x"}, 404, "unknown-unit"),
            ("GET", f"/units/{missing}", admin, None, 404, "unknown-unit"),
            ("GET", "/units/not-a-uuid", admin, None, 404, "not-found"),
            ("POST", f"/units/{city}/move", admin, {"parent_id": board}, 422, "cycle"),
            ("POST", f"/units/{city}/dissolve", admin, {}, 422, "has-children"),
            (
                "POST",
                "/units/import",
                admin,
                {
                    "units": [
                        {"ref": "a", "name": "A", "short_code": "A", "parent": "b"},
                        {"ref": "b", "name": "B", "short_code": "B", "parent": "a"},
                    ]
                },
                422,
                "cycle",
            ),
            (
                "POST",
                "/units/import",
                admin,
                {"units": [{"ref": "a", "name": "A", "short_code": "A", "parent": "nowhere"}]},
                422,
                "unknown-parent",
            ),
            (
                "POST",
                "/units/import",
                {**admin, "Content-Type": "text/plain"},
                b"x",
                415,
                "unsupported-media-type",
            ),
            (
                "POST",
                f"/units/{city}/rename",
                {**admin, "If-Match": "yesterday"},
                {"name": "x"},
                400,
                "invalid-if-match",
            ),
            (
                "POST",
                "/units",
                {**admin, "Idempotency-Key": "x" * 300},
                {"name": "x", "short_code": "X"},
                400,
                "invalid-idempotency-key",
            ),
            (
                "POST",
                "/units",
                {**admin, "Authorization": "Basic abc"},
                {"name": "x", "short_code": "X"},
                401,
                "unauthenticated",
            ),
            (
                "POST",
                "/units",
                bearer("clt_not-a-real-token"),
                {"name": "x", "short_code": "X"},
                401,
                "unauthenticated",
            ),
            (
                "POST",
                "/units",
                bearer(expired),
                {"name": "x", "short_code": "X"},
                401,
                "unauthenticated",
            ),
            (
                "POST",
                "/units",
                bearer(revoked),
                {"name": "x", "short_code": "X"},
                401,
                "unauthenticated",
            ),
            (
                "POST",
                "/units",
                bearer(erased),
                {"name": "x", "short_code": "X"},
                401,
                "unauthenticated",
            ),
            ("POST", f"/users/{missing}/roles", admin, {"role": "admin"}, 404, "unknown-user"),
            ("POST", f"/users/{user_id}/roles", admin, {"role": "chief"}, 422, "invalid-role"),
            (
                "POST",
                f"/users/{user_id}/roles",
                admin,
                {"role": "chief", "unit_id": str(missing)},
                422,
                "unknown-role-unit",
            ),
            ("DELETE", f"/users/{user_id}/roles/{missing}", admin, None, 404, "unknown-role"),
            ("POST", "/users", admin, {"name": "x", "email": "not an email"}, 422, "invalid-email"),
        ]
        before = await event_count(pool)
        failures = []
        for method, path, headers, payload, status, problem in cases:
            if isinstance(payload, bytes):
                response = await client.request(method, path, content=payload, headers=headers)
            else:
                response = await client.request(method, path, json=payload, headers=headers)
            kind = response.json().get("type") if response.content else None
            if (response.status_code, kind) != (status, f"/problems/{problem}"):
                failures.append(
                    f"{method} {path} {str(payload)[:60]}: "
                    f"{response.status_code} {kind}, expected {status} {problem}"
                )
            elif not response.headers["content-type"].startswith("application/problem+json"):
                failures.append(f"{method} {path}: not a problem document")
        assert failures == [], "\n".join(failures)
        assert await event_count(pool) == before


async def test_every_event_names_its_actor_and_the_request_ids(
    app: Any, domain_store: EventStore
) -> None:
    chief_unit: str
    async with api_client(app) as client:
        admin_id, token = await make_user(domain_store, "admin")
        created = await client.post(
            "/units",
            json={"name": "Ban Tuyên giáo", "short_code": "BTG"},
            headers={
                **bearer(token),
                "X-Request-ID": "req-7",
                "X-Correlation-ID": "corr-1",
                "X-Causation-ID": "cause-9",
            },
        )
        chief_unit = created.json()["id"]
    [event] = await domain_store.read_stream(f"unit-{chief_unit}")
    assert event.metadata.actor.user == str(admin_id)
    assert (
        event.metadata.request_id,
        event.metadata.correlation_id,
        event.metadata.causation_id,
    ) == ("req-7", "corr-1", "cause-9")
    assert event.tags.category == "unit" and event.tags.units == (uuid.UUID(chief_unit),)


async def test_the_directory_rebuilt_from_the_events_comes_out_identical(
    app: Any, admin: dict[str, str], domain_store: EventStore, pool: asyncpg.Pool[Any]
) -> None:
    from projections.registry import rebuild_named

    async with api_client(app) as client:
        tree = (await post(client, "/units/import", SON_LA, admin)).json()["units"]
        await post(client, f"/units/{tree['cb']}/move", {"parent_id": tree["btg"]}, admin)
        await post(
            client,
            f"/units/{tree['bdv']}/rename",
            {"name": "Ban Dân vận", "short_code": "BDV"},
            admin,
        )
        await post(client, f"/units/{tree['btgduk']}/merge", {"successor_id": tree["btg"]}, admin)
        user = (
            await post(
                client,
                "/users",
                {
                    "name": "Lan",
                    "roles": [
                        {"role": "chief", "unit_id": tree["snv"]},
                        {"role": "auditor", "unit_id": tree["tu"]},
                    ],
                },
                admin,
            )
        ).json()
        await client.delete(f"/users/{user['id']}/roles/{user['role_ids'][0]}", headers=admin)

    async def snapshot() -> tuple[list[Any], list[Any]]:
        units = await pool.fetch("SELECT * FROM unit_directory ORDER BY unit_id")
        roles = await pool.fetch("SELECT * FROM user_roles ORDER BY role_id")
        return [dict(r) for r in units], [dict(r) for r in roles]

    before = await snapshot()
    applied = await rebuild_named("directory", domain_store)
    assert applied >= 13
    assert await snapshot() == before


async def test_a_rebuild_is_not_cut_short_by_an_unrelated_open_transaction(
    app: Any, admin: dict[str, str], domain_store: EventStore, pool: asyncpg.Pool[Any]
) -> None:
    from events.envelope import Metadata, NewEvent, StreamWrite
    from events.organisation import UserRegistered
    from projections.registry import rebuild_named

    idle = await pool.acquire()
    try:
        idle_tx = idle.transaction()
        await idle_tx.start()
        # An event writer left open, older than every event below (the feed waits for
        # writers of events only; one that wrote nothing else would not hold it back).
        user = uuid.uuid4()
        await domain_store.append(
            [StreamWrite(f"user-{user}", 0, [NewEvent(UserRegistered(user_id=user))])],
            Metadata(),
            connection=idle,
        )
        async with api_client(app) as client:
            tree = (await post(client, "/units/import", SON_LA, admin)).json()["units"]
            await post(client, f"/units/{tree['cb']}/move", {"parent_id": tree["btg"]}, admin)
        held_back = await domain_store.read_all(categories=["unit"])
        assert held_back.events == []  # the feed waits for the older transaction
        before = [dict(r) for r in await pool.fetch("SELECT * FROM unit_directory ORDER BY 1")]

        applied = await rebuild_named("directory", domain_store)

        assert applied == await pool.fetchval(
            "SELECT count(*) FROM events WHERE category IN ('unit', 'user', 'model')"
        )
        assert applied > 2
        assert [dict(r) for r in await pool.fetch("SELECT * FROM unit_directory ORDER BY 1")] == (
            before
        )
    finally:
        await idle_tx.rollback()
        await pool.release(idle)
