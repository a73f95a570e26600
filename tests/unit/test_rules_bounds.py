"""The rules every command shares, at their bounds: what a text, a set of metrics and the time
a fact takes effect may be, and what a refusal then says."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest

from services.domain import refusal_codes as codes
from services.domain.refusal import Refused
from services.domain.rules import LARGEST_METRIC, metrics, text, when

NOW = datetime(2025, 3, 3, 2, tzinfo=UTC)


def refusal(call: Callable[..., object], *args: object) -> Refused:
    with pytest.raises(Refused) as refused:
        call(*args)
    return refused.value


def test_a_text_has_1_to_its_longest_characters() -> None:
    assert text("  Báo   cáo ", codes.INVALID_TITLE, 7) == "Báo cáo"
    too_long = refusal(text, "Báo cáo!", codes.INVALID_TITLE, 7)
    assert (too_long.code, too_long.detail) == ("invalid-title", "the title has 1 to 7 characters")
    assert refusal(text, "   ", codes.INVALID_REASON).detail == (
        "the reason has 1 to 20000 characters"
    )
    assert text("x" * 20_000, codes.INVALID_TEXT) == "x" * 20_000


def test_a_text_with_a_control_character_says_which() -> None:
    refused = refusal(text, "a\u202eb", codes.INVALID_TITLE)
    assert refused.detail == "the title holds U+202E: no control or bidi control characters"


def test_metric_names_of_1_to_100_characters_and_values_up_to_2_53_minus_1() -> None:
    metrics({"x" * 100: 0, "y": LARGEST_METRIC})
    for name in ("", "x" * 101, "a\x00b"):
        refused = refusal(metrics, {name: 1})
        assert refused.code == "invalid-metrics"
        assert refused.detail == "a metric is named in 1 to 100 characters, no control characters"
        assert refused.extra == {"metric": name[:100]}


def test_a_negative_or_too_large_metric_names_itself() -> None:
    negative = refusal(metrics, {"works": -1})
    assert (negative.detail, negative.extra) == (
        "metric 'works' is negative: counts start at 0",
        {"metric": "works"},
    )
    large = refusal(metrics, {"works": LARGEST_METRIC + 1})
    assert (large.code, large.detail, large.extra) == (
        "metric-overflow",
        "metric 'works' exceeds ±(2^53 - 1)",
        {"metric": "works"},
    )
    many = refusal(metrics, {f"m{i}": 1 for i in range(101)})
    assert many.detail == "at most 100 metrics, not 101"


def test_a_fact_takes_effect_up_to_five_minutes_either_side_of_now() -> None:
    when(NOW + timedelta(minutes=5), NOW, False)
    when(NOW - timedelta(minutes=5), NOW, False)
    future = refusal(when, NOW + timedelta(minutes=5, seconds=1), NOW, False)
    assert (future.code, future.detail) == (
        "effective-in-future",
        "a fact cannot take effect in the future",
    )
    past = refusal(when, NOW - timedelta(minutes=5, seconds=1), NOW, False)
    assert (past.code, past.detail) == (
        "backdating-not-allowed",
        "only an admin or an import records a fact in the past",
    )
    when(NOW - timedelta(days=400), NOW, True)
