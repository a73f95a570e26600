"""An appended event as an inline read model receives it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from events.catalog import Event


@dataclass(frozen=True)
class Change:
    event: Event
    stream_id: str
    version: int
    """The event's version in its stream."""
    at: datetime
    """When the event was recorded: read models carry the events' own time, so that a rebuild
    comes out identical."""
