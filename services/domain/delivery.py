"""What a webhook delivery attempt leads to, decided without I/O: the cursor moves only after
a 2xx; a failure waits an exponentially growing, jittered delay; after `max_failures` in a row
(or at once, when retrying cannot cure it) the subscription is parked."""

from __future__ import annotations

from dataclasses import dataclass
from http import HTTPStatus


def answered(status: int) -> str:
    """What a delivery that got an answer other than 2xx records: the status and its reason
    phrase, never what the receiver wrote (its body may carry anything, its headers too)."""
    try:
        phrase = HTTPStatus(status).phrase
    except ValueError:
        phrase = ""
    said = f"answered {status} {phrase}".rstrip()
    return said + (" (redirects are not followed)" if 300 <= status < 400 else "")


def no_answer(timeout: float) -> str:
    """What a delivery that got no HTTP answer records, whatever the cause (refused, reset, a
    TLS or protocol error, silence): one message, so that a subscription tells nothing of what
    listens on a port of the target (no port scanner)."""
    return f"could not connect, or no answer within {timeout:g} s"


@dataclass(frozen=True)
class RetryPolicy:
    base_seconds: float = 2.0
    max_seconds: float = 3600.0
    max_failures: int = 10


@dataclass(frozen=True)
class Delivered:
    cursor: str
    events: int


@dataclass(frozen=True)
class Failed:
    reason: str
    curable: bool = True
    """False when a retry cannot succeed without someone acting (the target was refused)."""


@dataclass(frozen=True)
class Advance:
    cursor: str
    events: int


@dataclass(frozen=True)
class RetryLater:
    failures: int
    delay: float
    """Seconds from now."""
    reason: str


@dataclass(frozen=True)
class Park:
    failures: int
    reason: str


Next = Advance | RetryLater | Park


def backoff(policy: RetryPolicy, failures: int, jitter: float) -> float:
    """Seconds before the next attempt after `failures` in a row: base·2^(n-1), capped, of which
    a random half (`jitter` in [0, 1)) is taken off, so that receivers coming back are not hit
    by every subscription at once."""
    ceiling = min(policy.max_seconds, policy.base_seconds * float(2 ** min(failures - 1, 60)))
    return ceiling * (1 - jitter / 2)


def after_attempt(
    policy: RetryPolicy, failures: int, result: Delivered | Failed, jitter: float
) -> Next:
    """`failures`: the failures in a row before this attempt."""
    if isinstance(result, Delivered):
        return Advance(result.cursor, result.events)
    failed = failures + 1
    if not result.curable or failed >= policy.max_failures:
        return Park(failed, result.reason)
    return RetryLater(failed, backoff(policy, failed, jitter), result.reason)
