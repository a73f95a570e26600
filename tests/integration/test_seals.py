"""Seals of the whole log: each kind of tampering a superuser can do behind the triggers' back
is caught by `campaign verify --seal` against a seal exported before, naming the stream or the
position, even when every per-stream chain was recomputed; and a seal never splits a
transaction that commits late."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import asyncpg
import pytest

from events import sealing
from events.codec import chain_hash
from events.seal import Seal, parse_export
from events.store import EventStore
from events.verify import recompute, verify
from tests.cli import campaign
from tests.support import METADATA, new_stream, write


async def _log(store: EventStore) -> list[str]:
    """Three streams of four events, written in interleaved transactions."""
    streams = [new_stream() for _ in range(3)]
    for stream in streams:
        await store.append([write(stream, 0, "một", "hai")], METADATA)
    for stream in streams:
        await store.append([write(stream, 2, "ba"), write(new_stream(), 0, "khác")], METADATA)
    for stream in streams:
        await store.append([write(stream, 3, "bốn")], METADATA)
    return streams


async def _seal_all(pool: asyncpg.Pool[Any]) -> None:
    """Seal until every event is sealed: on a shared cluster another database's open
    transaction can hold the visible horizon back for a while."""
    for _ in range(1200):
        await sealing.seal_now(pool)
        latest = await sealing.latest(pool)
        if latest is not None and latest.total == await pool.fetchval(
            "SELECT count(*) FROM events"
        ):
            return
        await asyncio.sleep(0.05)
    raise AssertionError("the events were never all sealed")


async def _export(pool: asyncpg.Pool[Any], dsn: str, tmp_path: Path) -> Path:
    # Once every event lies below the horizon, one `campaign seal` seals them all in one seal.
    for _ in range(1200):
        if await pool.fetchval(
            "SELECT count(*) FILTER (WHERE tx_id >= store_visible_horizon()) = 0 FROM events"
        ):
            break
        await asyncio.sleep(0.05)
    sealed = campaign(dsn, "seal")
    assert sealed.returncode == 0, sealed.stdout + sealed.stderr
    await _seal_all(pool)
    exported = campaign(dsn, "seal", "--export")
    assert exported.returncode == 0, exported.stderr
    path = tmp_path / "seals.jsonl"
    with path.open("a", encoding="utf-8") as file:
        file.write(exported.stdout)
    return path


async def _tamper(pool: asyncpg.Pool[Any], *statements: tuple[str, list[Any]]) -> None:
    """What a superuser can do behind the triggers' back."""
    async with pool.acquire() as connection, connection.transaction():
        await connection.execute("SET LOCAL session_replication_role = replica")
        for sql, args in statements:
            await connection.execute(sql, *args)


async def _position(pool: asyncpg.Pool[Any], stream: str, version: int) -> int:
    position: int = await pool.fetchval(
        "SELECT position FROM events WHERE stream_id = $1 AND version = $2", stream, version
    )
    return position


def _verify_seal(dsn: str, path: Path) -> tuple[int, str]:
    result = campaign(dsn, "verify", "--seal", str(path))
    return result.returncode, result.stdout + result.stderr


async def test_a_clean_log_matches_its_exported_seal(
    store: EventStore, pool: asyncpg.Pool[Any], dsn: str, tmp_path: Path
) -> None:
    await _log(store)
    path = await _export(pool, dsn, tmp_path)
    line = json.loads(path.read_text())
    assert line["seal"] == 1 and line["total"] == line["count"] == 15
    assert line["prev_seal_hash"] is None and line["after"] is None
    assert len(line["heads"]) == 6 and all(h["version"] in (1, 4) for h in line["heads"].values())
    code, out = _verify_seal(dsn, path)
    assert code == 0, out
    assert "ok: the log matches seal 1: 15 events" in out

    # Nothing new: no empty seal. New events: a second seal, chained to the first.
    again = campaign(dsn, "seal")
    assert "nothing new to seal: seal 1 covers 15 events" in again.stdout
    await store.append([write(new_stream(), 0, "mới")], METADATA)
    path = await _export(pool, dsn, tmp_path)  # appended: the file now holds both seals
    second = parse_export(path.read_text().splitlines()[-1])
    assert (second.seq, second.count, second.total) == (2, 1, 16)
    assert second.prev_seal_hash == parse_export(path.read_text().splitlines()[0]).seal_hash
    code, out = _verify_seal(dsn, path)
    assert code == 0 and "ok: the log matches seal 2: 16 events" in out, out


