"""Valid time: what was in effect at an instant, as now known (the second time of the ledger,
beside the recorded time `as_of` answers for).

An event takes effect at its own effective time: `effective_at`, or `completed_at` for a
completion. An event without one (a plan's draft, a deadline schedule, an attachment) takes
effect with the event before it in its stream, and the first event of a stream with the first
timed one after it. Each stream is cut at its first event not yet in effect: what follows it in
the stream is left out too, so every state folded is one the stream really passed through (a
fact entered late with an earlier effective time than the event before it waits for that one).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from datetime import datetime

from events.assignments import AssignmentCompleted
from events.catalog import Event
from events.envelope import RecordedEvent


def effective_time(event: Event) -> datetime | None:
    """When the event takes effect by its own data; None for an event that has no time."""
    if isinstance(event, AssignmentCompleted):
        return event.completed_at
    moment = getattr(event, "effective_at", None)
    return moment if isinstance(moment, datetime) else None


def in_effect(events: Iterable[RecordedEvent], valid_at: datetime) -> list[RecordedEvent]:
    """The events in effect at `valid_at`, in the order given: each stream's longest prefix
    whose timed events all take effect by then (untimed ones go with their neighbours)."""
    ordered = list(events)
    streams: dict[str, list[RecordedEvent]] = defaultdict(list)
    for recorded in ordered:
        streams[recorded.stream_id].append(recorded)
    kept: set[tuple[str, int]] = set()
    for stream_id, stream in streams.items():
        started = False  # a timed event of the stream is in effect
        waiting: list[int] = []  # untimed events before the first timed one
        for recorded in stream:
            assert recorded.data is not None
            moment = effective_time(recorded.data)
            if moment is not None and moment > valid_at:
                break
            if moment is None and not started:
                waiting.append(recorded.version)
                continue
            if moment is not None and not started:
                started = True
                kept.update((stream_id, version) for version in waiting)
            kept.add((stream_id, recorded.version))
    return [e for e in ordered if (e.stream_id, e.version) in kept]


def has_timed(events: Iterable[RecordedEvent]) -> bool:
    """Whether any of the events takes effect at a time of its own."""
    return any(e.data is not None and effective_time(e.data) is not None for e in events)
