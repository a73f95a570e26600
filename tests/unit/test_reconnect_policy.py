"""The reconnect policy: capped, jittered backoff; one announcement per outage."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from services.runtime.reconnect import (
    Outage,
    ReconnectPolicy,
    Recovered,
    after_failure,
    after_success,
    delay,
)

POLICY = ReconnectPolicy(base_seconds=0.1, max_seconds=2.0)


def test_the_delay_doubles_then_stays_at_the_cap() -> None:
    assert [delay(POLICY, n, 0.0) for n in range(1, 8)] == [0.1, 0.2, 0.4, 0.8, 1.6, 2.0, 2.0]
    assert delay(POLICY, 10_000, 0.0) == 2.0  # no overflow after a very long outage


def test_jitter_takes_off_up_to_half() -> None:
    assert delay(POLICY, 3, 0.5) == 0.4 * 0.75
    assert delay(POLICY, 3, 0.999) > 0.2


@given(st.integers(min_value=1, max_value=10**6), st.floats(min_value=0, max_value=0.999999))
def test_every_delay_lies_between_half_the_ceiling_and_the_cap(
    failures: int, jitter: float
) -> None:
    ceiling = min(POLICY.max_seconds, POLICY.base_seconds * 2 ** min(failures - 1, 60))
    assert ceiling / 2 <= delay(POLICY, failures, jitter) <= POLICY.max_seconds


def test_an_outage_is_announced_once_and_counted() -> None:
    first = after_failure(POLICY, None, now=100.0, jitter=0.0)
    assert first.announce and first.outage == Outage(100.0, 1) and first.delay == 0.1
    second = after_failure(POLICY, first.outage, now=100.5, jitter=0.0)
    assert not second.announce and second.outage == Outage(100.0, 2) and second.delay == 0.2
    third = after_failure(POLICY, second.outage, now=101.0, jitter=1.0 - 1e-9)
    assert not third.announce and third.outage.failures == 3


def test_success_ends_the_outage_and_says_how_long_it_lasted() -> None:
    assert after_success(None, now=5.0) is None
    assert after_success(Outage(100.0, 7), now=112.5) == Recovered(12.5, 7)
    assert after_success(Outage(100.0, 1), now=99.0) == Recovered(0.0, 1)  # clock never negative


def test_a_new_outage_after_a_recovery_is_announced_again() -> None:
    outage = after_failure(POLICY, None, 1.0, 0.0).outage
    assert after_success(outage, 2.0) is not None
    again = after_failure(POLICY, None, 3.0, 0.0)
    assert again.announce and again.outage == Outage(3.0, 1) and again.delay == 0.1
