"""Answers a client gets when it cannot have what it asked for: each a problem document
(`application/problem+json`) naming the cause, with the request id that finds it in the logs."""

from __future__ import annotations

import uuid
from typing import Any

import asyncpg
import httpx
import msgspec
import pytest
from litestar import Litestar, get
from litestar.exceptions import (
    NotAuthorizedException,
    PermissionDeniedException,
    ServiceUnavailableException,
)

from events import errors as store_errors
from events.cursor import Cursor
from events.store import EventStore
from services.api.app import create_app
from services.api.problems import EXCEPTION_HANDLERS
from services.runtime.config import load_settings
from tests.http import api_client
from tests.org import bearer, event_count, make_user

UNIT = {"name": "Sở Nội vụ", "short_code": "SNV", "kind": "department"}


@pytest.fixture
def app(pool: asyncpg.Pool[Any]) -> Any:
    return create_app(load_settings({}), pool=pool)


def problem(answer: httpx.Response, status: int, code: str) -> dict[str, Any]:
    """The problem document of `answer`, checked for what every problem carries."""
    assert answer.status_code == status, answer.text
    assert answer.headers["content-type"] == "application/problem+json"
    body: dict[str, Any] = answer.json()
    assert body["type"] == f"/problems/{code}" and body["status"] == status
    assert body["title"] and body["instance"] == answer.request.url.path
    assert body["request_id"] == answer.headers["x-request-id"]
    return body


async def test_what_does_not_exist_is_a_404_naming_what_was_looked_for(
    app: Any, domain_store: EventStore
) -> None:
    admin_id, token = await make_user(domain_store, "admin")
    admin = bearer(token)
    missing = uuid.uuid4()
    async with api_client(app) as client:
        user = problem(await client.get(f"/users/{missing}", headers=admin), 404, "unknown-user")
        assert user["detail"] == f"user {missing} does not exist"
        erased = await client.delete(f"/users/{missing}/personal-data", headers=admin)
        assert problem(erased, 404, "unknown-user")["detail"] == f"user {missing} does not exist"
        token_gone = await client.delete(f"/users/{admin_id}/tokens/{missing}", headers=admin)
        assert problem(token_gone, 404, "unknown-token")["detail"] == (
            f"user {admin_id} has no such token"
        )
        for stream in ("plan-not-an-id", f"plan-{missing}", "nowhere"):
            unverified = await client.get("/audit/verify", headers=admin, params={"stream": stream})
            assert problem(unverified, 404, "unknown-stream")["detail"] == f"no event in {stream!r}"
        no_route = problem(await client.get("/nowhere", headers=admin), 404, "not-found")
        assert no_route["instance"] == "/nowhere"
        # The admin can still sign in: nothing was revoked by the refusals.
        assert (await client.get(f"/users/{admin_id}", headers=admin)).status_code == 200


async def test_a_method_a_path_does_not_take_is_a_405(app: Any, domain_store: EventStore) -> None:
    _, token = await make_user(domain_store, "admin")
    async with api_client(app) as client:
        answer = await client.delete("/units", headers=bearer(token))
    refused = problem(answer, 405, "method-not-allowed")
    assert set(answer.headers["allow"].split(", ")) == {"GET", "POST", "OPTIONS"}
    assert refused["instance"] == "/units"


async def test_the_request_id_a_client_sends_is_echoed_and_a_malformed_one_replaced(
    app: Any, domain_store: EventStore
) -> None:
    _, token = await make_user(domain_store, "admin")
    missing = f"/units/{uuid.uuid4()}"
    async with api_client(app) as client:
        kept = await client.get(missing, headers={**bearer(token), "X-Request-ID": "req-42.a_b"})
        replaced = await client.get(
            missing, headers={**bearer(token), "X-Request-ID": "not ok; <script>"}
        )
    assert problem(kept, 404, "unknown-unit")["request_id"] == "req-42.a_b"
    fresh = problem(replaced, 404, "unknown-unit")["request_id"]
    assert fresh != "not ok; <script>" and len(fresh) == 32 and int(fresh, 16) >= 0