async def test_the_seals_table_refuses_changes(store: EventStore, pool: asyncpg.Pool[Any]) -> None:
    await _log(store)
    await _seal_all(pool)
    for sql in ("UPDATE seals SET count = 1", "DELETE FROM seals", "TRUNCATE seals"):
        with pytest.raises(asyncpg.PostgresError, match="seals are immutable"):
            await pool.execute(sql)


async def test_an_altered_row_is_named(
    store: EventStore, pool: asyncpg.Pool[Any], dsn: str, tmp_path: Path
) -> None:
    streams = await _log(store)
    path = await _export(pool, dsn, tmp_path)
    position = await _position(pool, streams[1], 2)
    await _tamper(
        pool,
        (
            "UPDATE events SET data = jsonb_set(data, '{text}', '\"sửa\"') "
            "WHERE stream_id = $1 AND version = 2",
            [streams[1]],
        ),
    )
    code, out = _verify_seal(dsn, path)
    assert code == 2
    assert f"BROKEN: {streams[1]} version 2 (position {position})" in out


async def test_an_event_deleted_from_the_middle_is_named(
    store: EventStore, pool: asyncpg.Pool[Any], dsn: str, tmp_path: Path
) -> None:
    streams = await _log(store)
    path = await _export(pool, dsn, tmp_path)
    position = await _position(pool, streams[0], 2)
    await _tamper(pool, ("DELETE FROM events WHERE stream_id = $1 AND version = 2", [streams[0]]))
    code, out = _verify_seal(dsn, path)
    assert code == 2
    assert "TAMPERED: the log differs from seal 1" in out
    assert f"missing: position {position}, seal 1: sealed, now gone" in out
    assert "14 events up to the seal's last one, 15 sealed" in out


async def test_a_deleted_tail_is_named(
    store: EventStore, pool: asyncpg.Pool[Any], dsn: str, tmp_path: Path
) -> None:
    streams = await _log(store)
    path = await _export(pool, dsn, tmp_path)
    position = await _position(pool, streams[2], 4)
    await _tamper(pool, ("DELETE FROM events WHERE stream_id = $1 AND version >= 3", [streams[2]]))
    assert (await verify(pool)).ok  # what plain verify cannot see
    code, out = _verify_seal(dsn, path)
    assert code == 2, out
    assert (
        f"missing: {streams[2]} version 4, seal 1: sealed head; the stream now ends at version 2"
        in out
    )
    assert f"missing: position {position}, seal 1: sealed, now gone" in out


async def test_a_deleted_stream_is_named(
    store: EventStore, pool: asyncpg.Pool[Any], dsn: str, tmp_path: Path
) -> None:
    streams = await _log(store)
    path = await _export(pool, dsn, tmp_path)
    await _tamper(pool, ("DELETE FROM events WHERE stream_id = $1", [streams[1]]))
    assert (await verify(pool)).ok
    code, out = _verify_seal(dsn, path)
    assert code == 2, out
    assert f"missing: {streams[1]} version 4, seal 1: sealed head; the whole stream is gone" in out


async def test_a_feed_reordered_by_tx_id_is_named(
    store: EventStore, pool: asyncpg.Pool[Any], dsn: str, tmp_path: Path
) -> None:
    streams = await _log(store)
    await store.append([write(new_stream(), 0, "sau")], METADATA)
    path = await _export(pool, dsn, tmp_path)
    # The stream's last event moves to the front of the feed, then another one to the back.
    first, last = await pool.fetchrow("SELECT min(tx_id), max(tx_id) FROM events")
    moved = await _position(pool, streams[1], 4)
    later = await _position(pool, streams[0], 1)
    await _tamper(
        pool,
        ("UPDATE events SET tx_id = $1 WHERE position = $2", [first - 1, moved]),
        ("UPDATE events SET tx_id = $1 WHERE position = $2", [last + 1, later]),
    )
    assert (await verify(pool)).ok
    code, out = _verify_seal(dsn, path)
    assert code == 2, out
    assert (
        f"moved: {streams[1]} version 4, position {moved}, seal 1: out of its sealed place" in out
    )
    assert (
        f"moved: {streams[0]} version 1, position {later}, seal 1: sealed, now after the seal"
        in out
    )
    # Exactly the two events that moved are named, not their neighbours.
    assert out.count("moved:") == 2


