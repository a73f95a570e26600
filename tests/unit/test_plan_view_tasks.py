"""GET /plans/{id}: the plan's tasks in item order with their flags, and who owes a report."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

from projections import plan_view
from projections.task_facts import TaskFact

NOW = datetime(2025, 6, 2, 10, tzinfo=UTC)
PLAN, ISSUER = uuid.uuid4(), uuid.uuid4()
HANOI = timezone(timedelta(hours=7))


def fact(item: str, status: str = "assigned", due: datetime = NOW, **more: Any) -> TaskFact:
    lead = more.pop("lead", uuid.uuid4())
    return TaskFact(uuid.uuid4(), PLAN, item, lead, ISSUER, ISSUER, status, due, due, NOW, **more)


def test_tasks_are_listed_by_item_with_numeric_parts_compared_as_numbers() -> None:
    facts = [fact("2.10"), fact("10"), fact("2.9"), fact("2"), fact("2.a")]
    assert [t["item"] for t in plan_view.tasks(facts, NOW)] == ["2", "2.9", "2.10", "2.a", "10"]


def test_tasks_of_one_item_are_listed_by_due_then_lead() -> None:
    first, second = uuid.UUID(int=1), uuid.UUID(int=2)
    facts = [
        fact("1", due=NOW + timedelta(days=2), lead=first),
        fact("1", due=NOW + timedelta(days=1), lead=second),
        fact("1", due=NOW + timedelta(days=1), lead=first),
    ]
    listed = plan_view.tasks(facts, NOW)
    assert [(t["due"], t["lead_unit_id"]) for t in listed] == [
        ((NOW + timedelta(days=1)).isoformat(), str(first)),
        ((NOW + timedelta(days=1)).isoformat(), str(second)),
        ((NOW + timedelta(days=2)).isoformat(), str(first)),
    ]


def test_a_task_shows_its_times_in_utc_and_its_flags() -> None:
    due = datetime(2025, 6, 2, 17, tzinfo=HANOI)
    done = fact(
        "1",
        "completed_late",
        due,
        completed_at=due + timedelta(days=1),
        on_time=False,
        days_late=1,
        extension_pending=True,
        obstacles_open=2,
        metrics={"works": 3},
    )
    [shown] = plan_view.tasks([done], NOW + timedelta(days=9))
    assert shown["due"] == shown["original_due"] == "2025-06-02T10:00:00+00:00"
    assert shown["completed_at"] == "2025-06-03T10:00:00+00:00"
    assert (shown["on_time"], shown["days_late"], shown["metrics"]) == (False, 1, {"works": 3})
    assert (shown["extension_pending"], shown["obstacle_open"]) == (True, True)
    assert shown["overdue"] is False  # closed tasks are never overdue
    assert shown["status"] == "completed_late"
    helper = uuid.uuid4()
    [shared] = plan_view.tasks([fact("3", coordinating_unit_ids=(helper,))], NOW)
    assert shared["coordinating_unit_ids"] == [str(helper)]
    assert shared["report_to_unit_id"] == str(ISSUER)
    [open_one] = plan_view.tasks([fact("2")], NOW)
    assert (open_one["completed_at"], open_one["obstacle_open"]) == (None, False)


def test_an_open_task_is_overdue_from_its_due_on() -> None:
    [at_due] = plan_view.tasks([fact("1", due=NOW)], NOW)
    [before] = plan_view.tasks([fact("1", due=NOW)], NOW - timedelta(seconds=1))
    assert (at_due["overdue"], before["overdue"]) == (True, False)
    [withdrawn] = plan_view.tasks([fact("1", "withdrawn", due=NOW)], NOW + timedelta(days=1))
    assert withdrawn["overdue"] is False


def test_leads_owing_a_report_are_listed_overdue_first_then_by_due() -> None:
    later, late, due_now = (
        fact("1", "acknowledged", NOW + timedelta(days=3)),
        fact("3", "changes_requested", NOW - timedelta(days=2)),
        fact("2", "assigned", NOW),
    )
    reported = [
        fact("4", "submitted", NOW - timedelta(days=5)),
        fact("5", "completed_on_time", NOW - timedelta(days=5)),
        fact("6", "withdrawn", NOW - timedelta(days=5)),
    ]
    owing = plan_view.not_reported([later, *reported, due_now, late], NOW)
    assert [(o["item"], o["status"], o["overdue"]) for o in owing] == [
        ("3", "changes_requested", True),
        ("2", "assigned", True),
        ("1", "acknowledged", False),
    ]
    assert owing[0] == {
        "unit_id": str(late.lead_unit_id),
        "assignment_id": str(late.assignment_id),
        "item": "3",
        "status": "changes_requested",
        "due": (NOW - timedelta(days=2)).isoformat(),
        "overdue": True,
    }
