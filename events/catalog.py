"""The catalogue of event types: each a frozen msgspec Struct with a name and a schema version.

Old shapes are never changed: a new shape gets a new schema version and an upcaster from the old.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import msgspec

from events.errors import UnknownEventType

EventT = TypeVar("EventT", bound="Event")
Upcaster = Callable[[dict[str, Any]], dict[str, Any]]


class Event(msgspec.Struct, frozen=True, kw_only=True):
    """Base of every event's data. Fields are facts in the past tense; no floats."""


class Catalog:
    """Event types by name, with their current schema version and the upcasters to reach it."""

    def __init__(self) -> None:
        self._by_name: dict[str, tuple[type[Event], int]] = {}
        self._by_type: dict[type[Event], tuple[str, int]] = {}
        self._upcasters: dict[tuple[str, int], Upcaster] = {}
        self._decoders: dict[str, msgspec.json.Decoder[Any]] = {}

    def register(
        self, *, name: str | None = None, schema_version: int = 1
    ) -> Callable[[type[EventT]], type[EventT]]:
        def add(cls: type[EventT]) -> type[EventT]:
            type_name = name or cls.__name__
            if _holds_floats(msgspec.json.schema(cls)):
                raise TypeError(f"{type_name} has a float field: events carry no floats")
            if type_name in self._by_name:
                raise ValueError(f"event type {type_name} is registered twice")
            self._by_name[type_name] = (cls, schema_version)
            self._by_type[cls] = (type_name, schema_version)
            self._decoders[type_name] = msgspec.json.Decoder(cls)
            return cls

        return add

    def upcaster(self, type_name: str, from_version: int) -> Callable[[Upcaster], Upcaster]:
        """Register a function turning `type_name` data from `from_version` to the next."""

        def add(fn: Upcaster) -> Upcaster:
            self._upcasters[(type_name, from_version)] = fn
            return fn

        return add

    def name_of(self, event: Event) -> tuple[str, int]:
        try:
            return self._by_type[type(event)]
        except KeyError:
            raise UnknownEventType(f"{type(event).__name__} is not in the catalogue") from None

    def type_of(self, type_name: str) -> tuple[type[Event], int]:
        try:
            return self._by_name[type_name]
        except KeyError:
            raise UnknownEventType(f"event type {type_name} is not in the catalogue") from None

    def type_names(self) -> frozenset[str]:
        """The names of every event type registered."""
        return frozenset(self._by_name)

    def decode(self, type_name: str, schema_version: int, raw: bytes) -> Event:
        """Decode stored data into the current shape, upcasting older schema versions."""
        cls, current = self.type_of(type_name)
        if schema_version == current:
            result: Event = self._decoders[type_name].decode(raw)
            return result
        if schema_version > current:
            raise UnknownEventType(
                f"{type_name} v{schema_version} is newer than this code knows (v{current})"
            )
        data: dict[str, Any] = msgspec.json.decode(raw)
        for version in range(schema_version, current):
            try:
                step = self._upcasters[(type_name, version)]
            except KeyError:
                raise UnknownEventType(
                    f"no upcaster for {type_name} from v{version} to v{version + 1}"
                ) from None
            data = step(data)
        return msgspec.convert(data, cls)


def _holds_floats(schema: Any) -> bool:
    """Whether a JSON schema admits non-integer numbers anywhere (JCS hashes them unreliably)."""
    if isinstance(schema, dict):
        return schema.get("type") == "number" or any(_holds_floats(v) for v in schema.values())
    if isinstance(schema, list):
        return any(_holds_floats(v) for v in schema)
    return False


catalog = Catalog()
"""The domain's catalogue; aggregates register their events here."""
