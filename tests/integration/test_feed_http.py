"""GET /events: every event once in feed order under concurrent writers, what a consumer may
see (written out), NDJSON and MessagePack, cursors from another epoch."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import uuid
from typing import Any

import asyncpg
import msgspec

from events.envelope import Metadata, NewEvent, StreamWrite
from events.store import EventStore
from services.api.app import create_app
from services.ops.demo import demo_id, load_demo
from services.runtime.config import load_settings
from tests.cli import campaign
from tests.http import api_client
from tests.org import bearer, make_user
from tests.support import Noted


async def everything(client: Any, headers: dict[str, str], **params: Any) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    after = None
    while True:
        query = {**params, **({"after": after} if after else {})}
        page = await client.get("/events", headers=headers, params=query)
        assert page.status_code == 200, page.text
        body = page.json()
        found += body["events"]
        if not body["events"]:
            return found
        after = body["next"]


async def test_a_consumer_sees_its_tasks_and_the_plans_addressed_to_it(
    domain_store: EventStore, pool: asyncpg.Pool[Any]
) -> None:
    await load_demo(domain_store)
    _, group_token = await make_user(domain_store, "consumer", demo_id("unit:sl-t1"))
    _, admin_token = await make_user(domain_store, "admin")
    _, auditor_token = await make_user(domain_store, "auditor", demo_id("unit:sl-t1"))
    async with api_client(create_app(load_settings({}), pool=pool)) as client:
        seen = await everything(client, bearer(group_token), limit=7)
        every = await everything(client, bearer(admin_token), limit=500)
        audited = await everything(client, bearer(auditor_token))
    group, union = demo_id("task:334-2b"), demo_id("task:334-2a")
    names = {
        f"unit-{demo_id('unit:sl-t1')}": "unit party group 1",
        f"plan-{demo_id('plan:334')}": "plan 334-KH/CB",
        f"assignment-{group}": "task of party group 1",
    }

    def name(stream: str) -> str:
        kind = stream.split("-", 1)[0]
        return names.get(stream, {"model": "its model", "user": "a user of it"}.get(kind, stream))

    # Seed 003 as party group 1's consumer sees it: the plan addressed to it, its own task
    # (sent back once, extended, approved), its exemplary model, roles granted on it; not the
    # trade-union committee's task beside it, nor the cell's consolidated report.
    assert [(name(e["stream_id"]), e["type"]) for e in seen] == [
        ("unit party group 1", "UnitRegistered"),
        ("plan 334-KH/CB", "PlanDrafted"),
        ("plan 334-KH/CB", "PlanIssued"),
        ("task of party group 1", "AssignmentIssued"),
        ("task of party group 1", "DeadlineScheduled"),
        ("task of party group 1", "SubmissionFiled"),
        ("task of party group 1", "SubmissionReviewed"),
        ("task of party group 1", "ExtensionRequested"),
        ("task of party group 1", "ExtensionGranted"),
        ("task of party group 1", "DeadlineScheduled"),
        ("task of party group 1", "SubmissionFiled"),
        ("task of party group 1", "SubmissionReviewed"),
        ("task of party group 1", "AssignmentCompleted"),
        ("its model", "ModelRegistered"),
        ("its model", "ModelReported"),
        ("its model", "ModelCommended"),
        ("a user of it", "RoleGranted"),
        ("a user of it", "RoleGranted"),
    ]
    assert f"assignment-{union}" in {e["stream_id"] for e in every}  # the sibling's task
    # An auditor reads its own subtree, like a consumer of the same unit (not everything).
    assert [e["cursor"] for e in audited] == [e["cursor"] for e in seen]
    positions = [(e["tags"], e["position"]) for e in every]
    assert len({e["event_id"] for e in every}) == len(every) == len(positions)


async def test_paging_under_concurrent_writers_returns_every_event_once_in_order(
    store: EventStore, domain_store: EventStore, pool: asyncpg.Pool[Any]
) -> None:
    _, token = await make_user(domain_store, "admin")
    admin = bearer(token)
    start = await store.head()
    streams = [f"note-{uuid.uuid4()}" for _ in range(8)]
    written: list[uuid.UUID] = []

    async def writer(stream: str) -> None:
        for n in range(125):  # 8 writers x 125 appends x 10 events = 10,000 events
            version = await store.stream_version(stream)
            result = await store.append(
                [
                    StreamWrite(
                        stream, version, [NewEvent(Noted(text=f"{n}.{k}")) for k in range(10)]
                    )
                ],
                Metadata(),
            )
            written.extend(ref.event_id for ref in result.events)
            await asyncio.sleep(0)

    read: list[dict[str, Any]] = []
    async with api_client(create_app(load_settings({}), pool=pool)) as client:

        async def reader() -> None:
            after = start
            idle = 0
            while idle < 20:
                query = {"limit": "997", "category": "note", **({"after": after} if after else {})}
                page = (await client.get("/events", headers=admin, params=query)).json()
                read.extend(page["events"])
                after = page["next"]
                idle = 0 if page["events"] or not done.is_set() else idle + 1
                await asyncio.sleep(0.01)

        done = asyncio.Event()
        reading = asyncio.create_task(reader())
        await asyncio.gather(*(writer(s) for s in streams))
        done.set()
        await reading
    assert len(written) == 10_000
    assert [uuid.UUID(e["event_id"]) for e in read] == sorted(
        (uuid.UUID(e["event_id"]) for e in read), key=[uuid.UUID(e["event_id"]) for e in read].index
    )
    assert len(read) == len({e["event_id"] for e in read}) == 10_000
    assert {uuid.UUID(e["event_id"]) for e in read} == set(written)
    # In each stream the versions come in order, and feed order never goes back.
    for stream in streams:
        versions = [e["version"] for e in read if e["stream_id"] == stream]
        assert versions == list(range(1, 1251))


async def test_formats_and_cursors(domain_store: EventStore, pool: asyncpg.Pool[Any]) -> None:
    await load_demo(domain_store)
    _, token = await make_user(domain_store, "admin")
    admin = bearer(token)
    async with api_client(create_app(load_settings({}), pool=pool)) as client:
        as_json = (await client.get("/events", headers=admin, params={"limit": "50"})).json()
        ndjson = await client.get(
            "/events",
            headers={**admin, "Accept": "application/x-ndjson"},
            params={"limit": "50"},
        )
        assert ndjson.headers["content-type"].startswith("application/x-ndjson")
        lines = [json.loads(line) for line in ndjson.text.splitlines()]
        assert lines == as_json["events"] and as_json["next"] == lines[-1]["cursor"]
        packed = await client.get(
            "/events", headers={**admin, "Accept": "application/msgpack"}, params={"limit": "50"}
        )
        assert packed.headers["content-type"].startswith("application/msgpack")
        decoded = msgspec.msgpack.decode(packed.content)
        assert [e["event_id"] for e in decoded["events"]] == [
            e["event_id"] for e in as_json["events"]
        ]
        first = as_json["events"][0]
        assert set(first) == {
            "event_id",
            "stream_id",
            "version",
            "position",
            "cursor",
            "type",
            "schema_version",
            "data",
            "metadata",
            "tags",
            "recorded_at",
            "prev_hash",
            "hash",
        }
        # Built by PostgreSQL, the feed's events read exactly as the ones Python encodes.
        plan = demo_id("plan:334")
        history = (await client.get(f"/plans/{plan}/history", headers=admin)).json()["items"]
        fed = (await client.get("/events", headers=admin, params={"plan": str(plan)})).json()[
            "events"
        ]
        assert fed == history and len(fed) > 10
        bad = await client.get("/events", headers=admin, params={"after": "not-a-cursor"})
        assert bad.status_code == 400 and bad.json()["type"] == "/problems/invalid-cursor"
        await pool.execute(
            "UPDATE store_epochs SET token = 'restored-elsewhere' "
            "WHERE id = (SELECT max(id) FROM store_epochs)"
        )
        gone = await client.get("/events", headers=admin, params={"after": as_json["next"]})
        assert gone.status_code == 410 and gone.json()["type"] == "/problems/cursor-epoch-gone"
        for params in ({"limit": "0"}, {"limit": "10001"}, {"plan": "x"}, {"unit": "y"}):
            refused = await client.get("/events", headers=admin, params=params)
            assert refused.status_code == 400, params
        assert (await client.get("/events")).status_code == 401


def start_tail(dsn: str, *args: str) -> subprocess.Popen[bytes]:
    env = {**os.environ, "DATABASE_URL": dsn, "LOG_FORMAT": "json"}
    return subprocess.Popen(
        [sys.executable, "-m", "services.ops.cli", "tail", *args],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )


async def test_campaign_tail_follows_the_feed(
    domain_store: EventStore, pool: asyncpg.Pool[Any], dsn: str
) -> None:
    await load_demo(domain_store)
    plan = str(demo_id("plan:334"))
    tail = start_tail(dsn, "--plan", plan, "--type", "PlanIssued")
    try:
        assert tail.stdout is not None
        line = await asyncio.wait_for(asyncio.to_thread(tail.stdout.readline), 20)
        event = json.loads(line)
        assert (event["type"], event["tags"]["plan_id"]) == ("PlanIssued", plan)
    finally:
        tail.send_signal(signal.SIGINT)
        assert tail.wait(timeout=10) == 0
    bad = campaign(dsn, "tail", "--after", "nonsense")
    assert bad.returncode == 1 and bad.stderr.startswith("error:")


async def test_an_ndjson_feed_longer_than_a_page_streams_every_event_once_in_order(
    store: EventStore, domain_store: EventStore, pool: asyncpg.Pool[Any]
) -> None:
    from services.api.feed import STREAM_PAGE

    _, token = await make_user(domain_store, "admin")
    admin = bearer(token)
    count = STREAM_PAGE + 300  # the stream reads a second page while the first goes out
    notes = [NewEvent(Noted(text=f"{n}")) for n in range(count)]
    await store.append([StreamWrite(f"note-{uuid.uuid4()}", 0, notes)], Metadata())
    async with api_client(create_app(load_settings({}), pool=pool)) as client:
        # The feed shows an event once no older transaction of the cluster is still open.
        deadline = asyncio.get_running_loop().time() + 60
        while True:
            page = await client.get("/events", headers=admin, params={"limit": "10000"})
            shown = page.json()["events"]
            if len(shown) > count or asyncio.get_running_loop().time() > deadline:
                break
            await asyncio.sleep(0.05)
        whole = await client.get(
            "/events",
            headers={**admin, "Accept": "application/x-ndjson"},
            params={"limit": str(len(shown))},
        )
        cut = await client.get(
            "/events",
            headers={**admin, "Accept": "application/x-ndjson"},
            params={"limit": str(STREAM_PAGE + 1)},
        )
        # Exactly a page left: the stream looks for a second one and finds nothing.
        last_page = await client.get(
            "/events",
            headers={**admin, "Accept": "application/x-ndjson"},
            params={"after": shown[-STREAM_PAGE - 1]["cursor"], "limit": "10000"},
        )
    lines = [json.loads(line) for line in whole.text.splitlines()]
    assert len(shown) > count and lines == shown
    assert [json.loads(line) for line in last_page.text.splitlines()] == shown[-STREAM_PAGE:]
    assert [json.loads(line) for line in cut.text.splitlines()] == shown[: STREAM_PAGE + 1]


async def test_a_feed_page_names_the_units_its_events_concern_when_asked(
    domain_store: EventStore, pool: asyncpg.Pool[Any]
) -> None:
    await load_demo(domain_store)
    _, admin_token = await make_user(domain_store, "admin")
    admin = bearer(admin_token)
    async with api_client(create_app(load_settings({}), pool=pool)) as client:
        plain = await client.get("/events", params={"limit": 50}, headers=admin)
        named = await client.get("/events", params={"limit": 50, "expand": "units"}, headers=admin)
        wrong = await client.get("/events", params={"expand": "everything"}, headers=admin)
    assert named.status_code == 200 and "units" not in plain.json()
    assert named.json()["events"] == plain.json()["events"]
    concerned = {u for e in plain.json()["events"] for u in e["tags"]["units"]}
    assert set(named.json()["units"]) == concerned
    assert named.json()["units"][str(demo_id("unit:ct-tu"))] == {
        "name": "Thành ủy Cần Thơ",
        "short_code": "TU",
    }
    assert wrong.status_code == 400
