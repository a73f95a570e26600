"""Event types and helpers for store tests; the domain's own events live in services/domain."""

from __future__ import annotations

import uuid

from events.catalog import Catalog, Event
from events.envelope import Metadata, NewEvent, StreamWrite

test_catalog = Catalog()


@test_catalog.register()
class Noted(Event):
    text: str
    count: int = 0


@test_catalog.register()
class Counted(Event):
    writer: int
    seq: int


def new_stream(category: str = "note") -> str:
    return f"{category}-{uuid.uuid4()}"


def noted(text: str = "x", **tags: object) -> NewEvent:
    return NewEvent(Noted(text=text), **tags)  # type: ignore[arg-type]


def write(stream_id: str, expected: int, *texts: str) -> StreamWrite:
    return StreamWrite(stream_id, expected, [noted(t) for t in texts])


METADATA = Metadata()
