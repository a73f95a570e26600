"""One read rule for every way out (issue 17): a literal table of readers x objects, drafts
included, asserted alike on every route, the feed in every format, SSE and webhook deliveries.

The tree: ROOT above P, R and X; P above I. I issues a draft plan D and an issued plan S (both
addressed to R, S amended while it was a draft), S has a task T led by R, I has a model M."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Any

import asyncpg
import httpx
import msgspec
import uvicorn

from events.envelope import Metadata, NewEvent, StreamWrite
from events.store import EventStore
from services.api.app import create_app
from services.runtime.config import load_settings
from tests.http import ok
from tests.integration.test_live_http import frames, free_port
from tests.integration.test_webhooks import SECRET, config, keep_delivering, subscribe
from tests.org import bearer, make_user
from tests.receiver import RECEIVERS, Receiver
from tests.support import Noted

READERS = (
    "admin",
    "chief of I",
    "officer of I",
    "officer of R",
    "auditor of P",
    "consumer of P",
    "auditor of X",
    "no role",
)

# Who reads what: one row per object, one column per reader above.
TABLE = {
    #             admin chief officer officerR auditP consumP auditX none
    "draft D": (1, 1, 1, 0, 1, 1, 0, 0),
    "issued S": (1, 1, 1, 1, 1, 1, 0, 0),
    "task T": (1, 1, 1, 1, 1, 1, 0, 0),
    "model M": (1, 1, 1, 0, 1, 1, 0, 0),
}
# A unit's affairs (its compliance, its task board): units are a public record, so outside
# reach these answer 403 (an unknown unit too), not 404.
UNIT_TABLE = {
    "unit I": (1, 1, 1, 0, 1, 1, 0, 0),
    "unit R": (1, 0, 0, 1, 0, 0, 0, 0),
}


def expected(table: dict[str, tuple[int, ...]]) -> dict[str, dict[str, bool]]:
    return {o: {r: bool(v) for r, v in zip(READERS, row, strict=True)} for o, row in table.items()}


def types_by_object(events: list[dict[str, Any]], streams: dict[str, str]) -> dict[str, list[str]]:
    return {o: [e["type"] for e in events if e["stream_id"] == s] for o, s in streams.items()}


def found(answer: httpx.Response) -> bool:
    """200 or 404, nothing else: outside reach answers like unknown."""
    assert answer.status_code in (200, 404), (answer.request.url, answer.status_code, answer.text)
    if answer.status_code == 404:
        assert answer.json()["type"].startswith("/problems/unknown-"), answer.text
    return answer.status_code == 200


async def everything(client: httpx.AsyncClient, headers: dict[str, str]) -> list[dict[str, Any]]:
    answer = await client.get("/events", headers=headers, params={"limit": "10000"})
    events: list[dict[str, Any]] = (await ok(answer))["events"]
    return events


@asynccontextmanager
async def serving(dsn: str, pool: asyncpg.Pool[Any]) -> AsyncIterator[str]:
    """The API on a real port (SSE needs one), webhooks allowed to loopback."""
    settings = load_settings({"DATABASE_URL": dsn, "WEBHOOK_ALLOWED_TARGETS": RECEIVERS})
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(
            create_app(settings, pool=pool),
            host="127.0.0.1",
            port=port,
            log_level="warning",
            lifespan="on",
        )
    )
    task = asyncio.create_task(server.serve())
    for _ in range(500):
        if server.started:
            break
        await asyncio.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await asyncio.wait_for(task, 10)


async def settle(client: httpx.AsyncClient, admin: dict[str, str], cursor: str) -> None:
    """Wait until the feed serves the event at `cursor` (the machine's PostgreSQL is shared:
    another test's open transaction may hold the feed's horizon back a while)."""
    for _ in range(600):
        if cursor in {e["cursor"] for e in await everything(client, admin)}:
            return
        await asyncio.sleep(0.1)
    raise AssertionError(f"the feed never reached {cursor}")


async def build(client: httpx.AsyncClient, admin: dict[str, str]) -> dict[str, str]:
    ids: dict[str, str] = {}

    async def unit(name: str, code: str, parent: str | None) -> None:
        body = {"name": f"Đơn vị {name}", "short_code": code, "kind": "other"}
        if parent:
            body["parent_id"] = ids[parent]
        ids[name] = (await ok(await client.post("/units", json=body, headers=admin), 201))["id"]

    await unit("ROOT", f"RT{uuid.uuid4().hex[:4].upper()}", None)
    await unit("P", "PP", "ROOT")
    await unit("R", "RR", "ROOT")
    await unit("X", "XX", "ROOT")
    await unit("I", "II", "P")
    return ids


async def draft(client: httpx.AsyncClient, admin: dict[str, str], ids: dict[str, str]) -> str:
    body = {
        "kind": "KH",
        "title": "Kế hoạch tuyên truyền",
        "issuer_unit_id": ids["I"],
        "recipients": [{"unit_id": ids["R"], "role": "implement"}],
    }
    plan: str = (await ok(await client.post("/plans", json=body, headers=admin), 201))["id"]
    amended = {"reason": "sửa tên", "title": "Kế hoạch tuyên truyền (sửa)"}
    await ok(await client.post(f"/plans/{plan}/amend", json=amended, headers=admin))
    attachment = {"name": "kh.pdf", "media_type": "application/pdf", "sha256": "0" * 64, "size": 9}
    await ok(await client.post(f"/plans/{plan}/attachments", json=attachment, headers=admin), 201)
    return plan


async def test_one_read_rule_for_every_way_out(
    domain_store: EventStore, store: EventStore, pool: asyncpg.Pool[Any], dsn: str
) -> None:
    _, admin_token = await make_user(domain_store, "admin")
    admin = bearer(admin_token)
    async with serving(dsn, pool) as url, httpx.AsyncClient(base_url=url, timeout=30) as client:
        ids = await build(client, admin)
        tokens = {"admin": admin_token}
        for reader, (role, unit) in {
            "chief of I": ("chief", "I"),
            "officer of I": ("officer", "I"),
            "officer of R": ("officer", "R"),
            "auditor of P": ("auditor", "P"),
            "consumer of P": ("consumer", "P"),
            "auditor of X": ("auditor", "X"),
            "no role": (None, None),
        }.items():
            tokens[reader] = (
                await make_user(domain_store, role, uuid.UUID(ids[unit]) if unit else None)  # type: ignore[arg-type]
            )[1]
        heads = {r: bearer(t) for r, t in tokens.items()}

        plan_d = await draft(client, admin, ids)
        plan_s = await draft(client, admin, ids)
        issue = {"number": "12-KH/TU", "place": "Sơn La", "signer": {"name": "A", "title": "B"}}
        await ok(await client.post(f"/plans/{plan_s}/issue", json=issue, headers=admin))
        task_body = {
            "item": "1",
            "text": "Tuyên truyền",
            "lead_unit_ids": [ids["R"]],
            "due": "2030-01-15T00:00:00+07:00",
        }
        issued = await ok(
            await client.post(f"/plans/{plan_s}/assignments", json=task_body, headers=admin), 201
        )
        task_t = issued["assignments"][ids["R"]]
        model_body = {
            "unit_id": ids["I"],
            "year": 2026,
            "field": "tuyên truyền",
            "kind": "collective",
            "title": "Mô hình",
        }
        registered = await ok(await client.post("/models", json=model_body, headers=admin), 201)
        model_m = registered["id"]
        await settle(client, admin, registered["cursor"])
        streams = {
            "draft D": f"plan-{plan_d}",
            "issued S": f"plan-{plan_s}",
            "task T": f"assignment-{task_t}",
            "model M": f"model-{model_m}",
        }
        everyone = await everything(client, admin)
        all_of = {
            o: [e["type"] for e in everyone if e["stream_id"] == s] for o, s in streams.items()
        }
        assert all_of["draft D"] == ["PlanDrafted", "PlanAmended", "AttachmentAdded"]
        assert all_of["issued S"][:4] == [
            "PlanDrafted",
            "PlanAmended",
            "AttachmentAdded",
            "PlanIssued",
        ]

        # -- the routes ------------------------------------------------------------------------
        routes: dict[str, dict[str, dict[str, bool]]] = {}

        def saw(route: str, obj: str, reader: str, seen: bool) -> None:
            routes.setdefault(route, {}).setdefault(obj, {})[reader] = seen

        now = datetime.now(UTC).isoformat()
        for reader, h in heads.items():
            listed = await ok(await client.get("/plans", headers=h, params={"limit": "500"}))
            listed_ids = {p["id"] for p in listed["items"]}
            models = await ok(await client.get("/models", headers=h))
            for obj, plan in (("draft D", plan_d), ("issued S", plan_s)):
                saw(
                    "GET /plans/{id}",
                    obj,
                    reader,
                    found(await client.get(f"/plans/{plan}", headers=h)),
                )
                saw(
                    "GET /plans/{id}?as_of",
                    obj,
                    reader,
                    found(await client.get(f"/plans/{plan}", headers=h, params={"as_of": now})),
                )
                saw("GET /plans", obj, reader, plan in listed_ids)
                saw(
                    "history",
                    obj,
                    reader,
                    found(await client.get(f"/plans/{plan}/history", headers=h)),
                )
                saw(
                    "compliance",
                    obj,
                    reader,
                    found(await client.get(f"/plans/{plan}/compliance", headers=h)),
                )
                verified = await client.get("/audit/verify", headers=h, params={"plan": plan})
                saw("verify plan", obj, reader, found(verified))
            for obj, stream in streams.items():
                verified = await client.get("/audit/verify", headers=h, params={"stream": stream})
                saw("verify stream", obj, reader, found(verified))
            saw(
                "GET /assignments/{id}",
                "task T",
                reader,
                found(await client.get(f"/assignments/{task_t}", headers=h)),
            )
            saw("GET /models", "model M", reader, model_m in {m["id"] for m in models["items"]})
            for obj, unit in (("unit I", ids["I"]), ("unit R", ids["R"])):
                for route in ("assignments", "compliance"):
                    answer = await client.get(f"/units/{unit}/{route}", headers=h)
                    assert answer.status_code in (200, 403), answer.text
                    saw(f"unit {route}", obj, reader, answer.status_code == 200)

        table = expected(TABLE)
        for route, seen in routes.items():
            want = {o: table[o] if o in table else expected(UNIT_TABLE)[o] for o in seen}
            assert seen == want, route

        # -- the feed, in every format -----------------------------------------------------------
        feeds: dict[str, list[dict[str, Any]]] = {}
        for reader, h in heads.items():
            fed = feeds[reader] = await everything(client, h)
            seen_of = {
                o: [e["type"] for e in fed if e["stream_id"] == s] for o, s in streams.items()
            }
            # An object is seen whole (its draft's events too, once issued) or not at all.
            assert {o: t == all_of[o] if t else False for o, t in seen_of.items()} == {
                o: table[o][reader] for o in streams
            }, reader
            assert all(t in ([], all_of[o]) for o, t in seen_of.items()), reader
            nd = await client.get(
                "/events",
                headers={**h, "Accept": "application/x-ndjson"},
                params={"limit": "10000"},
            )
            assert [msgspec.json.decode(line) for line in nd.content.splitlines()] == fed
            mp = await client.get(
                "/events", headers={**h, "Accept": "application/msgpack"}, params={"limit": "10000"}
            )
            packed = msgspec.msgpack.decode(mp.content)["events"]
            assert [(e["event_id"], e["type"]) for e in packed] == [
                (e["event_id"], e["type"]) for e in fed
            ]
            # The history of a plan shows what the feed shows of it.
            for plan in (plan_d, plan_s):
                history = await client.get(f"/plans/{plan}/history", headers=h)
                if history.status_code == 200:
                    assert history.json()["items"] == [
                        e for e in fed if e["tags"]["plan_id"] == plan
                    ], reader
        assert feeds["no role"] == []

        # -- SSE: the catch-up, then live events of each object ----------------------------------
        sentinel_units = (uuid.UUID(ids["I"]), uuid.UUID(ids["R"]), uuid.UUID(ids["X"]))
        live: dict[str, list[dict[str, Any]]] = {}
        with_reach = [r for r in READERS if r != "no role"]  # a blind stream sends no frame
        opened = {}
        for reader in with_reach:
            context = client.stream("GET", "/events/live", headers=heads[reader])
            opened[reader] = (context, await context.__aenter__())
        try:
            events = {r: frames(answer) for r, (_, answer) in opened.items()}
            for reader in with_reach:
                caught_up = [await anext(events[reader]) for _ in feeds[reader]]
                assert [e for _, e in caught_up] == feeds[reader], reader
            attachment = {
                "name": "phu-luc.pdf",
                "media_type": "application/pdf",
                "sha256": "1" * 64,
                "size": 3,
            }
            await ok(
                await client.post(f"/plans/{plan_d}/attachments", json=attachment, headers=admin),
                201,
            )
            await ok(
                await client.post(
                    f"/plans/{plan_s}/amend", json={"reason": "thêm", "title": "S"}, headers=admin
                )
            )
            progress = {"note": "đang làm", "percent": 10}
            await ok(
                await client.post(
                    f"/assignments/{task_t}/progress", json=progress, headers=heads["officer of R"]
                )
            )
            await ok(
                await client.post(
                    f"/models/{model_m}/reports", json={"text": "báo cáo"}, headers=admin
                ),
                201,
            )
            await store.append(
                [
                    StreamWrite(
                        f"note-{uuid.uuid4()}",
                        0,
                        [NewEvent(Noted(text="end"), units=sentinel_units)],
                    )
                ],
                Metadata(),
            )
            for reader in with_reach:
                got: list[dict[str, Any]] = []
                while True:
                    _, event = await anext(events[reader])
                    if event["type"] == "Noted":
                        break
                    got.append(event)
                live[reader] = got
        finally:
            for context, _ in opened.values():
                await context.__aexit__(None, None, None)
        live_types = {streams["draft D"]: "AttachmentAdded", streams["issued S"]: "PlanAmended"}
        for reader in with_reach:
            seen_live = {
                o: any(e["stream_id"] == s for e in live[reader]) for o, s in streams.items()
            }
            assert seen_live == {o: table[o][reader] for o in streams}, reader
            for e in live[reader]:
                assert e["type"] == live_types.get(e["stream_id"], e["type"])
            # What came live is what the feed shows now, past the catch-up.
            now_fed = await everything(client, heads[reader])
            assert [e for e in now_fed[len(feeds[reader]) :] if e["type"] != "Noted"] == live[
                reader
            ], reader

        # -- webhooks: what each owner's subscription delivers -----------------------------------
        refused = await client.post(
            "/subscriptions",
            headers=heads["no role"],
            json={"url": "http://127.0.0.1:9/hook", "secret": SECRET},
        )
        assert refused.status_code == 403  # it could receive nothing
        with Receiver() as receiver:
            subscriptions = {
                reader: (await subscribe(client, tokens[reader], receiver.url, secret=SECRET))[0]
                for reader in with_reach
            }
            expected_feeds = {r: await everything(client, heads[r]) for r in with_reach}
            for reader, subscription in subscriptions.items():

                def delivered(sub: uuid.UUID = subscription) -> list[dict[str, Any]]:
                    return [
                        e
                        for d in receiver.accepted()
                        if d.headers["Campaign-Subscription"] == str(sub)
                        for e in d.events
                    ]

                def done(
                    delivered: Any = delivered, want: int = len(expected_feeds[reader])
                ) -> bool:
                    return len(delivered()) >= want

                want = len(expected_feeds[reader])
                await keep_delivering(store, config(batch=50), subscription, done)
                got = delivered()
                assert got[:want] == expected_feeds[reader], reader
                pushed = {o: any(e["stream_id"] == s for e in got) for o, s in streams.items()}
                assert pushed == {o: table[o][reader] for o in streams}, reader
