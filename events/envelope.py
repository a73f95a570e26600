"""The envelope around every stored event, and what an append takes and gives back."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from uuid import UUID

import msgspec

from events.catalog import Event
from events.cursor import Cursor


class Actor(msgspec.Struct, frozen=True, kw_only=True):
    user: str | None = None
    unit: str | None = None


class Metadata(msgspec.Struct, frozen=True, kw_only=True):
    """Who recorded the events and why; shared by every event of one append."""

    actor: Actor = Actor()
    on_behalf_of: str | None = None
    correlation_id: str | None = None
    causation_id: str | None = None
    request_id: str | None = None
    backdated: bool = False


class Tags(msgspec.Struct, frozen=True, kw_only=True):
    """Indexed columns written at append and never changed."""

    category: str
    plan_id: UUID | None = None
    units: tuple[UUID, ...] = ()


@dataclass(frozen=True, slots=True)
class NewEvent:
    """An event to append; its type name and schema version come from the catalogue."""

    data: Event
    plan_id: UUID | None = None
    units: Sequence[UUID] = ()
    event_id: UUID | None = None


@dataclass(frozen=True, slots=True)
class StreamWrite:
    """The events for one stream and the version the decision saw; no events asserts the version."""

    stream_id: str
    expected_version: int
    events: Sequence[NewEvent] = ()


@dataclass(frozen=True, slots=True)
class Reservation:
    """A unique key (such as a document number) held by a stream from this append on."""

    scope: str
    key: str
    stream_id: str


@dataclass(frozen=True, slots=True)
class IdempotencyEntry:
    """Record, with the append, the first answer to an actor's request under its key."""

    actor: str
    key: str
    request_hash: bytes
    answer: bytes = b"{}"


@dataclass(frozen=True, slots=True)
class RecordedRef:
    event_id: UUID
    stream_id: str
    version: int
    position: int
    tx_id: int
    epoch: str

    @property
    def cursor(self) -> str:
        return Cursor(self.epoch, self.tx_id, self.position).encode()


@dataclass(frozen=True, slots=True)
class AppendResult:
    events: list[RecordedRef]
    recorded_at: datetime | None = None

    @property
    def cursor(self) -> str | None:
        """The cursor of the last event appended: read models that reached it show the append."""
        return self.events[-1].cursor if self.events else None


@dataclass(frozen=True, slots=True)
class StoredAnswer:
    """The answer recorded under an idempotency key."""

    request_hash: bytes
    answer: bytes
    events: list[RecordedRef]
    cursor: str | None


@dataclass(frozen=True, slots=True)
class RecordedEvent:
    """An event as stored. `raw_data` is the stored JSON; `data` is decoded when asked for."""

    event_id: UUID
    stream_id: str
    version: int
    position: int
    cursor: str
    type: str
    schema_version: int
    raw_data: bytes
    metadata: Metadata
    tags: Tags
    recorded_at: datetime
    prev_hash: bytes | None
    hash: bytes
    data: Event | None = field(default=None)

    def tx_id_position(self) -> tuple[int, int]:
        """The feed order key, as the cursor carries it."""
        cursor = Cursor.decode(self.cursor)
        return cursor.tx_id, cursor.position


@dataclass(frozen=True, slots=True)
class Page:
    events: list[RecordedEvent]
    next: str | None
    rows: list[Any] = field(default_factory=list)
    """Rows as read, when asked for raw (`events.wire` encodes them without building events)."""
    epoch: str = ""
    scanned: str | None = None
    """When the page was not full: a cursor past every event visible when it was read, so a
    filtered follower that found nothing may continue from there without reading it again."""
