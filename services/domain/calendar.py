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
from dataclasses import dataclass
from datetime import date, timedelta, timezone
from importlib import resources
from importlib.metadata import version
from typing import Any

VIETNAM = timezone(timedelta(hours=7), "Asia/Ho_Chi_Minh")
"""Vietnam's time (UTC+7, no daylight saving): the day a date, a due or "today" falls in."""
FIRST_YEAR, LAST_YEAR = 2010, 2040


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

    def working_day(self, start: date, n: int) -> date:
        """The nth working day after `start` (before it when n < 0); `start` itself when 0."""
        day, step, left = start, (1 if n > 0 else -1), abs(n)
        while left:
            day += timedelta(days=step)
            if self.is_working(day):
                left -= 1
        return day

    def next_working_day(self, day: date) -> date:
        """`day` if it is a working day, else the first working day after it."""
        while not self.is_working(day):
            day += timedelta(days=1)
        return day


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
