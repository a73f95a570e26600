"""Seals of the whole log: the pure part (no I/O). `events.sealing` reads and writes them.

A seal chains every event of the log in feed order (tx_id, position), from the previous seal's
last event (excluded) to its own last event (included):

    seal_hash = sha256(prev_seal_hash || hash_1 || hash_2 || ... || hash_count)

where each hash_i is an event's stored 32-byte `hash` and `prev_seal_hash` the previous seal's
`seal_hash` (empty bytes for the first seal). A seal also records the store epoch, the cursor of
its last event (and of the previous seal's), its event count and the running total, and the head
(version, hash) of every stream changed since the previous seal.

Exported (`campaign seal --export`, `GET /audit/seals/latest`) a seal is one JSON object with
sorted keys and no spaces (`export_line`), hashes in lower-case hex:

    {"after": cursor|null, "count": n, "epoch": token,
     "heads": {stream_id: {"hash": hex, "version": v}, ...}, "last": cursor,
     "last_position": p, "prev_seal_hash": hex|null, "seal": seq, "seal_hash": hex,
     "sealed_at": "2026-11-22T02:09:17.123456Z", "total": n}

`compare` sets a database's events beside the seals it should match and names what is missing,
moved (reordered) or rewritten.
"""

from __future__ import annotations

import hashlib
from bisect import bisect_left, bisect_right
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from itertools import pairwise
from typing import Any

import msgspec

from events.codec import utc_text
from events.cursor import Cursor

FeedKey = tuple[int, int]
"""A feed position: (tx_id, position)."""


@dataclass(frozen=True, slots=True)
class SealedEvent:
    """What a seal needs of one event."""

    tx_id: int
    position: int
    stream_id: str
    version: int
    hash: bytes

    @property
    def key(self) -> FeedKey:
        return (self.tx_id, self.position)


@dataclass(frozen=True, slots=True)
class Head:
    version: int
    hash: bytes


@dataclass(frozen=True)
class Seal:
    seq: int
    epoch: str
    after: FeedKey | None
    """The previous seal's last event (None for the first seal)."""
    last: FeedKey
    count: int
    total: int
    heads: Mapping[str, Head]
    prev_seal_hash: bytes | None
    seal_hash: bytes
    sealed_at: datetime | None = None
    positions: tuple[int, ...] = field(default=(), compare=False)
    """The sealed events' positions in feed order (kept in the database, not exported)."""

    def export(self, epoch: str | None = None) -> dict[str, Any]:
        """The exported shape; cursors carry `epoch` (the store's current one by default the
        seal's own), so that they can be given to `GET /events?after=`."""
        token = epoch or self.epoch
        return {
            "after": Cursor(token, *self.after).encode() if self.after else None,
            "count": self.count,
            "epoch": self.epoch,
            "heads": {
                stream: {"hash": head.hash.hex(), "version": head.version}
                for stream, head in sorted(self.heads.items())
            },
            "last": Cursor(token, *self.last).encode(),
            "last_position": self.last[1],
            "prev_seal_hash": self.prev_seal_hash.hex() if self.prev_seal_hash else None,
            "seal": self.seq,
            "seal_hash": self.seal_hash.hex(),
            "sealed_at": utc_text(self.sealed_at) if self.sealed_at else None,
            "total": self.total,
        }

    def export_line(self, epoch: str | None = None) -> bytes:
        return _encoder.encode(self.export(epoch))


_encoder = msgspec.json.Encoder(order="sorted")


class InvalidSeal(ValueError):
    """An exported seal that is not one."""


class _ExportedHead(msgspec.Struct, forbid_unknown_fields=True):
    hash: str
    version: int


class _Exported(msgspec.Struct, forbid_unknown_fields=True):
    after: str | None
    count: int
    epoch: str
    heads: dict[str, _ExportedHead]
    last: str
    last_position: int
    prev_seal_hash: str | None
    seal: int
    seal_hash: str
    sealed_at: datetime | None
    total: int


def _digest(text: str, what: str) -> bytes:
    try:
        value = bytes.fromhex(text)
    except ValueError:
        raise InvalidSeal(f"{what} is not hex") from None
    if len(value) != 32:
        raise InvalidSeal(f"{what} is not a sha256 digest")
    return value


