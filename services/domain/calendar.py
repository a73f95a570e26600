"""The working-day calendar of Vietnam, materialised per version.

A version is the `holidays` package's Vietnamese holidays (at its pinned version) plus our own
overrides (`services/data/vn_calendar_overrides.json`: days off added, weekend days worked).
`campaign migrate` stores the current version's exceptions to the Monday-to-Friday rule in
`calendar_days` once (`projections/calendar.py` holds the tables' queries); a schedule records
the version it used and is recomputed only from the stored rows, so upgrading the package never
moves a recorded deadline.
"""

from __future__ import annotations

import json
from bisect import bisect_right
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from functools import cached_property
from importlib import resources
from importlib.metadata import version
from typing import Any

from services.domain import refusal_codes as codes
from services.domain.refusal import Refused

VIETNAM = timezone(timedelta(hours=7), "Asia/Ho_Chi_Minh")
"""Vietnam's time (UTC+7, no daylight saving): the day a date, a due or "today" falls in."""
FIRST_YEAR, LAST_YEAR = 2010, 2040

EARLIEST, LATEST = date(1900, 1, 1), date(2100, 12, 31)
"""The window of every date and instant a command carries (in Vietnam's time): outside it a
command is refused with `date-out-of-range`."""
_LOWEST, _HIGHEST = date(1899, 1, 1).toordinal(), date(2101, 12, 31).toordinal()
"""What the working-day arithmetic computes on: the window and a year either side (a due at
midnight on 1900-01-01 has its day 0 on 1899-12-31). Beyond it, `date-out-of-range`."""


def day_of(due: datetime) -> date:
    """The day in Vietnam a due ends (an instant at midnight ends the day before)."""
    return (due.astimezone(VIETNAM) - timedelta(microseconds=1)).date()


def check_day(day: date, what: str) -> date:
    """`day` if within the window (EARLIEST to LATEST), else refused `date-out-of-range`."""
    if not EARLIEST <= day <= LATEST:
        raise Refused(
            codes.DATE_OUT_OF_RANGE,
            f"the {what} {day.isoformat()} is outside {EARLIEST.year} to {LATEST.year}",
        )
    return day


def check_instant(moment: datetime, what: str) -> datetime:
    """`moment` if its day in Vietnam is within the window, else refused `date-out-of-range`
    (never an OverflowError, whatever the year and offset)."""
    try:
        day = moment.astimezone(VIETNAM).date()
    except (OverflowError, ValueError):
        day = moment.date()
    if not EARLIEST <= day <= LATEST:
        raise Refused(
            codes.DATE_OUT_OF_RANGE,
            f"the {what} {moment.isoformat()} is outside {EARLIEST.year} to {LATEST.year}",
        )
    return moment


_REMEMBERED = 10_000
"""Answers of `working_day` one calendar keeps (about 2 MB); past it, it starts afresh. The
days asked about are few: the dues of the tasks open, a few steps around each."""


def _weekdays_through(ordinal: int) -> int:
    """Mondays to Fridays from 0001-01-01 (a Monday, ordinal 1) through `ordinal`."""
    return ordinal // 7 * 5 + min(ordinal % 7, 5)


