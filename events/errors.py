"""What the event store refuses, as typed errors the HTTP layer maps to problem details."""

from __future__ import annotations


class StoreError(Exception):
    """Base of every refusal by the event store."""

    code = "store-error"


class Conflict(StoreError):
    """Another writer got there first; deciding again on fresh state may succeed."""

    code = "conflict"


class VersionConflict(Conflict):
    code = "version-conflict"

    def __init__(self, stream_id: str, expected: int, actual: int) -> None:
        super().__init__(f"stream {stream_id} is at version {actual}, not {expected}")
        self.stream_id = stream_id
        self.expected = expected
        self.actual = actual


class ReservationTaken(Conflict):
    code = "reservation-taken"

    def __init__(self, scope: str, key: str, holder: str | None) -> None:
        super().__init__(f"{scope} {key!r} is already held by {holder or 'another stream'}")
        self.scope = scope
        self.key = key
        self.holder = holder


class IdempotencyKeyInUse(Conflict):
    """The same actor's key was recorded by a concurrent request: look its answer up."""

    code = "idempotency-key-in-use"

    def __init__(self, actor: str, key: str) -> None:
        super().__init__(f"idempotency key {key!r} of {actor} is already used")
        self.actor = actor
        self.key = key


class IdempotencyKeyReused(StoreError):
    """The actor sent a different request under a key it used before."""

    code = "idempotency-key-reused"

    def __init__(self, actor: str, key: str) -> None:
        super().__init__(
            f"idempotency key {key!r} was first used for a different request; use a new key"
        )
        self.actor = actor
        self.key = key


class DuplicateEvent(StoreError):
    """An event id the caller chose is already stored."""

    code = "duplicate-event"


class UnstorableText(StoreError):
    code = "unstorable-text"


class ClockSkew(StoreError):
    code = "clock-skew"


class InvalidAppend(StoreError):
    """The append itself is malformed: a programming error in the caller, not a conflict."""

    code = "invalid-append"


class InvalidCursor(StoreError):
    code = "invalid-cursor"


class CursorFromAnotherEpoch(StoreError):
    """The cursor was handed out before the store was restored; restart from the beginning."""

    code = "cursor-epoch-gone"

    def __init__(self, cursor_epoch: str, current_epoch: str) -> None:
        super().__init__(
            f"cursor belongs to epoch {cursor_epoch}, the store is now at epoch {current_epoch}"
        )
        self.cursor_epoch = cursor_epoch
        self.current_epoch = current_epoch


class UnknownEventType(StoreError):
    code = "unknown-event-type"