async def test_an_id_that_is_nobodys_and_a_date_out_of_range_append_nothing(
    app: Any, domain_store: EventStore, pool: asyncpg.Pool[Any]
) -> None:
    _, token = await make_user(domain_store, "admin")
    admin = bearer(token)
    async with api_client(app) as client:
        unit = (await client.post("/units", json=UNIT, headers=admin)).json()["id"]
        plan = (
            await client.post(
                "/plans",
                json={"kind": "KH", "title": "Kế hoạch", "issuer_unit_id": unit},
                headers=admin,
            )
        ).json()["id"]
        chosen = str(uuid.uuid4())  # an id the client chose is the unit's
        kept = await client.post(
            "/units", json={**UNIT, "short_code": "C", "id": chosen}, headers=admin
        )
        assert kept.status_code == 201 and kept.json()["id"] == chosen
        before = await event_count(pool)
        for nobody in (
            "00000000-0000-0000-0000-000000000000",
            "ffffffff-ffff-ffff-ffff-ffffffffffff",
        ):
            refused = await client.post(
                "/units", json={**UNIT, "short_code": "X", "id": nobody}, headers=admin
            )
            assert problem(refused, 422, "invalid-id")["detail"].startswith(
                f"{nobody} is not an id"
            )
        issue = {
            "number": "1/KH-SNV",
            "place": "Sơn La",
            "issued_on": "01/01/1800",
            "signer": {"name": "A", "title": "Giám đốc"},
        }
        too_old = await client.post(f"/plans/{plan}/issue", json=issue, headers=admin)
        assert "'01/01/1800' is not a date" in problem(too_old, 422, "invalid-date")["detail"]
        assert await event_count(pool) == before


async def test_a_plan_is_cancelled_once_with_a_reason(app: Any, domain_store: EventStore) -> None:
    _, token = await make_user(domain_store, "admin")
    admin = bearer(token)
    async with api_client(app) as client:
        unit = (await client.post("/units", json=UNIT, headers=admin)).json()["id"]
        body = {"kind": "KH", "title": "Kế hoạch", "issuer_unit_id": unit}
        plan = (await client.post("/plans", json=body, headers=admin)).json()["id"]
        path = f"/plans/{plan}/cancel"
        no_reason = await client.post(path, json={}, headers=admin)
        problem(no_reason, 400, "invalid-request")
        cancelled = await client.post(path, json={"reason": "Trùng kế hoạch 12"}, headers=admin)
        assert cancelled.status_code == 200, cancelled.text
        view = (await client.get(f"/plans/{plan}", headers=admin)).json()
        assert view["status"] == "cancelled" and view["accepts_tasks"] is False
        again = await client.post(path, json={"reason": "lần nữa"}, headers=admin)
        problem(again, 422, "plan-ended")


async def test_a_consistency_token_from_another_store_epoch_is_gone(
    app: Any, domain_store: EventStore
) -> None:
    _, token = await make_user(domain_store, "admin")
    admin = bearer(token)
    epoch = await domain_store.epoch()
    elsewhere = Cursor(f"{epoch}x", 1, 1).encode()
    async with api_client(app) as client:
        unit = (await client.post("/units", json=UNIT, headers=admin)).json()["id"]
        path = f"/units/{unit}/compliance"
        by_query = await client.get(path, headers=admin, params={"after": elsewhere})
        by_header = await client.get(path, headers={**admin, "Consistency-Token": elsewhere})
        garbled = await client.get(path, headers={**admin, "Consistency-Token": "nonsense"})
    for answer in (by_query, by_header):
        gone = problem(answer, 410, "cursor-epoch-gone")
        assert gone["current_epoch"] == epoch and gone["restart_from"] is None
    problem(garbled, 400, "invalid-cursor")


async def test_a_feed_asked_for_units_outside_reach_is_empty_in_every_format(
    app: Any, domain_store: EventStore
) -> None:
    _, token = await make_user(domain_store, "admin")
    admin = bearer(token)
    async with api_client(app) as client:
        ours = (await client.post("/units", json=UNIT, headers=admin)).json()["id"]
        theirs = (
            await client.post("/units", json={**UNIT, "short_code": "STC"}, headers=admin)
        ).json()["id"]
        consumer = bearer((await make_user(domain_store, "consumer", uuid.UUID(ours)))[1])
        own = await client.get("/events", headers=consumer, params={"unit": ours})
        streams = {e["stream_id"] for e in own.json()["events"]}
        assert f"unit-{ours}" in streams and f"unit-{theirs}" not in streams
        after = own.json()["next"]
        asked = {"unit": theirs, "after": after}
        as_json = await client.get("/events", headers=consumer, params=asked)
        as_ndjson = await client.get(
            "/events", headers={**consumer, "Accept": "application/x-ndjson"}, params=asked
        )
        as_msgpack = await client.get(
            "/events", headers={**consumer, "Accept": "application/msgpack"}, params=asked
        )
    assert as_json.status_code == 200 and as_json.json() == {"events": [], "next": after}
    assert as_ndjson.headers["content-type"].startswith("application/x-ndjson")
    assert as_ndjson.content == b""
    assert as_msgpack.headers["content-type"].startswith("application/msgpack")
    assert msgspec.msgpack.decode(as_msgpack.content) == {"events": [], "next": after}


