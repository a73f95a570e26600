"""A due as a request gives it: an instant, or a date with its reading, and the document's
words (`services/domain/due_reading.py` reads them)."""

from __future__ import annotations

from datetime import datetime

from events.plans import DueRule, StatedDue
from services.api.commanding import Commands
from services.api.times import aware
from services.domain import refusal_codes as codes
from services.domain.due_reading import read_due
from services.domain.refusal import Refused


def written_due(
    commands: Commands,
    due: datetime | None,
    due_date: str | None,
    due_rule: DueRule | None,
    due_text: str | None,
) -> tuple[datetime | None, StatedDue | None]:
    """The instant chased and the due as written, from an instant (`due`) or a date with its
    reading (`due_date`, `due_rule`), and the document's words (`due_text`); neither: no
    deadline."""
    due = aware(due, "due")
    if due is not None and (due_date is not None or due_rule is not None):
        raise Refused(codes.INVALID_DUE, "give the due as an instant or as a date, not both")
    if (due_date is None) != (due_rule is None):
        raise Refused(
            codes.INVALID_DUE,
            "a due_date needs its due_rule (before, by, within_month, within_quarter, "
            "within_year), and a due_rule its due_date",
        )
    on = None
    if due_date is not None and due_rule is not None:
        inclusive = bool(getattr(commands.request.app.state, "due_before_inclusive", False))
        on, due = read_due(due_date, due_rule, before_inclusive=inclusive)
    stated = StatedDue(text=due_text, on=on, rule=due_rule)
    return due, stated if due_text is not None or on is not None else None
