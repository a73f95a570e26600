"""A campaign's history over HTTP: every event of the plan, in feed order, with its hashes."""

from __future__ import annotations

import uuid
from typing import Any

import asyncpg
import msgspec

from events.store import EventStore
from services.api.app import create_app
from services.ops.demo import demo_id, load_demo
from services.runtime.config import load_settings
from tests.http import api_client
from tests.org import bearer, make_user


async def test_the_history_of_a_campaign(domain_store: EventStore, pool: asyncpg.Pool[Any]) -> None:
    await load_demo(domain_store)
    plan = demo_id("plan:334")
    stored = await pool.fetch(
        "SELECT event_id::text, type FROM events WHERE plan_id = $1 ORDER BY tx_id, position", plan
    )
    _, auditor_token = await make_user(domain_store, "auditor", demo_id("unit:sl-du"))
    _, stranger_token = await make_user(domain_store, "consumer", demo_id("unit:ub"))
    auditor = bearer(auditor_token)
    path = f"/plans/{plan}/history"
    async with api_client(create_app(load_settings({}), pool=pool)) as client:
        whole = await client.get(path, headers=auditor)
        assert whole.status_code == 200, whole.text
        items = whole.json()["items"]
        assert [(e["event_id"], e["type"]) for e in items] == [tuple(r) for r in stored]
        assert items[0]["type"] == "PlanDrafted" and whole.json()["next"] is None
        assert {e["type"] for e in items} >= {"AssignmentIssued", "AssignmentCompleted"}
        last_hash: dict[str, str] = {}
        for event in items:  # each stream's chain reads through the history
            assert event["prev_hash"] == last_hash.get(event["stream_id"])
            last_hash[event["stream_id"]] = event["hash"]
            assert event["metadata"]["actor"] and event["recorded_at"] and event["cursor"]

        paged: list[dict[str, Any]] = []
        after = None
        while True:
            params = {"limit": "4", **({"after": after} if after else {})}
            page = (await client.get(path, headers=auditor, params=params)).json()
            paged += page["items"]
            after = page["next"]
            if after is None:
                break
        assert paged == items

        ndjson = await client.get(path, headers={**auditor, "Accept": "application/x-ndjson"})
        assert ndjson.headers["content-type"].startswith("application/x-ndjson")
        lines = [msgspec.json.decode(line) for line in ndjson.content.splitlines()]
        assert lines == items

        expanded = (await client.get(path, headers=auditor, params={"expand": "units"})).json()
        assert expanded["items"] == items
        assert expanded["units"][str(demo_id("unit:sl-cb"))] == {
            "name": "Chi bộ Cơ sở Điều trị nghiện ma túy tỉnh",
            "short_code": "CB",
        }
        assert set(expanded["units"]) == {u for e in items for u in e["tags"]["units"]}

        refused = {
            "stranger": await client.get(path, headers=bearer(stranger_token)),
            "unknown": await client.get(f"/plans/{uuid.uuid4()}/history", headers=auditor),
            "cursor": await client.get(path, headers=auditor, params={"after": "x"}),
            "limit": await client.get(path, headers=auditor, params={"limit": "0"}),
            "expand": await client.get(path, headers=auditor, params={"expand": "all"}),
        }
        assert {k: v.status_code for k, v in refused.items()} == {
            "stranger": 404,  # outside reach answers like unknown
            "unknown": 404,
            "cursor": 400,
            "limit": 400,
            "expand": 400,
        }


async def test_an_auditor_verifies_one_campaign_and_finds_the_altered_event(
    domain_store: EventStore, pool: asyncpg.Pool[Any]
) -> None:
    await load_demo(domain_store)
    plan = demo_id("plan:334")
    streams = await pool.fetchval(
        "SELECT count(DISTINCT stream_id) FROM events WHERE plan_id = $1", plan
    )
    events = await pool.fetchval(
        "SELECT count(*) FROM events WHERE stream_id IN "
        "(SELECT stream_id FROM events WHERE plan_id = $1)",
        plan,
    )
    _, auditor_token = await make_user(domain_store, "auditor", demo_id("unit:sl-du"))
    _, stranger_token = await make_user(domain_store, "consumer", demo_id("unit:ub"))
    _, admin_token = await make_user(domain_store, "admin")
    auditor = bearer(auditor_token)
    async with api_client(create_app(load_settings({}), pool=pool)) as client:
        nowhere = {"stream": "assignment-nope"}
        unknown = await client.get("/audit/verify", headers=bearer(admin_token), params=nowhere)
        assert unknown.status_code == 404
        clean = await client.get("/audit/verify", headers=auditor, params={"plan": str(plan)})
        assert clean.status_code == 200, clean.text
        assert clean.json() == {
            "ok": True,
            "streams": streams,
            "events": events,
            "first_break": None,
            "breaks": [],
        }

        victim, position = await pool.fetchrow(
            "SELECT stream_id, position FROM events WHERE plan_id = $1 "
            "AND type = 'SubmissionFiled' ORDER BY tx_id, position LIMIT 1",
            plan,
        )
        async with pool.acquire() as connection, connection.transaction():
            await connection.execute("SET LOCAL session_replication_role = replica")
            await connection.execute(
                "UPDATE events SET data = jsonb_set(data, '{text}', '\"sửa\"') WHERE position = $1",
                position,
            )
        for params in ({"plan": str(plan)}, {"stream": victim}):
            broken = (await client.get("/audit/verify", headers=auditor, params=params)).json()
            assert broken["ok"] is False
            assert broken["breaks"][0]["stream_id"] == victim
            assert broken["breaks"][0]["reason"].startswith("hash does not match")

        refused = {
            "stranger": await client.get(
                "/audit/verify", headers=bearer(stranger_token), params={"stream": victim}
            ),
            "neither": await client.get("/audit/verify", headers=auditor),
            "both": await client.get(
                "/audit/verify", headers=auditor, params={"plan": str(plan), "stream": victim}
            ),
            "unknown plan": await client.get(
                "/audit/verify", headers=auditor, params={"plan": str(uuid.uuid4())}
            ),
            "unknown stream": await client.get(
                "/audit/verify", headers=auditor, params={"stream": "assignment-nope"}
            ),
            "NUL": await client.get("/audit/verify", headers=auditor, params={"stream": "a\x00"}),
        }
        assert {k: v.status_code for k, v in refused.items()} == {
            "stranger": 404,  # outside reach answers like unknown
            "neither": 400,
            "both": 400,
            "unknown plan": 404,
            "unknown stream": 404,  # like one outside reach: existence is not told
            "NUL": 422,
        }