def _raising(error: BaseException) -> Any:
    @get("/fails", sync_to_thread=False)
    def fails() -> None:
        raise error

    return fails


def _chained() -> Exception:
    """An error raised while handling another, whose cause a lost connection was."""
    try:
        try:
            raise ExceptionGroup("writers", [ValueError("bad"), ConnectionResetError("reset")])
        except ExceptionGroup as group:
            raise RuntimeError("the append failed") from group
    except RuntimeError as error:
        return error


def _raised_from(error: Exception, cause: Exception) -> Exception:
    try:
        try:
            raise cause
        except Exception as inner:
            raise error from inner  # its cause and its context are one error
    except Exception as outer:
        return outer


SHELL_ANSWERS = [
    pytest.param(
        store_errors.VersionConflict("plan-1", 2, 3),
        409,
        "version-conflict",
        {"stream_id": "plan-1", "expected_version": 2, "actual_version": 3},
        id="version-conflict",
    ),
    pytest.param(
        store_errors.ReservationTaken("short-code", "SNV", None),
        409,
        "reservation-taken",
        {"scope": "short-code", "key": "SNV"},
        id="reservation-taken",
    ),
    pytest.param(
        store_errors.IdempotencyKeyReused("user-1", "k1"),
        422,
        "idempotency-key-reused",
        {},
        id="idempotency-key-reused",
    ),
    pytest.param(
        store_errors.UnstorableText("U+0000"), 422, "unstorable-text", {}, id="unstorable-text"
    ),
    pytest.param(
        store_errors.DuplicateEvent("event e1 is stored"), 409, "duplicate-event", {}, id="dup"
    ),
    pytest.param(
        store_errors.IdempotencyKeyInUse("user-1", "k1"),
        409,
        "idempotency-key-in-use",
        {},
        id="conflict",
    ),
    pytest.param(
        store_errors.InvalidAppend("no stream"), 500, "internal-error", {}, id="store-bug"
    ),
    pytest.param(
        _raised_from(store_errors.InvalidAppend("lost"), ConnectionRefusedError()),
        503,
        "database-unavailable",
        {},
        id="store-error-of-a-lost-database",
    ),
    pytest.param(
        _raised_from(RuntimeError("secret 42"), ValueError("x")),
        500,
        "internal-error",
        {},
        id="bug",
    ),
    pytest.param(_chained(), 503, "database-unavailable", {}, id="lost-database-in-a-group"),
    pytest.param(NotAuthorizedException("who?"), 401, "unauthenticated", {}, id="401"),
    pytest.param(PermissionDeniedException("no"), 403, "forbidden", {}, id="403"),
    pytest.param(ServiceUnavailableException(), 503, "unavailable", {}, id="503"),
]


@pytest.mark.parametrize(("error", "status", "code", "extra"), SHELL_ANSWERS)
async def test_what_the_store_and_the_shell_raise_is_answered_as_a_problem(
    error: BaseException, status: int, code: str, extra: dict[str, Any]
) -> None:
    app = Litestar([_raising(error)], exception_handlers=EXCEPTION_HANDLERS)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        answer = await client.get("/fails")
    assert answer.status_code == status, answer.text
    assert answer.headers["content-type"] == "application/problem+json"
    body = answer.json()
    assert body["type"] == f"/problems/{code}" and body["status"] == status
    assert body | extra == body
    if status == 500:  # what went wrong stays in the logs
        assert "secret" not in answer.text and "no stream" not in answer.text
    if code == "database-unavailable":
        assert answer.headers["Retry-After"] == "5"
