"""Refusals by a rule of the domain, each with a stable code (`services/domain/refusal_codes.py`)
the API maps to one problem type, its status following from the code's kind."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from events.catalog import Event
from services.domain.refusal_codes import Code


class Refused(Exception):
    """The command breaks a rule; nothing is appended."""

    def __init__(self, code: Code, detail: str, **extra: Any) -> None:
        super().__init__(detail)
        self.code: Code = code
        self.detail = detail
        self.extra = extra


@dataclass(frozen=True)
class Key:
    """A unique key (scope, key) a decision takes or gives up, e.g. a unit's code under a parent."""

    scope: str
    key: str


@dataclass(frozen=True)
class Decision:
    """What a decider decided: events for its stream and the unique keys they take or free."""

    events: list[Event]
    reserve: list[Key] = field(default_factory=list)
    release: list[Key] = field(default_factory=list)
