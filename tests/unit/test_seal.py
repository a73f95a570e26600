"""The pure seal chain: byte-exact hashing, chaining, export and the naming of differences."""

from __future__ import annotations

import hashlib
import itertools
from datetime import UTC, datetime

from hypothesis import given
from hypothesis import strategies as st

from events.seal import (
    Seal,
    SealedEvent,
    StreamState,
    compare,
    next_seal,
    parse_export,
)
from workers.seals import SealConfig

NOW = datetime(2026, 11, 22, 2, 9, 17, 123456, tzinfo=UTC)


def _events(count: int, streams: int = 3, start: int = 1) -> list[SealedEvent]:
    versions: dict[str, int] = {}
    made = []
    for n in range(start, start + count):
        stream = f"note-{n % streams}"
        versions[stream] = versions.get(stream, 0) + 1
        digest = hashlib.sha256(f"{stream}/{versions[stream]}/{n}".encode()).digest()
        made.append(SealedEvent(1000 + 10 * n, n, stream, versions[stream], digest))
    return made


def _seals(events: list[SealedEvent], cuts: list[int]) -> list[Seal]:
    seals: list[Seal] = []
    bounds = [0, *sorted(set(c for c in cuts if 0 < c < len(events))), len(events)]
    for low, high in itertools.pairwise(bounds):
        seals.append(next_seal(seals[-1] if seals else None, events[low:high], "ep", NOW))
    return seals


def _streams(events: list[SealedEvent]) -> dict[str, StreamState]:
    states: dict[str, dict[int, bytes]] = {}
    for event in events:
        states.setdefault(event.stream_id, {})[event.version] = event.hash
    return {s: StreamState(max(v), v) for s, v in states.items()}


def test_the_seal_hash_is_sha256_of_the_previous_seal_and_the_event_hashes() -> None:
    events = _events(5)
    first = next_seal(None, events[:2], "ep", NOW)
    second = next_seal(first, events[2:], "ep", NOW)
    assert first.seal_hash == hashlib.sha256(events[0].hash + events[1].hash).digest()
    assert (
        second.seal_hash
        == hashlib.sha256(first.seal_hash + b"".join(e.hash for e in events[2:])).digest()
    )
    assert (second.seq, second.count, second.total, second.after) == (2, 3, 5, first.last)
    assert second.heads["note-1"].version == 2 and second.heads["note-1"].hash == events[3].hash


@given(st.integers(1, 40), st.lists(st.integers(1, 39), max_size=6))
def test_how_the_log_is_cut_into_seals_never_changes_the_chain_of_one_cut(
    count: int, cuts: list[int]
) -> None:
    events = _events(count)
    seals = _seals(events, cuts)
    assert sum(s.count for s in seals) == count == seals[-1].total
    assert [p for s in seals for p in s.positions] == [e.position for e in events]
    for previous, seal in itertools.pairwise(seals):
        assert seal.prev_seal_hash == previous.seal_hash
    # Re-parsed from its export, the last seal is itself; the intact log matches it.
    last = seals[-1]
    assert parse_export(last.export_line()) == last
    assert compare(seals, parse_export(last.export_line()), events, _streams(events)) == []


@given(st.integers(4, 30), st.data())
def test_any_event_deleted_or_moved_is_named(count: int, data: st.DataObject) -> None:
    events = _events(count)
    seals = _seals(events, data.draw(st.lists(st.integers(1, count - 1), max_size=3)))
    anchor = parse_export(seals[-1].export_line())
    victim = data.draw(st.integers(0, count - 1))
    gone = events[:victim] + events[victim + 1 :]
    findings = compare(seals, anchor, gone, _streams(gone))
    assert any(f.kind == "missing" and f.position == events[victim].position for f in findings)

    target = data.draw(st.integers(0, count - 1).filter(lambda t: t != victim))
    moved_event = events[victim]
    moved = SealedEvent(
        events[target].tx_id + (5 if target > victim else -5),
        moved_event.position,
        moved_event.stream_id,
        moved_event.version,
        moved_event.hash,
    )
    reordered = [e for e in events if e is not moved_event]
    reordered.insert(reordered.index(events[target]) + (1 if target > victim else 0), moved)
    findings = compare(seals, anchor, reordered, _streams(reordered))
    named = {f.position for f in findings if f.kind == "moved"}
    assert named == {moved_event.position} or (
        abs(target - victim) == 1 and named == {events[target].position}
    ), [f.describe() for f in findings]


def test_a_rehashed_head_is_named() -> None:
    events = _events(6)
    seals = _seals(events, [3])
    streams = _streams(events)
    state = streams["note-1"]
    streams["note-1"] = StreamState(state.last_version, {v: b"\x00" * 32 for v in state.hashes})
    findings = compare(seals, seals[-1], events, streams)
    assert [(f.kind, f.stream_id) for f in findings] == [("rewritten", "note-1")] * len(
        [s for s in seals if "note-1" in s.heads]
    )


def test_when_the_worker_seals() -> None:
    config = SealConfig(every_events=100, every_seconds=60)
    assert config.check_every == 10 and SealConfig(5, 7).check_every == 6
    assert not config.due(0, None)
    assert config.due(1, None)  # the first seal at once
    assert not config.due(99, 59.0)
    assert config.due(100, 1.0) and config.due(1, 60.0)
