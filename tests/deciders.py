"""Given these events, when this command (in this context), then these events or this refusal:
one specification helper for every decider of services/domain, each of the same shape
(`initial(id)`, `decide(command, state, context)`, `evolve(state, event)`).

    spec = Specification(unit, CITY)
    spec.given(registered(...)).when(RenameUnit(...), context).then(UnitRenamed(...))
    spec.given().when(RenameUnit(...)).then_refused(codes.UNKNOWN_UNIT)
    spec.at(state).when(command).then_refused("unit-inactive")
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any, Generic, Protocol, TypeVar
from uuid import UUID

import pytest

from events.catalog import Event
from services.domain.refusal import Decision, Refused

State = TypeVar("State")


class Decider(Protocol[State]):
    """A module of services/domain: unit, user, plan, assignment, model, subscription."""

    def initial(self, id: UUID, /) -> State: ...

    def evolve(self, state: State, event: Event, /) -> State: ...

    def decide(self, command: Any, state: State, context: Any, /) -> Decision: ...


_DEFAULT: Any = object()
"""No context given: the decider's default context."""


@dataclass(frozen=True)
class Specification(Generic[State]):
    decider: Any
    """The decider module (a `Decider`)."""
    id: UUID
    """The aggregate's id when `given` names none."""

    def given(self, *events: Event, id: UUID | None = None) -> Given[State]:
        """The state these events lead to, from the initial state of `id`."""
        initial = self.decider.initial(self.id if id is None else id)
        return Given(self.decider, functools.reduce(self.decider.evolve, events, initial))

    def at(self, state: State) -> Given[State]:
        """A state built elsewhere."""
        return Given(self.decider, state)


@dataclass(frozen=True)
class Given(Generic[State]):
    decider: Any
    state: State

    def when(self, command: Any, context: Any = _DEFAULT) -> When[State]:
        return When(self.decider, self.state, command, context)


@dataclass(frozen=True)
class When(Generic[State]):
    decider: Any
    state: State
    command: Any
    context: Any

    def decision(self) -> Decision:
        if self.context is _DEFAULT:
            result: Decision = self.decider.decide(self.command, self.state)
        else:
            result = self.decider.decide(self.command, self.state, self.context)
        return result

    def then(self, *events: Event) -> Decision:
        """The command yields exactly these events; the decision, for its other parts."""
        decision = self.decision()
        assert decision.events == list(events)
        return decision

    def then_refused(self, code: str) -> Refused:
        """The command is refused with this code; the refusal, for its detail and extras."""
        with pytest.raises(Refused) as refused:
            self.decision()
        assert refused.value.code == code, refused.value.detail
        return refused.value

    def state_after(self) -> State:
        """The state the decided events lead to."""
        return functools.reduce(self.decider.evolve, self.decision().events, self.state)
