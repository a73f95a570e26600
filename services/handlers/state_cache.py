"""Folded aggregate states kept per process, by stream and version, so that a command on a
long-lived stream reads and folds only the events appended since it was last loaded here.

Sound because a stream only grows (events are never rewritten: the store refuses it) and the
folds are pure over immutable states (services/domain: frozen dataclasses, copied on change).
A state is kept only as read from committed events; a command's own events are folded by the
next load like anyone's. One cache per store: a store (and its epoch) is one history."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable
from typing import Any
from weakref import WeakKeyDictionary

from prometheus_client import Counter

from events.store import EventStore

LOADS = Counter(
    "campaign_state_loads_total",
    "Aggregate states loaded by commands, by whether a folded state was found in memory",
    ["source"],
)
Key = tuple[str, Callable[..., Any]]


class StateCache:
    def __init__(self, size: int = 20_000) -> None:
        self.size = size
        self._states: OrderedDict[Key, tuple[int, Any]] = OrderedDict()

    def get(self, stream_id: str, evolve: Callable[..., Any]) -> tuple[int, Any] | None:
        found = self._states.get((stream_id, evolve))
        LOADS.labels("memory" if found else "events").inc()
        if found is not None:
            self._states.move_to_end((stream_id, evolve))
        return found

    def keep(self, stream_id: str, evolve: Callable[..., Any], version: int, state: Any) -> None:
        key = (stream_id, evolve)
        known = self._states.get(key)
        if known is not None and known[0] >= version:
            return  # another command of this process folded further meanwhile
        self._states[key] = (version, state)
        self._states.move_to_end(key)
        while len(self._states) > self.size:
            self._states.popitem(last=False)


_CACHES: WeakKeyDictionary[EventStore, StateCache] = WeakKeyDictionary()


def states_of(store: EventStore) -> StateCache:
    cache = _CACHES.get(store)
    if cache is None:
        cache = _CACHES[store] = StateCache()
    return cache