async def test_a_stream_rehashed_end_to_end_is_named(
    store: EventStore, pool: asyncpg.Pool[Any], dsn: str, tmp_path: Path
) -> None:
    streams = await _log(store)
    victim = streams[0]
    path = await _export(pool, dsn, tmp_path)
    async with pool.acquire() as connection, connection.transaction():
        await connection.execute("SET LOCAL session_replication_role = replica")
        await connection.execute(
            "UPDATE events SET data = jsonb_set(data, '{text}', '\"sửa\"') "
            "WHERE stream_id = $1 AND version = 2",
            victim,
        )
        previous = None
        for row in await connection.fetch(
            "SELECT * FROM events WHERE stream_id = $1 ORDER BY version", victim
        ):
            digest = chain_hash(previous, recompute(row))
            await connection.execute(
                "UPDATE events SET prev_hash = $1, hash = $2 WHERE position = $3",
                previous,
                digest,
                row["position"],
            )
            previous = digest
    report = await verify(pool)
    assert report.ok, report.breaks  # every chain consistent again
    plain = campaign(dsn, "verify")
    assert plain.returncode == 0, plain.stdout
    code, out = _verify_seal(dsn, path)
    assert code == 2, out
    assert f"rewritten: {victim} version 4, seal 1: its hash is not the sealed head's" in out
    assert "seal 1: the 15 events in its part of the feed do not hash to it" in out


async def test_a_rewritten_seals_table_is_caught_by_the_export(
    store: EventStore, pool: asyncpg.Pool[Any], dsn: str, tmp_path: Path
) -> None:
    streams = await _log(store)
    path = await _export(pool, dsn, tmp_path)
    await _tamper(
        pool,
        ("DELETE FROM events WHERE stream_id = $1", [streams[2]]),
        ("DELETE FROM seals", []),
    )
    await sealing.seal_now(pool)  # a fresh seal over the altered log
    code, out = _verify_seal(dsn, path)
    assert code == 2, out
    assert "the database's copy differs from the exported seal" in out
    assert f"missing: {streams[2]} version 4, seal 1: sealed head; the whole stream is gone" in out


async def test_a_seal_never_splits_a_transaction_that_commits_late(
    store: EventStore, pool: asyncpg.Pool[Any], dsn: str, tmp_path: Path
) -> None:
    early = new_stream()
    await store.append([write(early, 0, "trước")], METADATA)
    late, after = new_stream(), new_stream()
    async with pool.acquire() as connection:
        transaction = connection.transaction()
        await transaction.start()
        try:
            # Drawn first (lower position, lower tx_id), committed last.
            await store.append([write(late, 0, "muộn")], METADATA, connection=connection)
            await store.append([write(after, 0, "sau", "nữa")], METADATA)
            held: list[Seal] = []
            while not held:  # another database's transaction may hold the horizon a moment
                held = await sealing.seal_now(pool)
                await asyncio.sleep(0.05)
            assert [(s.seq, s.count) for s in held] == [(1, 1)]
            assert set(held[0].heads) == {early}  # nothing at or behind the open transaction
            assert await sealing.seal_now(pool) == []
        finally:
            await transaction.commit()
    await _seal_all(pool)
    sealed = [
        list(row["positions"])
        for row in await pool.fetch("SELECT positions FROM seals ORDER BY seq")
    ]
    feed = [
        row["position"]
        for row in await pool.fetch("SELECT position FROM events ORDER BY tx_id, position")
    ]
    # Every event sealed once, in feed order: the late one after the seal made while it was
    # open, never behind it.
    assert (
        sealed[0] == list(held[0].positions)
        and [p for positions in sealed for p in positions] == feed
    )
    late_position = await _position(pool, late, 1)
    assert late_position < max(sealed[1]) and late_position in sealed[1]
    path = await _export(pool, dsn, tmp_path)
    code, out = _verify_seal(dsn, path)
    assert code == 0, out


