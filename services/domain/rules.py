"""Rules every decider shares: how texts are cleaned and bounded, and when a fact may be dated."""

from __future__ import annotations

from datetime import datetime, timedelta

from services.domain import refusal_codes as codes
from services.domain.refusal import Refused
from services.domain.refusal_codes import Code
from services.domain.text import normalize_text

BACKDATE_TOLERANCE = timedelta(minutes=5)
"""Only the import path and admins record a fact earlier than this before now."""
FUTURE_TOLERANCE = timedelta(minutes=5)


def text(value: str, code: Code, longest: int = 20_000) -> str:
    """NFC, look-alikes fixed, white space collapsed; 1 to `longest` characters. `code` is the
    refusal of an out-of-bounds text, invalid-<what>: invalid-title, invalid-reason..."""
    cleaned = normalize_text(value)
    if not 1 <= len(cleaned) <= longest:
        what = code.removeprefix("invalid-")
        raise Refused(code, f"the {what} has 1 to {longest} characters")
    return cleaned


def when(effective_at: datetime, now: datetime, may_backdate: bool) -> None:
    """A fact takes effect now, or in the past when the actor may backdate; never later."""
    if effective_at > now + FUTURE_TOLERANCE:
        raise Refused(codes.EFFECTIVE_IN_FUTURE, "a fact cannot take effect in the future")
    if effective_at < now - BACKDATE_TOLERANCE and not may_backdate:
        raise Refused(
            codes.BACKDATING_NOT_ALLOWED, "only an admin or an import records a fact in the past"
        )
