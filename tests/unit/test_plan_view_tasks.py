"""The plan view's task list and who has not reported (projections/plan_view): the order an
official reads them in, and the flags shown."""

from __future__ import annotations

import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from msgspec.structs import replace

from projections import plan_view
from projections.task_facts import TaskFact
from services.domain.calendar import VIETNAM

NOW = datetime(2026, 3, 10, 3, 0, tzinfo=UTC)
PLAN, COMMITTEE = uuid.uuid4(), uuid.uuid4()
HOUR = timedelta(hours=1)


def fact(item: str, status: str, due: datetime, **fields: Any) -> TaskFact:
    row = TaskFact(
        uuid.uuid4(), PLAN, item, uuid.uuid4(), COMMITTEE, COMMITTEE, status, due, due, NOW
    )
    return replace(row, **fields)


def test_tasks_are_listed_by_item_numbers_as_numbers() -> None:
    items = ["2.10", "10", "2.9", "2", "2.a", "9", "1"]
    listed = plan_view.tasks([fact(i, "assigned", NOW + HOUR) for i in items], NOW)
    assert [t["item"] for t in listed] == ["1", "2", "2.9", "2.10", "2.a", "9", "10"]


def test_tasks_of_one_item_are_listed_by_due() -> None:
    later, sooner = fact("3", "assigned", NOW + 2 * HOUR), fact("3", "assigned", NOW + HOUR)
    listed = plan_view.tasks([later, sooner], NOW)
    assert [t["assignment_id"] for t in listed] == [
        str(sooner.assignment_id),
        str(later.assignment_id),
    ]


def test_each_task_shows_its_flags_and_times_in_utc() -> None:
    due = datetime(2026, 3, 10, 10, 0, tzinfo=VIETNAM)  # 03:00 UTC: exactly now
    extended = datetime(2026, 3, 12, 10, 0, tzinfo=VIETNAM)
    rows = [
        fact("1", "acknowledged", due, obstacles_open=1, extension_pending=True),
        fact("2", "assigned", NOW + HOUR),
        fact(
            "3",
            "completed_late",
            NOW - HOUR,
            original_due=NOW - 2 * HOUR,
            completed_at=NOW,
            on_time=False,
            days_late=1,
            metrics={"works": 2},
        ),
        fact("4", "submitted", extended, original_due=due),
        fact("5", "assigned", NOW - timedelta(microseconds=1)),
    ]
    shown = plan_view.tasks(rows, NOW)
    first = shown[0]
    assert (first["due"], first["original_due"], first["completed_at"]) == (
        "2026-03-10T03:00:00+00:00",
        "2026-03-10T03:00:00+00:00",
        None,
    )
    assert (first["overdue"], first["obstacle_open"], first["extension_pending"]) == (
        False,  # due exactly now: it may still be reported on time
        True,
        True,
    )
    assert (shown[1]["overdue"], shown[1]["obstacle_open"], shown[1]["extension_pending"]) == (
        False,
        False,
        False,
    )
    done = shown[2]
    assert (done["overdue"], done["on_time"], done["days_late"], done["metrics"]) == (
        False,  # closed: never overdue
        False,
        1,
        {"works": 2},
    )
    assert (done["completed_at"], done["original_due"]) == (
        "2026-03-10T03:00:00+00:00",
        "2026-03-10T01:00:00+00:00",
    )
    assert (shown[3]["due"], shown[3]["original_due"]) == (
        "2026-03-12T03:00:00+00:00",
        "2026-03-10T03:00:00+00:00",
    )
    assert shown[4]["overdue"] is True  # once past its due
    assert first["lead_unit_id"] == str(rows[0].lead_unit_id)
    assert first["report_to_unit_id"] == str(COMMITTEE)


def test_units_that_owe_a_report_are_listed_overdue_first_then_by_due() -> None:
    owing = [
        fact("1", "assigned", NOW + 2 * HOUR),
        fact("2", "changes_requested", NOW - HOUR),
        fact("3", "acknowledged", NOW),  # due exactly now: not yet overdue
        fact("4", "assigned", NOW + HOUR),
    ]
    reported = [
        fact("5", "submitted", NOW - HOUR),
        fact("6", "completed_on_time", NOW - HOUR),
        fact("7", "withdrawn", NOW - HOUR),
    ]
    listed = plan_view.not_reported([*owing, *reported], NOW)
    assert [(u["item"], u["status"], u["overdue"]) for u in listed] == [
        ("2", "changes_requested", True),
        ("3", "acknowledged", False),
        ("4", "assigned", False),
        ("1", "assigned", False),
    ]
    assert listed[0] == {
        "unit_id": str(owing[1].lead_unit_id),
        "assignment_id": str(owing[1].assignment_id),
        "item": "2",
        "status": "changes_requested",
        "due": "2026-03-10T02:00:00+00:00",
        "due_text": None,
        "overdue": True,
    }


def test_each_task_shows_its_status_and_coordinating_units() -> None:
    helpers = [uuid.uuid4(), uuid.uuid4()]
    (shown,) = plan_view.tasks(
        [fact("1", "changes_requested", NOW + HOUR, coordinating_unit_ids=helpers)], NOW
    )
    assert (shown["status"], shown["coordinating_unit_ids"]) == (
        "changes_requested",
        [str(u) for u in helpers],
    )


def test_tasks_of_one_item_and_due_are_listed_by_lead_unit_then_by_task() -> None:
    low, high = sorted([uuid.uuid4(), uuid.uuid4()], key=str)
    first, second = sorted([uuid.uuid4(), uuid.uuid4()], key=str)
    rows = [
        fact("1", "assigned", NOW, lead_unit_id=high, assignment_id=first),
        fact("1", "assigned", NOW, lead_unit_id=low, assignment_id=second),
        fact("1", "assigned", NOW, lead_unit_id=low, assignment_id=first),
    ]
    listed = plan_view.tasks(rows, NOW)
    assert [(t["lead_unit_id"], t["assignment_id"]) for t in listed] == [
        (str(low), str(first)),
        (str(low), str(second)),
        (str(high), str(first)),
    ]


def test_units_owing_a_report_due_at_once_are_listed_by_item_then_by_unit() -> None:
    low, high = sorted([uuid.uuid4(), uuid.uuid4()], key=str)
    rows = [
        fact("10", "assigned", NOW + HOUR, lead_unit_id=low),
        fact("9", "assigned", NOW + HOUR, lead_unit_id=high),
        fact("9", "assigned", NOW + HOUR, lead_unit_id=low),
    ]
    listed = plan_view.not_reported(rows, NOW)
    assert [(u["item"], u["unit_id"]) for u in listed] == [
        ("9", str(low)),
        ("9", str(high)),
        ("10", str(low)),
    ]


def test_times_read_in_utc_whatever_the_servers_own_zone(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TZ", "Asia/Ho_Chi_Minh")
    time.tzset()
    try:
        (shown,) = plan_view.tasks([fact("1", "assigned", NOW)], NOW)
    finally:
        monkeypatch.undo()
        time.tzset()
    assert (shown["due"], shown["original_due"]) == (
        "2026-03-10T03:00:00+00:00",
        "2026-03-10T03:00:00+00:00",
    )