async def test_the_api_serves_the_latest_seal_to_auditors_and_the_readme_checks_it(
    domain_store: EventStore, pool: asyncpg.Pool[Any], dsn: str
) -> None:
    from services.api.app import create_app
    from services.ops.demo import demo_id, load_demo
    from services.runtime.config import load_settings
    from tests.http import api_client
    from tests.org import bearer, make_user

    await load_demo(domain_store)
    _, admin = await make_user(domain_store, "admin")
    _, top = await make_user(domain_store, "auditor", demo_id("unit:ct-tu"))
    _, below = await make_user(domain_store, "auditor", demo_id("unit:ct-btv"))
    _, consumer = await make_user(domain_store, "consumer", demo_id("unit:ct-tu"))
    check_seal = readme_check_seal()
    path = "/audit/seals/latest"
    async with api_client(create_app(load_settings({}), pool=pool)) as client:
        none_yet = await client.get(path, headers=bearer(admin))
        assert none_yet.status_code == 404 and none_yet.json()["type"].endswith("/no-seal")
        await _seal_all(pool)
        await make_user(domain_store, "officer", demo_id("unit:ct-btv"))  # a few more events
        await _seal_all(pool)

        answers = {
            who: await client.get(path, headers=bearer(token))
            for who, token in {
                "admin": admin,
                "top": top,
                "below": below,
                "consumer": consumer,
            }.items()
        }
        assert {who: a.status_code for who, a in answers.items()} == {
            "admin": 200,
            "top": 200,
            "below": 403,
            "consumer": 403,
        }
        assert (await client.get(path)).status_code == 401
        seal = answers["top"].json()
        exported = campaign(dsn, "seal", "--export")
        assert answers["admin"].content + b"\n" == exported.stdout.encode()
        assert seal["seal"] >= 2 and seal["after"] is not None

        async def feed(after: str | None) -> list[dict[str, Any]]:
            events: list[dict[str, Any]] = []
            while True:
                params = {"limit": "10000", **({"after": after} if after else {})}
                page = (await client.get("/events", headers=bearer(admin), params=params)).json()
                events += page["events"]
                if not page["events"]:
                    return events
                after = page["next"]

        events = await feed(seal["after"])
        check_seal(seal, events)  # the README's snippet, verbatim
        first = parse_export(
            (await client.get(path, headers=bearer(admin))).content
        )  # the same seal parses back
        assert first.seal_hash.hex() == seal["seal_hash"]
        everything = await feed(None)
        assert len(everything) == seal["total"]
        with pytest.raises(AssertionError, match="added or deleted"):
            check_seal(seal, [e for e in events if e["cursor"] != events[0]["cursor"]])
        swapped = [events[1], events[0], *events[2:]]
        with pytest.raises(AssertionError):
            check_seal(seal, swapped)


def readme_check_seal() -> Any:
    """The seal verification snippet of the README, run as an auditor would run it."""
    import re

    text = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")
    (snippet,) = [
        block
        for block in re.findall(r"```python\n(.*?)```", text, re.S)
        if "def check_seal(" in block
    ]
    scope: dict[str, Any] = {}
    exec(compile(snippet, "README.md", "exec"), scope)
    return scope["check_seal"]


@pytest.mark.slow
async def test_the_worker_seals_what_waits(
    store: EventStore, pool: asyncpg.Pool[Any], dsn: str, redis_url: str, tmp_path: Path
) -> None:
    from tests.processes import start_campaign, stop

    await _log(store)
    worker = start_campaign(
        tmp_path / "worker.log",
        "worker",
        "--name",
        "sealer",
        DATABASE_URL=dsn,
        REDIS_URL=redis_url,
        SEAL_EVERY_EVENTS="1",
        SEAL_EVERY_SECONDS="1",
    )
    try:

        async def all_sealed() -> bool:
            latest = await sealing.latest(pool)
            total = await pool.fetchval("SELECT count(*) FROM events")
            return latest is not None and latest.total == total

        for _ in range(2):
            for _ in range(1200):
                if await all_sealed():
                    break
                assert worker.poll() is None, (tmp_path / "worker.log").read_text()
                await asyncio.sleep(0.1)
            else:
                raise AssertionError((tmp_path / "worker.log").read_text())
            await store.append([write(new_stream(), 0, "thêm")], METADATA)
    finally:
        assert stop(worker) == 0
    assert (await verify(pool)).ok
