"""What a role does when its database cannot be reached, decided without I/O: it waits a
capped, exponentially growing, jittered delay and tries again, for as long as it takes; it says
so once per outage (not once per retry) and, when the database answers again, how long it was
away."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ReconnectPolicy:
    base_seconds: float = 0.1
    max_seconds: float = 2.0
    """Small: a role should be back within about this long once the database returns."""


@dataclass(frozen=True)
class Outage:
    since: float
    """When the first failure of this outage happened (a monotonic clock's reading)."""
    failures: int


@dataclass(frozen=True)
class Retry:
    outage: Outage
    delay: float
    """Seconds from now."""
    announce: bool
    """The first failure of the outage: say once that the role waits for the database."""


@dataclass(frozen=True)
class Recovered:
    seconds: float
    """From the first failure to the first success."""
    failures: int


def delay(policy: ReconnectPolicy, failures: int, jitter: float) -> float:
    """Seconds before the next attempt after `failures` in a row: base·2^(n-1), capped, of which
    a random half (`jitter` in [0, 1)) is taken off, so that the roles of a fleet do not all
    come back at the same instant."""
    ceiling = min(policy.max_seconds, policy.base_seconds * float(2 ** min(failures - 1, 60)))
    return ceiling * (1 - jitter / 2)


def after_failure(
    policy: ReconnectPolicy, outage: Outage | None, now: float, jitter: float
) -> Retry:
    """`outage`: the one going on (None when the last attempt succeeded)."""
    current = Outage(now, 1) if outage is None else Outage(outage.since, outage.failures + 1)
    return Retry(current, delay(policy, current.failures, jitter), announce=outage is None)


def after_success(outage: Outage | None, now: float) -> Recovered | None:
    """None when there was no outage to end."""
    if outage is None:
        return None
    return Recovered(max(0.0, now - outage.since), outage.failures)
