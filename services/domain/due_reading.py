"""Deadlines as offices write them: a date, its reading and its words, turned into the instant
the ledger chases (in Vietnam's time), both kept.

- "before" ("trước ngày 26/02/2021"): before the day begins, so the due is the start of
  26/02/2021 (the end of the 25th). An operator may read it as inclusive
  (DUE_BEFORE_INCLUSIVE=true): then it is the end of the 26th, as "by".
- "by" ("chậm nhất ngày 26/02/2021", "trong ngày 26/02/2021", "hạn 26/02/2021"): the end of
  the day.
- "within_month" ("trong tháng 5/2019", "cuối tháng 5/2019"): the end of the month's last day.
- "within_quarter" ("quý I/2021"): the end of the quarter's last day (31/03/2021).
- "within_year" ("năm 2021", "trong năm 2021"): the end of 31 December.

An end of day is midnight at the start of the next day (+07:00): a report filed at 23:59 on
the day is on time, and the deadline arithmetic counts that day as day 0.
Dates are accepted as "26/02/2021", "2021-02-26" and "ngày 26 tháng 02 năm 2021"; a month as
"5/2019" or "05/2019", a quarter as "I/2021" (I to IV) or "1/2021", a year as "2021"; a full
date stands for its month, quarter or year under those rules.
"""

from __future__ import annotations

import re
from datetime import date, datetime, time, timedelta
from typing import get_args

from events.plans import DueRule, StatedDue
from services.domain import refusal_codes as codes
from services.domain.calendar import VIETNAM, check_day
from services.domain.refusal import Refused
from services.domain.rules import optional_text

DUE_RULES: tuple[DueRule, ...] = get_args(DueRule)

_NUMERIC = re.compile(r"^\s*(\d{1,2})\s*[/.-]\s*(\d{1,2})\s*[/.-]\s*(\d{4})\s*$")
_ISO = re.compile(r"^\s*(\d{4})-(\d{2})-(\d{2})\s*$")
_WORDS = re.compile(
    r"^\s*(?:ngày\s+)?(\d{1,2})\s+tháng\s+(\d{1,2})\s+năm\s+(\d{4})\s*$", re.IGNORECASE
)
_MONTH = re.compile(r"^\s*(?:tháng\s+)?(\d{1,2})\s*[/.-]\s*(\d{4})\s*$", re.IGNORECASE)
_QUARTER = re.compile(r"^\s*(?:quý\s+)?(IV|I{1,3}|[1-4])\s*[/.-]\s*(\d{4})\s*$", re.IGNORECASE)
_YEAR = re.compile(r"^\s*(?:năm\s+)?(\d{4})\s*$", re.IGNORECASE)
_ROMAN = {"I": 1, "II": 2, "III": 3, "IV": 4}


def parse_date(text: str, what: str = "date") -> date:
    """A date as Vietnamese offices and ISO write it, in the years 1900 to 9000; refused
    `invalid-date` otherwise (each use checks its own window: `check_day`)."""
    for pattern, order in ((_NUMERIC, "dmy"), (_WORDS, "dmy"), (_ISO, "ymd")):
        found = pattern.match(text)
        if found is None:
            continue
        a, b, c = (int(part) for part in found.groups())
        day, month, year = (a, b, c) if order == "dmy" else (c, b, a)
        try:
            if 1900 <= year <= 9000:
                return date(year, month, day)
        except ValueError:
            pass
        break
    raise Refused(
        codes.INVALID_DATE,
        f"{what} {text!r} is not a date: write 26/02/2021, 2021-02-26 or ngày 26 tháng 02 năm 2021",
    )


def period_day(text: str, rule: DueRule) -> date:
    """The day a due's date stands for: the date itself ("before", "by"), or the last day of
    the month, quarter or year it names (which a full date names too)."""
    if rule in ("before", "by"):
        return check_day(parse_date(text, "due_date"), "due_date")
    year: int
    month: int
    if rule == "within_month" and (found := _MONTH.match(text)) is not None:
        month, year = int(found[1]), int(found[2])
    elif rule == "within_quarter" and (found := _QUARTER.match(text)) is not None:
        quarter = _ROMAN.get(found[1].upper()) or int(found[1])
        month, year = quarter * 3, int(found[2])
    elif rule == "within_year" and (found := _YEAR.match(text)) is not None:
        month, year = 12, int(found[1])
    else:
        day = parse_date(text, "due_date")
        year = day.year
        month = {
            "within_month": day.month,
            "within_quarter": (day.month + 2) // 3 * 3,
            "within_year": 12,
        }[rule]
    if not 1 <= month <= 12:
        raise Refused(codes.INVALID_DATE, f"due_date {text!r}: there is no month {month}")
    if not 1 <= year <= 9998:
        raise Refused(codes.INVALID_DATE, f"due_date {text!r}: there is no year {year}")
    following = date(year + 1, 1, 1) if month == 12 else date(year, month + 1, 1)
    return check_day(following - timedelta(days=1), "due_date")


def as_written(stated: StatedDue | None) -> StatedDue | None:
    """The due as the document writes it, its words checked like every text and its day within
    the window; None when it says nothing."""
    if stated is None or (stated.text is None and stated.on is None and stated.rule is None):
        return None
    if stated.on is not None:
        check_day(stated.on, "due_date")
    words = optional_text(stated.text, codes.INVALID_DUE_TEXT, 500)
    return StatedDue(text=words, on=stated.on, rule=stated.rule)


def due_instant(day: date, rule: DueRule, *, before_inclusive: bool = False) -> datetime:
    """The instant a due read under `rule` falls at, for the day `period_day` gave."""
    if rule == "before" and not before_inclusive:
        return datetime.combine(day, time(0, 0), VIETNAM)
    return datetime.combine(day + timedelta(days=1), time(0, 0), VIETNAM)


def read_due(text: str, rule: DueRule, *, before_inclusive: bool = False) -> tuple[date, datetime]:
    """The day a written due names and the instant it falls at."""
    day = period_day(text, rule)
    return day, due_instant(day, rule, before_inclusive=before_inclusive)