@dataclass(frozen=True)
class Calendar:
    """Working days: Monday to Friday, except the days off; plus the weekend days worked."""

    version: str
    days_off: frozenset[date]
    weekend_workdays: frozenset[date]

    def is_working(self, day: date) -> bool:
        if day in self.days_off:
            return False
        return day.weekday() < 5 or day in self.weekend_workdays

    @cached_property
    def _removed(self) -> list[int]:
        """Days off falling Monday to Friday, as sorted ordinals."""
        return sorted(d.toordinal() for d in self.days_off if d.weekday() < 5)

    @cached_property
    def _added(self) -> list[int]:
        """Weekend days worked (and not also off), as sorted ordinals."""
        return sorted(
            d.toordinal()
            for d in self.weekend_workdays
            if d.weekday() >= 5 and d not in self.days_off
        )

    def _worked_through(self, ordinal: int) -> int:
        """Working days from 0001-01-01 through `ordinal`: O(log of the exceptions)."""
        return (
            _weekdays_through(ordinal)
            - bisect_right(self._removed, ordinal)
            + bisect_right(self._added, ordinal)
        )

    def _first_reaching(self, count: int, what: str) -> date:
        """The first day through which `count` days were worked: a working day. A binary search
        over the arithmetic's range, so bounded work whatever the count."""
        lo, hi = _LOWEST, _HIGHEST
        if self._worked_through(lo) >= count or self._worked_through(hi) < count:
            raise Refused(
                codes.DATE_OUT_OF_RANGE,
                f"the {what} falls outside {EARLIEST.year} to {LATEST.year}",
            )
        while hi - lo > 1:  # worked_through(lo) < count <= worked_through(hi)
            mid = (lo + hi) // 2
            if self._worked_through(mid) >= count:
                hi = mid
            else:
                lo = mid
        return date.fromordinal(hi)

    def _check_start(self, day: date, what: str) -> int:
        ordinal = day.toordinal()
        if not _LOWEST <= ordinal <= _HIGHEST:
            raise Refused(
                codes.DATE_OUT_OF_RANGE,
                f"the {what} {day.isoformat()} is outside {EARLIEST.year} to {LATEST.year}",
            )
        return ordinal

    @cached_property
    def _answers(self) -> dict[tuple[date, int], date]:
        return {}

    def working_day(self, start: date, n: int) -> date:
        """The nth working day after `start` (before it when n < 0); `start` itself when 0.
        Computed by counting, not by walking: bounded work for any n; a start or an answer
        outside the arithmetic's range (1899 to 2101) is refused `date-out-of-range`.
        Remembered: the tasks of one item share their due, and so their schedule's days."""
        answers = self._answers
        found = answers.get((start, n))
        if found is None:
            if len(answers) >= _REMEMBERED:
                answers.clear()
            found = answers[(start, n)] = self._count(start, n)
        return found

    def _count(self, start: date, n: int) -> date:
        ordinal = self._check_start(start, "day")
        if n == 0:
            return start
        worked = self._worked_through(ordinal)
        if n > 0:
            return self._first_reaching(worked + n, "working day")
        # The working days before `start` are counted through the day before it.
        return self._first_reaching(self._worked_through(ordinal - 1) + n + 1, "working day")

    def next_working_day(self, day: date) -> date:
        """`day` if it is a working day, else the first working day after it."""
        ordinal = self._check_start(day, "day")
        if self.is_working(day):
            return day
        return self._first_reaching(self._worked_through(ordinal) + 1, "working day")


@dataclass(frozen=True)
class CalendarDay:
    day: date
    working: bool
    reason: str


def overrides() -> dict[str, Any]:
    text = (resources.files("services") / "data" / "vn_calendar_overrides.json").read_text(
        encoding="utf-8"
    )
    data: dict[str, Any] = json.loads(text)
    return data


def current_version() -> str:
    return f"vn:{version('holidays')}:{overrides()['version']}"


def materialise() -> tuple[str, list[CalendarDay]]:
    """The current version and its exceptions to the weekday rule, from the package and ours."""
    import holidays

    found = holidays.country_holidays("VN", years=range(FIRST_YEAR, LAST_YEAR + 1))
    days: dict[date, CalendarDay] = {
        day: CalendarDay(day, False, str(name)) for day, name in sorted(found.items())
    }
    for day in sorted(getattr(found, "weekend_workdays", ())):
        days[day] = CalendarDay(day, True, "Ngày làm bù")
    mine = overrides()
    for entry in mine["days_off"]:
        day = date.fromisoformat(entry["date"])
        days[day] = CalendarDay(day, False, entry["reason"])
    for entry in mine["working_days"]:
        day = date.fromisoformat(entry["date"])
        days[day] = CalendarDay(day, True, entry["reason"])
    # Keep only what differs from Monday to Friday (a holiday on a Sunday still says why).
    rows = [d for d in days.values() if d.working != (d.day.weekday() < 5) or not d.working]
    return current_version(), sorted(rows, key=lambda d: d.day)


def from_rows(version: str, rows: list[CalendarDay]) -> Calendar:
    return Calendar(
        version,
        frozenset(r.day for r in rows if not r.working),
        frozenset(r.day for r in rows if r.working and r.day.weekday() >= 5),
    )