def parse_export(line: str | bytes) -> Seal:
    """A seal from its exported JSON line."""
    try:
        raw = msgspec.json.decode(line, type=_Exported)
        after = Cursor.decode(raw.after) if raw.after else None
        last = Cursor.decode(raw.last)
    except (msgspec.DecodeError, ValueError) as error:
        raise InvalidSeal(f"not an exported seal: {error}") from None
    if raw.seal < 1 or raw.count < 1 or raw.total < raw.count or raw.last_position != last.position:
        raise InvalidSeal("not an exported seal: inconsistent numbers")
    if (raw.seal == 1) != (raw.prev_seal_hash is None):
        raise InvalidSeal("not an exported seal: only the first seal has no previous one")
    return Seal(
        seq=raw.seal,
        epoch=raw.epoch,
        after=(after.tx_id, after.position) if after else None,
        last=(last.tx_id, last.position),
        count=raw.count,
        total=raw.total,
        heads={
            stream: Head(head.version, _digest(head.hash, f"the head of {stream}"))
            for stream, head in raw.heads.items()
        },
        prev_seal_hash=(
            _digest(raw.prev_seal_hash, "prev_seal_hash") if raw.prev_seal_hash else None
        ),
        seal_hash=_digest(raw.seal_hash, "seal_hash"),
        sealed_at=raw.sealed_at,
    )


# -- the chain ---------------------------------------------------------------------------------


def chain(prev_seal_hash: bytes | None, hashes: Iterable[bytes]) -> bytes:
    """sha256(prev_seal_hash || every hash, in order); an empty prefix for the first seal."""
    digest = hashlib.sha256(prev_seal_hash or b"")
    for value in hashes:
        digest.update(value)
    return digest.digest()


def heads_of(events: Iterable[SealedEvent]) -> dict[str, Head]:
    """The last (version, hash) of every stream among the events (taken in feed order)."""
    heads: dict[str, Head] = {}
    for event in events:
        known = heads.get(event.stream_id)
        if known is None or event.version > known.version:
            heads[event.stream_id] = Head(event.version, event.hash)
    return heads


def next_seal(
    previous: Seal | None, events: Sequence[SealedEvent], epoch: str, sealed_at: datetime
) -> Seal:
    """The seal after `previous` over `events`: every event after it, in feed order."""
    if not events:
        raise ValueError("a seal covers at least one event")
    keys = [event.key for event in events]
    if any(a >= b for a, b in pairwise(keys)):
        raise ValueError("events to seal must be in feed order")
    if previous is not None and keys[0] <= previous.last:
        raise ValueError("events to seal must follow the previous seal")
    prev_hash = previous.seal_hash if previous else None
    return Seal(
        seq=previous.seq + 1 if previous else 1,
        epoch=epoch,
        after=previous.last if previous else None,
        last=keys[-1],
        count=len(events),
        total=(previous.total if previous else 0) + len(events),
        heads=heads_of(events),
        prev_seal_hash=prev_hash,
        seal_hash=chain(prev_hash, (event.hash for event in events)),
        sealed_at=sealed_at,
        positions=tuple(event.position for event in events),
    )


# -- checking a log against seals ----------------------------------------------------------------


@dataclass(frozen=True)
class Finding:
    kind: str
    """`missing` (an event or a stream's head is gone), `moved` (an event now sits elsewhere in
    the feed order: its tx_id was rewritten), `rewritten` (a sealed hash differs), `added` (an
    event was not sealed where it now sits), `seal` (a seal itself differs or is gone)."""
    detail: str
    stream_id: str | None = None
    version: int | None = None
    position: int | None = None
    seal: int | None = None

    def describe(self) -> str:
        where = []
        if self.stream_id is not None:
            where.append(
                self.stream_id + (f" version {self.version}" if self.version is not None else "")
            )
        if self.position is not None:
            where.append(f"position {self.position}")
        if self.seal is not None:
            where.append(f"seal {self.seal}")
        return f"{self.kind}: {', '.join(where)}: {self.detail}" if where else self.detail


def _moved_indices(order: Sequence[int]) -> set[int]:
    """Indices of `order` outside one longest increasing subsequence: the fewest elements whose
    moving explains the order (one event moved is one event named, not its neighbours)."""
    tails: list[int] = []  # smallest tail value of an increasing run of each length
    tail_at: list[int] = []  # index in `order` of that tail
    parent = [-1] * len(order)
    for index, value in enumerate(order):
        length = bisect_left(tails, value)
        if length == len(tails):
            tails.append(value)
            tail_at.append(index)
        else:
            tails[length] = value
            tail_at[length] = index
        parent[index] = tail_at[length - 1] if length else -1
    kept: set[int] = set()
    index = tail_at[-1] if tail_at else -1
    while index != -1:
        kept.add(index)
        index = parent[index]
    return set(range(len(order))) - kept


