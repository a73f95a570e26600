"""A unit in an answer as an official reads it: its id with its name and short code."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from uuid import UUID


def named(names: Mapping[UUID, dict[str, str]], unit_id: Any) -> dict[str, str | None]:
    """`{id, name, short_code}` for a unit id (a UUID or its text), from `names_of`'s answer;
    a unit not in the directory keeps its id, with no name."""
    known = names.get(unit_id if isinstance(unit_id, UUID) else UUID(str(unit_id)), {})
    return {"id": str(unit_id), "name": known.get("name"), "short_code": known.get("short_code")}
