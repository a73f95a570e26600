"""Deadlines as offices write them, read into instants: the table of phrases, dates and instants
(weekends and Tết included), and the refusals of what is not a date."""

from __future__ import annotations

from datetime import date, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from services.domain import calendar
from services.domain.calendar import VIETNAM
from services.domain.deadlines import DEFAULT_POLICY, day_zero, place
from services.domain.due_reading import DueRule, parse_date, read_due
from services.domain.refusal import Refused

CALENDAR = calendar.from_rows(*calendar.materialise())

# The words of the document, the date and rule a clerk enters, the instant the ledger chases
# (+07:00), day 0 of the deadline arithmetic, and the first reminder (3 working days before
# day 0, at 08:00) as the calendar places it.
TABLE: list[tuple[str, str, DueRule, str, str, str]] = [
    (
        "trước ngày 26/02/2021",
        "26/02/2021",
        "before",
        "2021-02-26T00:00:00+07:00",
        "2021-02-25",
        "2021-02-22T08:00:00+07:00",
    ),
    (
        "chậm nhất ngày 26/02/2021",
        "2021-02-26",
        "by",
        "2021-02-27T00:00:00+07:00",
        "2021-02-26",
        "2021-02-23T08:00:00+07:00",
    ),
    # Tết Tân Sửu: 10-16/02/2021 are days off, so three working days before the 18th reach
    # back across the holiday to the 8th.
    (
        "trong ngày 18/02/2021",
        "18/02/2021",
        "by",
        "2021-02-19T00:00:00+07:00",
        "2021-02-18",
        "2021-02-08T08:00:00+07:00",
    ),
    # A Saturday: day 0 is the Saturday itself; the reminders count working days before it.
    (
        "trước ngày 15/5/2022",
        "15/5/2022",
        "before",
        "2022-05-15T00:00:00+07:00",
        "2022-05-14",
        "2022-05-11T08:00:00+07:00",
    ),
    (
        "trong tháng 5/2019",
        "5/2019",
        "within_month",
        "2019-06-01T00:00:00+07:00",
        "2019-05-31",
        "2019-05-28T08:00:00+07:00",
    ),
    (
        "cuối tháng 5/2019",
        "ngày 10 tháng 5 năm 2019",
        "within_month",
        "2019-06-01T00:00:00+07:00",
        "2019-05-31",
        "2019-05-28T08:00:00+07:00",
    ),
    (
        "trong tháng 1/2021",
        "01/2021",
        "within_month",
        "2021-02-01T00:00:00+07:00",
        "2021-01-31",
        "2021-01-27T08:00:00+07:00",
    ),
    (
        "quý I/2021",
        "I/2021",
        "within_quarter",
        "2021-04-01T00:00:00+07:00",
        "2021-03-31",
        "2021-03-26T08:00:00+07:00",
    ),
    (
        "quý IV/2020",
        "15/11/2020",
        "within_quarter",
        "2021-01-01T00:00:00+07:00",
        "2020-12-31",
        "2020-12-28T08:00:00+07:00",
    ),
    (
        "năm 2021",
        "2021",
        "within_year",
        "2022-01-01T00:00:00+07:00",
        "2021-12-31",
        "2021-12-28T08:00:00+07:00",
    ),
    # The day before Tết Nhâm Dần (31/01-04/02/2022 off): the reminders fall in the week before.
    (
        "chậm nhất ngày 28/01/2022",
        "28/01/2022",
        "by",
        "2022-01-29T00:00:00+07:00",
        "2022-01-28",
        "2022-01-25T08:00:00+07:00",
    ),
]


@pytest.mark.parametrize(("words", "written", "rule", "instant", "zero", "reminder"), TABLE)
def test_a_written_due_is_read_into_its_instant(
    words: str, written: str, rule: DueRule, instant: str, zero: str, reminder: str
) -> None:
    _, due = read_due(written, rule)
    assert due.isoformat() == instant, words
    assert day_zero(due) == date.fromisoformat(zero)
    _, steps = place(due, DEFAULT_POLICY, CALENDAR)
    assert steps[0].step == "-3" and steps[0].at.isoformat() == reminder


def test_before_read_as_inclusive_is_the_end_of_the_day() -> None:
    _, exclusive = read_due("26/02/2021", "before")
    _, inclusive = read_due("26/02/2021", "before", before_inclusive=True)
    assert exclusive.isoformat() == "2021-02-26T00:00:00+07:00"
    assert inclusive.isoformat() == "2021-02-27T00:00:00+07:00"


@pytest.mark.parametrize(
    ("text", "rule"),
    [
        ("31/02/2021", "by"),
        ("2021-13-01", "by"),
        ("hôm nay", "before"),
        ("13/2021", "within_month"),
        ("V/2021", "within_quarter"),
        ("20211", "within_year"),
        ("01/01/1800", "by"),
        ("", "by"),
    ],
)
def test_what_is_not_a_date_is_refused(text: str, rule: DueRule) -> None:
    with pytest.raises(Refused) as refused:
        read_due(text, rule)
    assert refused.value.code in ("invalid-date", "date-out-of-range")


def test_a_date_is_read_in_every_form_offices_write() -> None:
    expected = date(2014, 8, 28)
    for text in ("28/08/2014", "28/8/2014", "2014-08-28", "ngày 28 tháng 8 năm 2014", "28.8.2014"):
        assert parse_date(text) == expected, text


@given(st.dates(min_value=date(1901, 1, 1), max_value=date(2099, 12, 30)))
def test_by_ends_the_day_and_before_starts_it(day: date) -> None:
    written = day.strftime("%d/%m/%Y")
    _, by = read_due(written, "by")
    _, before = read_due(written, "before")
    assert before == datetime.combine(day, datetime.min.time(), VIETNAM)
    assert (by - before).total_seconds() == 86400
    assert day_zero(by) == day
    _, month = read_due(written, "within_month")
    _, quarter = read_due(written, "within_quarter")
    _, year = read_due(written, "within_year")
    assert by <= month <= quarter <= year
    assert day_zero(month).month == day.month and day_zero(year) == date(day.year, 12, 31)
