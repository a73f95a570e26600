"""The Vietnamese working-day calendar, as literal dates, and deadline step arithmetic."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime

import pytest

from services.domain import calendar
from services.domain.calendar import VIETNAM
from services.domain.deadlines import DEFAULT_POLICY, day_zero, place
from services.domain.refusal import Refused

CALENDAR = calendar.from_rows(*calendar.materialise())


def days_off_between(first: date, last: date) -> list[date]:
    day, off = first, []
    while day <= last:
        if not CALENDAR.is_working(day):
            off.append(day)
        day = date.fromordinal(day.toordinal() + 1)
    return off


@pytest.mark.parametrize(
    ("first", "last", "expected"),
    [
        # Tết 2026: Monday 16/2 to Friday 20/2, with the weekends around it.
        (
            date(2026, 2, 13),
            date(2026, 2, 23),
            [date(2026, 2, d) for d in (14, 15, 16, 17, 18, 19, 20, 21, 22)],
        ),
        # Hùng Kings' day falls on Sunday 26/4/2026: Monday 27/4 is the day off in its place.
        (
            date(2026, 4, 24),
            date(2026, 4, 28),
            [date(2026, 4, 25), date(2026, 4, 26), date(2026, 4, 27)],
        ),
        # 30/4 and 1/5/2026 (Thursday, Friday) and the weekend after.
        (
            date(2026, 4, 29),
            date(2026, 5, 4),
            [date(2026, 4, 30), date(2026, 5, 1), date(2026, 5, 2), date(2026, 5, 3)],
        ),
        # National Day 2/9/2026 (Wednesday) with its adjacent day 1/9, and Monday 31/8 (swapped
        # with Saturday 22/8, which is worked).
        (
            date(2026, 8, 28),
            date(2026, 9, 3),
            [
                date(2026, 8, 29),
                date(2026, 8, 30),
                date(2026, 8, 31),
                date(2026, 9, 1),
                date(2026, 9, 2),
            ],
        ),
        # Vietnam Cultural Day, Tuesday 24/11/2026.
        (date(2026, 11, 23), date(2026, 11, 25), [date(2026, 11, 24)]),
        # The 2026 New Year swap: Friday 2/1 off, Saturday 10/1 worked.
        (date(2026, 1, 1), date(2026, 1, 11), [date(2026, 1, d) for d in (1, 2, 3, 4, 11)]),
    ],
)
def test_vietnamese_days_off(first: date, last: date, expected: list[date]) -> None:
    assert days_off_between(first, last) == expected


def test_swapped_saturdays_are_working_days() -> None:
    for saturday in (date(2026, 1, 10), date(2026, 8, 22), date(2025, 4, 26)):
        assert saturday.weekday() == 5 and CALENDAR.is_working(saturday)


def test_the_calendar_version_names_the_package_and_our_overrides() -> None:
    assert CALENDAR.version == "vn:0.109:1"


def at(text: str) -> datetime:
    return datetime.fromisoformat(text)


def test_day_zero_midnight_belongs_to_the_day_before() -> None:
    assert day_zero(at("2022-10-16T00:00:00+07:00")) == date(2022, 10, 15)
    assert day_zero(at("2022-10-16T00:00:01+07:00")) == date(2022, 10, 16)
    assert day_zero(at("2022-10-15T17:00:00+00:00")) == date(2022, 10, 15)  # the same midnight


def test_seed_003_party_group_1_default_policy() -> None:
    # "trước ngày 16/10/2022": day 0 is Saturday 15/10.
    due, steps = place(at("2022-10-16T00:00:00+07:00"), DEFAULT_POLICY, CALENDAR)
    assert due == at("2022-10-16T00:00:00+07:00")
    assert [(s.step, s.action, s.target, s.at) for s in steps] == [
        ("-3", "remind", "lead", at("2022-10-12T08:00:00+07:00")),
        ("-1", "remind", "lead", at("2022-10-14T08:00:00+07:00")),
        ("0", "miss", "lead", at("2022-10-16T00:00:00+07:00")),
        ("+1", "escalate", "report_to", at("2022-10-17T08:00:00+07:00")),
        ("+3", "escalate", "report_to_parent", at("2022-10-19T08:00:00+07:00")),
    ]


def test_seed_003_with_the_day_off_shift() -> None:
    due, steps = place(
        at("2022-10-16T00:00:00+07:00"), DEFAULT_POLICY, CALENDAR, shift_day_off=True
    )
    assert due == at("2022-10-18T00:00:00+07:00")  # the end of Monday 17/10
    assert {s.step: s.at for s in steps} == {
        "-3": at("2022-10-12T08:00:00+07:00"),
        "-1": at("2022-10-14T08:00:00+07:00"),
        "0": at("2022-10-18T00:00:00+07:00"),
        "+1": at("2022-10-18T08:00:00+07:00"),
        "+3": at("2022-10-20T08:00:00+07:00"),
    }


def test_steps_skip_tet_and_the_new_year_swap() -> None:
    # Due before Monday 23/2/2026 (day 0 Sunday 22/2): -1 is Friday 13/2, before Tết.
    _, steps = place(at("2026-02-23T00:00:00+07:00"), DEFAULT_POLICY, CALENDAR)
    assert {s.step: s.at.date() for s in steps} == {
        "-3": date(2026, 2, 11),
        "-1": date(2026, 2, 13),
        "0": date(2026, 2, 23),
        "+1": date(2026, 2, 23),
        "+3": date(2026, 2, 25),
    }
    # Due at the end of Thursday 8/1/2026: +1 is Friday 9/1, +3 Monday 12/1 counting Saturday 10/1.
    _, steps = place(at("2026-01-09T00:00:00+07:00"), DEFAULT_POLICY, CALENDAR)
    assert {s.step: s.at.date() for s in steps if s.offset > 0} == {
        "+1": date(2026, 1, 9),
        "+3": date(2026, 1, 12),
    }
    # Due at the end of Wednesday 31/12/2025: -1 is Tuesday 30/12, +1 is Monday 5/1
    # (1/1 and 2/1 off).
    _, steps = place(at("2026-01-01T00:00:00+07:00"), DEFAULT_POLICY, CALENDAR)
    assert {s.step: s.at.date() for s in steps if s.offset in (-1, 1)} == {
        "-1": date(2025, 12, 30),
        "+1": date(2026, 1, 5),
    }
    assert all(
        s.at.tzinfo is not None and s.at.utcoffset() == VIETNAM.utcoffset(None) for s in steps
    )


def test_the_stored_calendar_lists_each_exception_with_its_reason() -> None:
    # What `campaign migrate` stores: built here, not at import, so that it is what is tested.
    version, rows = calendar.materialise()
    assert version == calendar.current_version() == "vn:0.109:1"
    by_day = {row.day: (row.working, row.reason) for row in rows}
    assert by_day[date(2026, 2, 17)] == (False, "Lunar New Year")
    # A holiday on a Sunday still says why; the Monday after is off in its place.
    assert by_day[date(2026, 4, 26)] == (False, "Hung Kings' Commemoration Day")
    assert by_day[date(2026, 4, 27)] == (False, "Hung Kings' Commemoration Day (observed)")
    assert by_day[date(2026, 8, 22)] == (True, "Ngày làm bù")  # the package's swapped Saturday
    # Our overrides: the 2026 New Year swap.
    assert by_day[date(2026, 1, 2)] == (
        False,
        "Nghỉ Tết Dương lịch 2026, hoán đổi với thứ Bảy 10/01/2026",
    )
    assert by_day[date(2026, 1, 10)] == (True, "Làm bù cho thứ Sáu 02/01/2026")
    # Only the exceptions to Monday to Friday, in date order, 2010 to 2040.
    assert all(not row.working or row.day.weekday() >= 5 for row in rows)
    assert [row.day for row in rows] == sorted(by_day)
    assert (rows[0].day, rows[-1].day.year) == (date(2010, 1, 1), 2040)
    assert calendar.from_rows(version, rows) == CALENDAR


def test_a_calendar_from_rows_takes_days_off_and_worked_weekend_days() -> None:
    rows = [
        calendar.CalendarDay(date(2026, 3, 2), False, "off"),  # a Monday off
        calendar.CalendarDay(date(2026, 3, 7), True, "worked"),  # a Saturday worked
        calendar.CalendarDay(date(2026, 3, 8), False, "Sunday holiday"),
        calendar.CalendarDay(date(2026, 3, 9), True, "a Monday is worked anyway"),
    ]
    built = calendar.from_rows("v", rows)
    assert built == calendar.Calendar(
        "v", frozenset({date(2026, 3, 2), date(2026, 3, 8)}), frozenset({date(2026, 3, 7)})
    )
    assert [built.is_working(date(2026, 3, d)) for d in range(1, 10)] == [
        False, False, True, True, True, True, True, False, True,
    ]  # fmt: skip


@pytest.mark.parametrize(
    ("day", "expected"),
    [
        (date(2026, 3, 4), date(2026, 3, 4)),  # a Wednesday: itself
        (date(2026, 3, 1), date(2026, 3, 2)),  # a Sunday: the Monday
        (date(2026, 2, 28), date(2026, 3, 2)),  # a Saturday: over the Sunday
        (date(2026, 2, 15), date(2026, 2, 23)),  # the Sunday before Tết: over Tết's week
        (date(2026, 4, 25), date(2026, 4, 28)),  # over Hùng Kings' Sunday and its Monday off
        (date(2026, 1, 1), date(2026, 1, 5)),  # New Year, its swapped Friday, the weekend
        (date(2026, 8, 29), date(2026, 9, 3)),  # over the National Day break
    ],
)
def test_the_next_working_day_skips_every_day_off_and_no_more(day: date, expected: date) -> None:
    assert CALENDAR.next_working_day(day) == expected


def test_a_due_on_the_sunday_before_tet_shifts_to_the_end_of_the_first_day_back() -> None:
    # "trước ngày 16/02/2026": day 0 is Sunday 15/2, then Tết until Sunday 22/2.
    due, steps = place(
        at("2026-02-16T00:00:00+07:00"), DEFAULT_POLICY, CALENDAR, shift_day_off=True
    )
    assert due == at("2026-02-24T00:00:00+07:00")  # the end of Monday 23/2
    assert {s.step: s.at for s in steps if s.offset in (-1, 0, 1)} == {
        "-1": at("2026-02-13T08:00:00+07:00"),  # day 0 is now Monday 23/2: before Tết
        "0": due,
        "+1": at("2026-02-24T08:00:00+07:00"),
    }


def refusal_detail(call: Callable[..., object], *args: object) -> str:
    with pytest.raises(Refused) as refused:
        call(*args)
    assert refused.value.code == "date-out-of-range"
    return refused.value.detail


def test_the_window_of_dates_includes_its_first_and_last_day() -> None:
    assert calendar.check_day(date(1900, 1, 1), "day") == date(1900, 1, 1)
    assert calendar.check_day(date(2100, 12, 31), "day") == date(2100, 12, 31)
    for outside in (date(1899, 12, 31), date(2101, 1, 1)):
        assert refusal_detail(calendar.check_day, outside, "phase date") == (
            f"the phase date {outside.isoformat()} is outside 1900 to 2100"
        )


def test_working_days_are_counted_to_the_edges_of_the_arithmetic() -> None:
    # Friday 30/12/2101 is the last working day counted; Friday 30/12/1898 is before the first.
    assert CALENDAR.working_day(date(2101, 12, 29), 1) == date(2101, 12, 30)
    assert CALENDAR.working_day(date(1899, 1, 3), -1) == date(1899, 1, 2)
    assert refusal_detail(CALENDAR.working_day, date(1899, 1, 2), -1) == (
        "the working day falls outside 1900 to 2100"
    )
    assert refusal_detail(CALENDAR.next_working_day, date(2101, 12, 31)) == (
        "the working day falls outside 1900 to 2100"
    )
    assert refusal_detail(CALENDAR.next_working_day, date(1800, 5, 5)) == (
        "the day 1800-05-05 is outside 1900 to 2100"
    )
    assert refusal_detail(CALENDAR.working_day, date(1800, 5, 5), 2) == (
        "the day 1800-05-05 is outside 1900 to 2100"
    )


def test_the_window_of_instants_is_counted_in_vietnams_days() -> None:
    first, last = at("1900-01-01T00:00:00+07:00"), at("2100-12-31T23:59:59+07:00")
    assert calendar.check_instant(first, "due") == first
    assert calendar.check_instant(last, "due") == last
    # 1900-01-01T00:30+08:00 is still 31/12/1899 in Vietnam.
    assert refusal_detail(calendar.check_instant, at("1900-01-01T00:30:00+08:00"), "due") == (
        "the due 1900-01-01T00:30:00+08:00 is outside 1900 to 2100"
    )
    assert refusal_detail(calendar.check_instant, at("2100-12-31T17:00:00+00:00"), "due") == (
        "the due 2100-12-31T17:00:00+00:00 is outside 1900 to 2100"
    )
