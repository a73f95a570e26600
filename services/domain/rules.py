"""Rules every decider shares: how texts are cleaned and bounded, and when a fact may be dated."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta

from services.domain import refusal_codes as codes
from services.domain.calendar import check_instant
from services.domain.refusal import Refused
from services.domain.refusal_codes import Code
from services.domain.text import normalize_text, unsafe_character

BACKDATE_TOLERANCE = timedelta(minutes=5)
"""Only the import path and admins record a fact earlier than this before now."""
FUTURE_TOLERANCE = timedelta(minutes=5)


def text(value: str, code: Code, longest: int = 20_000) -> str:
    """NFC, look-alikes fixed, white space collapsed; 1 to `longest` characters, none of them a
    control character or a bidi control (`text.unsafe_character`). `code` is the refusal of an
    out-of-bounds text, invalid-<what>: invalid-title, invalid-reason..."""
    cleaned = normalize_text(value)
    what = code.removeprefix("invalid-")
    if not 1 <= len(cleaned) <= longest:
        raise Refused(code, f"the {what} has 1 to {longest} characters")
    refuse_unsafe(cleaned, code, what)
    return cleaned


LARGEST_METRIC = 2**53 - 1
"""Counts and amounts stay exact in JSON and JCS."""
MOST_METRICS = 100
"""A report carries at most 100 metrics, each named in 1 to 100 characters."""


def optional_text(value: str | None, code: Code, longest: int = 20_000) -> str | None:
    """`text` of a value a command may leave out (None stays None)."""
    return None if value is None else text(value, code, longest)


def metrics(values: Mapping[str, int]) -> None:
    """Metrics are counts and amounts: at most MOST_METRICS of them, each named (1 to 100
    characters, no control or bidi control), none negative, none above 2^53 - 1."""
    if len(values) > MOST_METRICS:
        raise Refused(codes.INVALID_METRICS, f"at most {MOST_METRICS} metrics, not {len(values)}")
    for name, value in values.items():
        if not 1 <= len(name) <= 100 or unsafe_character(name) is not None:
            raise Refused(
                codes.INVALID_METRICS,
                "a metric is named in 1 to 100 characters, no control characters",
                metric=name[:100],
            )
        if value < 0:
            raise Refused(
                codes.INVALID_METRICS,
                f"metric {name!r} is negative: counts start at 0",
                metric=name,
            )
        if value > LARGEST_METRIC:
            raise Refused(
                codes.METRIC_OVERFLOW, f"metric {name!r} exceeds ±(2^53 - 1)", metric=name
            )


def refuse_unsafe(cleaned: str, code: Code, what: str) -> None:
    """Refuse a text holding a control character or a bidi control (white space is collapsed
    to spaces before): it would read otherwise than it is stored."""
    char = unsafe_character(cleaned)
    if char is not None:
        raise Refused(
            code,
            f"the {what} holds U+{ord(char):04X}: no control or bidi control characters",
        )


def when(effective_at: datetime, now: datetime, may_backdate: bool) -> None:
    """A fact takes effect now, or in the past when the actor may backdate; never later, and
    never outside the window of dates (`calendar.EARLIEST` to `calendar.LATEST`)."""
    if effective_at > now + FUTURE_TOLERANCE:
        raise Refused(codes.EFFECTIVE_IN_FUTURE, "a fact cannot take effect in the future")
    check_instant(effective_at, "effective time")
    if effective_at < now - BACKDATE_TOLERANCE and not may_backdate:
        raise Refused(
            codes.BACKDATING_NOT_ALLOWED, "only an admin or an import records a fact in the past"
        )
