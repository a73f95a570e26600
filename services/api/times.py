"""Instants a client sends, in a body or a query string: with an offset, always."""

from __future__ import annotations

import re
from datetime import UTC, datetime, time, timedelta
from typing import overload

from services.api.problems import Problem
from services.domain.calendar import VIETNAM
from services.domain.due_reading import parse_date

_CLOCK = re.compile(r"\d:\d\d")


def has_time(text: str) -> bool:
    """Whether the text carries a time of day: an instant, not a date ("tháng" has a T too)."""
    return _CLOCK.search(text) is not None


@overload
def aware(moment: datetime, name: str) -> datetime: ...
@overload
def aware(moment: datetime | None, name: str) -> datetime | None: ...
def aware(moment: datetime | None, name: str) -> datetime | None:
    """The instant as sent, if it has an offset (422 `naive-time` otherwise): the one check
    for every time a request carries."""
    if moment is not None and moment.tzinfo is None:
        raise Problem(
            422,
            "naive-time",
            "Time without an offset",
            f"{name} needs an offset, such as 2022-10-16T00:00:00+07:00",
        )
    return moment


def instant(moment: datetime | None, name: str) -> datetime | None:
    """A query-string instant: with an offset and within range (422 otherwise)."""
    if aware(moment, name) is None:
        return None
    assert moment is not None
    try:
        moment.astimezone(UTC)
    except OverflowError:
        raise Problem(
            422, "invalid-time", "Time out of range", f"{moment} is out of range"
        ) from None
    return moment


def instant_or_day(text: str | None, name: str) -> datetime | None:
    """A query-string instant with its offset, or a date (20/05/2019, 2019-05-20, ngày 20
    tháng 5 năm 2019) standing for the end of that day in Vietnam's time: its last microsecond,
    so that whatever took effect that day counts."""
    if text is None:
        return None
    if has_time(text):
        try:
            moment = datetime.fromisoformat(text.strip().replace(" ", "+"))
        except ValueError:
            raise Problem(
                422, "invalid-time", "Not an instant", f"{name} {text!r} is not an instant"
            ) from None
        return instant(moment, name)
    day = parse_date(text, name)
    return datetime.combine(day + timedelta(days=1), time(0, 0), VIETNAM) - timedelta(
        microseconds=1
    )
