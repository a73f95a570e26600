"""The command path every command takes: load the streams the decision needs, decide (pure),
append with the versions seen, answer with the events appended.

With `If-Match` the decision is strict: a primary stream that moved answers 409. Without it the
command is decided again on the latest state, a few times, so a worker's event never makes an
officer's command fail. An `Idempotency-Key` (per actor) returns the first answer to a retry.
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol, TypeVar, cast
from uuid import UUID

import msgspec

from events.catalog import Event
from events.envelope import (
    Actor as EventActor,
)
from events.envelope import (
    IdempotencyEntry,
    Metadata,
    NewEvent,
    RecordedEvent,
    RecordedRef,
    Reservation,
    StreamWrite,
)
from events.errors import IdempotencyKeyInUse, ReservationTaken, VersionConflict
from events.store import DbConnection, EventStore
from projections import registry
from projections.change import Change
from services.domain import refusal_codes as codes
from services.domain.refusal import Decision, Refused
from services.domain.rules import BACKDATE_TOLERANCE
from services.handlers.auth import Actor
from services.handlers.state_cache import states_of

S = TypeVar("S")

# Which refusal a taken unique key means, by the scope's prefix.
_TAKEN = {
    "unit-code": (codes.DUPLICATE_SHORT_CODE, "the short code is already used under this parent"),
    "docno": (
        codes.DOCUMENT_NUMBER_TAKEN,
        "the issuer already gave this number to another document of this kind and period",
    ),
}


class StaleVersion(Exception):
    """If-Match named a version the stream has moved past."""

    def __init__(self, stream_id: str, expected: int, actual: int) -> None:
        super().__init__(f"{stream_id} is at version {actual}, not {expected}")
        self.stream_id, self.expected, self.actual = stream_id, expected, actual


class Busy(Exception):
    """Still conflicting after every retry."""


@dataclass(frozen=True)
class CommandContext:
    actor: Actor
    now: datetime
    request_id: str | None = None
    correlation_id: str | None = None
    causation_id: str | None = None
    idempotency_key: str | None = None
    request_hash: bytes = b""
    if_match: int | None = None
    entering_history: bool = False
    """The caller enters history wholesale (the demo's import path): every command it sends is
    backdated. Otherwise the handler says whether a command is (`dated`)."""

    def metadata(self, acting_unit: UUID | None = None, *, backdated: bool = False) -> Metadata:
        unit = acting_unit
        return Metadata(
            actor=EventActor(
                user=str(self.actor.user_id) if self.actor.user_id else self.actor.label or None,
                unit=str(unit) if unit else None,
            ),
            correlation_id=self.correlation_id,
            causation_id=self.causation_id,
            request_id=self.request_id,
            backdated=backdated or self.entering_history,
        )


@dataclass(frozen=True)
class Answer:
    id: str
    status: int
    events: list[RecordedRef]
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def cursor(self) -> str | None:
        return self.events[-1].cursor if self.events else None


@dataclass
class Outcome:
    """What a handler decided: events per stream (in order), unique keys, the id it answers with.

    `primary` is the stream If-Match speaks of; `after` writes rows that are not events (personal
    data) in the same transaction.
    """

    answer_id: str
    primary: str
    status: int = 200
    writes: dict[str, list[NewEvent]] = field(default_factory=dict)
    reservations: list[Reservation] = field(default_factory=list)
    releases: list[Reservation] = field(default_factory=list)
    extra: dict[str, Any] = field(default_factory=dict)
    acting_unit: UUID | None = None
    """The unit the actor acted for, as authorised by the handler (metadata.actor.unit)."""
    after: Callable[[DbConnection], Awaitable[None]] | None = None

    def add(self, stream_id: str, decision: Decision, **tags: Any) -> None:
        """Take a decider's decision for `stream_id`, tagging each event alike."""
        self.writes.setdefault(stream_id, []).extend(
            NewEvent(event, **tags) for event in decision.events
        )
        self.reservations += [Reservation(k.scope, k.key, stream_id) for k in decision.reserve]
        self.releases += [Reservation(k.scope, k.key, stream_id) for k in decision.release]


class Session:
    """One attempt at a command: folds the streams it loads and remembers their versions."""

    def __init__(self, store: EventStore, context: CommandContext | None = None) -> None:
        self.store = store
        self.context = context
        self.versions: dict[str, int] = {}
        self._states: dict[str, Any] = {}
        self.backdated = context is not None and context.entering_history
        """Whether the command records facts of the past (an import, an admin's backdating):
        its events' metadata say so. Set by `dated`."""

    @property
    def now(self) -> datetime:
        """The command's instant, by the clock of whoever sends it (the API's, the worker's):
        the command path reads no other."""
        if self.context is None:
            raise RuntimeError("a session without a command context has no instant")
        return self.context.now

    async def load(self, stream_id: str, evolve: Callable[[S, Event], S], initial: S) -> S:
        if stream_id in self._states:
            state: S = self._states[stream_id]
            return state
        version, state = states_of(self.store).get(stream_id, evolve) or (0, initial)
        events = await self.store.read_stream(stream_id, after_version=version)
        return self._settle(stream_id, evolve, version, state, events)

    async def load_many(
        self,
        stream_ids: Sequence[str],
        evolve: Callable[[S, Event], S],
        initial: Callable[[str], S],
    ) -> list[S]:
        """`load` for several streams of one kind at once: the ones not loaded yet are read in
        one query, each after the version its cached state has reached."""
        cache = states_of(self.store)
        start: dict[str, tuple[int, S]] = {}
        for stream_id in stream_ids:
            if stream_id not in self._states and stream_id not in start:
                start[stream_id] = cache.get(stream_id, evolve) or (0, initial(stream_id))
        found = await self.store.read_streams({s: v for s, (v, _) in start.items()})
        for stream_id, (version, state) in start.items():
            self._settle(stream_id, evolve, version, state, found[stream_id])
        return [self._states[stream_id] for stream_id in stream_ids]

    def _settle(
        self,
        stream_id: str,
        evolve: Callable[[S, Event], S],
        version: int,
        state: S,
        events: Sequence[RecordedEvent],
    ) -> S:
        """The state once `events` (read after `version`) are folded on: kept for this
        command, with the version its append asserts, and in the process's cache."""
        state = functools.reduce(evolve, (e.data for e in events if e.data is not None), state)
        if events:
            version = events[-1].version
            states_of(self.store).keep(stream_id, evolve, version, state)
        self.versions[stream_id] = version
        self._states[stream_id] = state
        return state


Handler = Callable[[Session], Awaitable[Outcome]]


class Dated(Protocol):
    """A command carrying the moment it takes effect, and whether it may be in the past."""

    @property
    def effective_at(self) -> datetime: ...
    @property
    def now(self) -> datetime: ...
    @property
    def may_backdate(self) -> bool: ...


D = TypeVar("D", bound=Dated)


def dated(session: Session, actor: Actor, command: D, *, earlier_day: bool = False) -> D:
    """Backdating, decided here once for every command that says when it takes effect, whoever
    sends it (HTTP, the CLI, the demo): only an admin (the operator is one) may date a fact in
    the past, so the command's `may_backdate` is the actor's to have; and a command taking effect
    more than BACKDATE_TOLERANCE before now (or on an `earlier_day`, for a document's issue
    date) enters history: its events' metadata say `backdated` and the deadlines it schedules
    chase nothing that was due back then."""
    if earlier_day or command.effective_at < command.now - BACKDATE_TOLERANCE:
        session.backdated = True
    allowed: D = dataclasses.replace(cast(Any, command), may_backdate=actor.is_admin)
    return allowed


async def execute(
    store: EventStore, context: CommandContext, handler: Handler, *, attempts: int = 5
) -> Answer:
    owner, key = context.actor.idempotency_owner, context.idempotency_key
    if key is not None:
        first = await store.recall(owner, key, context.request_hash)
        if first is not None:
            return _replayed(first.answer, first.events)
    for _ in range(attempts):
        session = Session(store, context)
        try:
            outcome = await handler(session)
        except Refused:
            # A concurrent duplicate under the same key may have changed the state this attempt
            # decided on (it took the short code, the number): it answers with the first
            # answer, not a refusal. The decision read only committed state, so the duplicate
            # that changed it has committed its answer too.
            first = await store.recall(owner, key, context.request_hash) if key else None
            if first is not None:
                return _replayed(first.answer, first.events)
            raise
        seen = session.versions.get(outcome.primary, 0)
        if context.if_match is not None and seen != context.if_match:
            # A duplicate of a request that already moved the stream gets the first answer.
            first = await store.recall(owner, key, context.request_hash) if key else None
            if first is not None:
                return _replayed(first.answer, first.events)
            raise StaleVersion(outcome.primary, context.if_match, seen)
        try:
            result = await _append(store, context, session, outcome)
        except VersionConflict as conflict:
            if context.if_match is not None and conflict.stream_id == outcome.primary:
                raise StaleVersion(outcome.primary, context.if_match, conflict.actual) from None
            continue
        except IdempotencyKeyInUse:
            assert key is not None
            first = await store.recall(owner, key, context.request_hash)
            if first is None:
                continue
            return _replayed(first.answer, first.events)
        except ReservationTaken as taken:
            # The key is looked up before the taken reservation becomes a refusal: a concurrent
            # duplicate under the same key is the holder, and gets the first answer. The append
            # waited for the holder's transaction (a unique insert waits for the concurrent
            # inserter to end), so a holder that committed has its answer stored by now.
            first = await store.recall(owner, key, context.request_hash) if key else None
            if first is not None:
                return _replayed(first.answer, first.events)
            code, detail = _TAKEN.get(
                taken.scope.split(":", 1)[0], (codes.ALREADY_TAKEN, str(taken))
            )
            raise Refused(code, detail, key=taken.key) from None
        store.wake_followers()
        return Answer(outcome.answer_id, outcome.status, result, outcome.extra)
    raise Busy(f"the command kept conflicting with concurrent ones ({attempts} attempts)")


async def _append(
    store: EventStore, context: CommandContext, session: Session, outcome: Outcome
) -> list[RecordedRef]:
    writes = [
        StreamWrite(stream_id, session.versions.get(stream_id, 0), events)
        for stream_id, events in outcome.writes.items()
    ]
    # Streams the decision read but does not write: their versions are asserted.
    writes += [
        StreamWrite(stream_id, version)
        for stream_id, version in session.versions.items()
        if stream_id not in outcome.writes
    ]
    idempotency = None
    if context.idempotency_key is not None:
        answer = msgspec.json.encode(
            _StoredAnswer(outcome.answer_id, outcome.status, outcome.extra)
        )
        idempotency = IdempotencyEntry(
            context.actor.idempotency_owner, context.idempotency_key, context.request_hash, answer
        )
    metadata = context.metadata(outcome.acting_unit, backdated=session.backdated)
    appended = [new.data for events in outcome.writes.values() for new in events]
    if outcome.after is None and not registry.written_inline(appended):
        # Nothing to write beside the events: one statement, its own transaction, no
        # BEGIN and COMMIT round trips.
        return (
            await store.append(
                writes,
                metadata,
                reservations=outcome.reservations,
                releases=outcome.releases,
                idempotency=idempotency,
            )
        ).events
    async with store.pool.acquire() as connection, connection.transaction():
        result = await store.append(
            writes,
            metadata,
            reservations=outcome.reservations,
            releases=outcome.releases,
            idempotency=idempotency,
            connection=connection,
        )
        at = result.recorded_at or context.now
        await registry.write_inline(
            connection,
            [
                Change(new.data, stream_id, session.versions.get(stream_id, 0) + offset, at)
                for stream_id, events in outcome.writes.items()
                for offset, new in enumerate(events, 1)
            ],
        )
        if outcome.after is not None:
            await outcome.after(connection)
    return result.events


class _StoredAnswer(msgspec.Struct):
    id: str
    status: int = 200
    extra: dict[str, Any] = {}


def _replayed(raw: bytes, events: list[RecordedRef]) -> Answer:
    stored = msgspec.json.decode(raw, type=_StoredAnswer)
    return Answer(stored.id, stored.status, events, stored.extra)