def compare(
    seals: Sequence[Seal],
    anchor: Seal,
    events: Sequence[SealedEvent],
    streams: Mapping[str, StreamState],
    *,
    also: Sequence[Seal] = (),
    limit: int = 100,
) -> list[Finding]:
    """What differs between the log and its seals up to `anchor` (a seal kept outside the
    database). `seals`: the database's seals in order (trusted only as far as they agree with
    the anchor and with the events); `events`: every event of the database in its feed order;
    `streams`: what the database holds of each stream a seal names. Empty when the log up to
    the anchor is the sealed one. `also`: earlier seals kept outside, each compared with the
    database's copy."""
    findings: list[Finding] = []

    def found(finding: Finding) -> None:
        if len(findings) < limit:
            findings.append(finding)

    stored = next((seal for seal in seals if seal.seq == anchor.seq), None)
    if stored is None:
        found(Finding("seal", "the exported seal is not in the database", seal=anchor.seq))
    elif stored != anchor:
        found(
            Finding("seal", "the database's copy differs from the exported seal", seal=anchor.seq)
        )
        stored = None
    for kept in also:
        copy = next((seal for seal in seals if seal.seq == kept.seq), None)
        if copy != kept:
            what = "is not in the database" if copy is None else "differs in the database"
            found(Finding("seal", f"this exported seal {what}", seal=kept.seq))
    trusted = [s for s in seals if s.seq < anchor.seq] + [stored or anchor]
    missing_seals = sorted(set(range(1, anchor.seq + 1)) - {s.seq for s in trusted})
    if missing_seals:
        found(Finding("seal", f"seals {missing_seals} are not in the database", seal=anchor.seq))

    keys = [event.key for event in events]
    upto = bisect_right(keys, anchor.last)
    if upto != anchor.total:
        found(
            Finding(
                "missing" if upto < anchor.total else "added",
                f"{upto} events up to the seal's last one, {anchor.total} sealed",
                seal=anchor.seq,
            )
        )

    # Which seal each sealed position belongs to, and where in it.
    sealed_in: dict[int, tuple[int, int]] = {}
    for seal in trusted:
        for index, position in enumerate(seal.positions):
            sealed_in[position] = (seal.seq, index)
    present = {event.position: event for event in events}
    reported: set[int] = set()

    def name(kind: str, detail: str, event: SealedEvent, seq: int) -> None:
        if event.position not in reported:
            reported.add(event.position)
            found(Finding(kind, detail, event.stream_id, event.version, event.position, seq))

    for number, seal in enumerate(trusted):
        lower = trusted[number - 1].last if number else None
        if number and seal.after != lower:
            found(Finding("seal", "it does not start where the previous seal ends", seal=seal.seq))
        start = bisect_right(keys, lower) if lower is not None else 0
        period = events[start : bisect_right(keys, seal.last)]
        hashed = chain(seal.prev_seal_hash, (event.hash for event in period))
        if hashed == seal.seal_hash and len(period) == seal.count:
            continue
        found(
            Finding(
                "seal",
                f"the {len(period)} events in its part of the feed do not hash to it "
                f"({seal.count} sealed)",
                seal=seal.seq,
            )
        )
        # Named by position: gone, moved to another seal, or moved within this one.
        for position in seal.positions:
            if position not in present and position not in reported:
                reported.add(position)
                found(Finding("missing", "sealed, now gone", position=position, seal=seal.seq))
        order: list[int] = []
        inside: list[SealedEvent] = []
        for event in period:
            place = sealed_in.get(event.position)
            if place is None:
                if seal.positions:
                    name(
                        "added", "not sealed, yet in this seal's part of the feed", event, seal.seq
                    )
            elif place[0] != seal.seq:
                name(
                    "moved",
                    f"sealed by seal {place[0]}, now in seal {seal.seq}'s part of the feed "
                    "(its tx_id was rewritten)",
                    event,
                    place[0],
                )
            else:
                order.append(place[1])
                inside.append(event)
        for index in sorted(_moved_indices(order)):
            name(
                "moved",
                "out of its sealed place in the feed order (its tx_id was rewritten)",
                inside[index],
                seal.seq,
            )
        for position in seal.positions:
            later = present.get(position)
            if later is not None and later.key > seal.last:
                name(
                    "moved",
                    "sealed, now after the seal in the feed order (its tx_id was rewritten)",
                    later,
                    seal.seq,
                )

    # Every head a seal recorded: still there, with the sealed hash (a stream rehashed end to
    # end keeps its chain consistent, not its sealed heads).
    for seal in trusted:
        for stream, head in sorted(seal.heads.items()):
            state = streams.get(stream, StreamState(0, {}))
            actual = state.hashes.get(head.version)
            if actual is None and state.last_version == 0:
                found(
                    Finding(
                        "missing",
                        "sealed head; the whole stream is gone",
                        stream,
                        head.version,
                        seal=seal.seq,
                    )
                )
            elif actual is None:
                found(
                    Finding(
                        "missing",
                        f"sealed head; the stream now ends at version {state.last_version}",
                        stream,
                        head.version,
                        seal=seal.seq,
                    )
                )
            elif actual != head.hash:
                found(
                    Finding(
                        "rewritten",
                        "its hash is not the sealed head's (the stream was rehashed)",
                        stream,
                        head.version,
                        seal=seal.seq,
                    )
                )
    return findings


@dataclass(frozen=True)
class StreamState:
    """What the database holds of a stream a seal names: its last version, and the hash of
    each version the seals name as a head."""

    last_version: int
    hashes: Mapping[int, bytes]
