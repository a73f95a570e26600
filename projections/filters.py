"""WHERE clauses built from optional filters, their parameters numbered as they are added."""

from __future__ import annotations

from typing import Any


class Filters:
    def __init__(self) -> None:
        self.conditions: list[str] = []
        self.params: list[Any] = []

    def param(self, value: Any) -> str:
        """The placeholder standing for `value` ($1, $2, ...)."""
        self.params.append(value)
        return f"${len(self.params)}"

    def add(self, condition: str) -> None:
        self.conditions.append(condition)

    @property
    def where(self) -> str:
        return f"WHERE {' AND '.join(self.conditions)}" if self.conditions else ""


def escape_like(text: str) -> str:
    """`text` matched literally by LIKE (its `\\`, `%` and `_` escaped)."""
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
