"""A read model table of one row per key, kept by a pure fold: read the row, apply the event,
write the row back (insert or update)."""

from __future__ import annotations

import operator
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, fields
from typing import Any, Generic, TypeVar

from events.store import DbConnection

R = TypeVar("R")


def values_of(row: Any) -> tuple[Any, ...]:
    """A dataclass row's field values in order, as they are (`dataclasses.astuple` deep-copies
    every value: it cost more than the rest of a 500-task issue's inline writes)."""
    kind = type(row)
    getter = _getters.get(kind)
    if getter is None:
        names = [f.name for f in fields(kind)]
        many = operator.attrgetter(*names)
        getter = _getters[kind] = many if len(names) > 1 else lambda r: (many(r),)
    return getter(row)


_getters: dict[type, Callable[[Any], Any]] = {}


@dataclass(frozen=True)
class RowTable(Generic[R]):
    table: str
    key: str
    columns: tuple[str, ...]
    """Every stored column, in the order `values` gives them; `key` among them."""
    from_record: Callable[[Mapping[str, Any]], R]
    values: Callable[[R], Sequence[Any]]
    read_columns: tuple[str, ...] = ()
    """The columns `from_record` needs (default: all)."""

    @property
    def _select(self) -> str:
        return (
            f"SELECT {', '.join(self.read_columns or self.columns)} FROM {self.table} "
            f"WHERE {self.key} = $1"
        )

    @property
    def _upsert(self) -> str:
        placeholders = ", ".join(f"${i}" for i in range(1, len(self.columns) + 1))
        updates = ", ".join(f"{c} = EXCLUDED.{c}" for c in self.columns if c != self.key)
        return (
            f"INSERT INTO {self.table} ({', '.join(self.columns)}) VALUES ({placeholders}) "
            f"ON CONFLICT ({self.key}) DO UPDATE SET {updates}"
        )

    async def get(self, connection: DbConnection, key: Any) -> R | None:
        record = await connection.fetchrow(self._select, key)
        return None if record is None else self.from_record(record)

    async def put(self, connection: DbConnection, row: R) -> None:
        await connection.execute(self._upsert, *self.values(row))
