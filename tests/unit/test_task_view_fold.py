"""GET /assignments/{id}: the task's stream folded into the view (status, flags, history)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from events.catalog import Event
from events.envelope import Metadata, RecordedEvent, Tags
from projections import task_view
from services.domain import assignment as tasks
from services.domain.assignment import (
    DecideExtension,
    FileSubmission,
    IssueAssignment,
    RaiseObstacle,
    Reassign,
    RequestExtension,
    ResolveObstacle,
    Review,
)
from services.domain.plan import Plan
from services.domain.unit import Unit

NOW = datetime(2025, 3, 3, 2, tzinfo=UTC)
DUE = datetime(2025, 6, 2, 10, tzinfo=UTC)
TASK, PLAN, ISSUER, LEAD, NEW_LEAD = (uuid.uuid4() for _ in range(5))
CONTEXT = tasks.Context(
    plan=Plan(PLAN, status="issued", issuer_unit_id=ISSUER),
    units={u: Unit(u, "active", "u", "U", "other") for u in (ISSUER, LEAD, NEW_LEAD)},
)


class Stream:
    """A task's events as the store records them, one command at a time."""

    def __init__(self) -> None:
        self.state = tasks.initial(TASK)
        self.recorded: list[RecordedEvent] = []

    def run(self, command: Any, backdated: bool = False) -> None:
        for event in tasks.decide(command, self.state, CONTEXT).events:
            self.state = tasks.evolve(self.state, event)
            self.recorded.append(self.record(event, backdated))

    def record(self, event: Event, backdated: bool) -> RecordedEvent:
        version = len(self.recorded) + 1
        return RecordedEvent(
            uuid.uuid4(),
            f"assignment-{TASK}",
            version,
            version,
            "c",
            type(event).__name__,
            1,
            b"",
            Metadata(backdated=backdated),
            Tags(category="assignment"),
            NOW + timedelta(minutes=version),
            None,
            b"",
            event,
        )


def issued() -> Stream:
    stream = Stream()
    stream.run(IssueAssignment(TASK, PLAN, "1", "Báo cáo quý", LEAD, DUE, NOW, NOW))
    return stream


def body(stream: Stream, now: datetime = NOW) -> dict[str, Any]:
    view = task_view.fold(TASK, stream.recorded, now)
    assert view is not None
    assert view.version == len(stream.recorded)
    return view.body


def test_a_task_without_events_has_no_view() -> None:
    assert task_view.fold(TASK, [], NOW) is None


def test_an_issued_task_shows_its_lead_due_and_one_line_of_history() -> None:
    view = body(issued())
    assert view["id"] == str(TASK)
    assert view["status"] == "assigned"
    assert view["lead_unit_id"] == str(LEAD)
    assert view["due"] == view["original_due"] == "2025-06-02T10:00:00Z"
    assert (view["overdue"], view["extension_pending"], view["obstacle_open"]) == (
        False,
        False,
        False,
    )
    assert "assignment_id" not in view
    assert view["history"] == [
        {
            "type": "AssignmentIssued",
            "version": 1,
            "recorded_at": (NOW + timedelta(minutes=1)).isoformat(),
            "backdated": False,
        }
    ]
    assert (view["submissions"], view["extensions"], view["obstacles"]) == ([], [], [])
    assert view["completed"] is None


def test_a_task_past_its_due_shows_overdue() -> None:
    assert body(issued(), DUE + timedelta(hours=1))["overdue"] is True


def test_an_obstacle_shows_open_then_resolved_with_its_direction() -> None:
    stream = issued()
    obstacle = uuid.uuid4()
    stream.run(RaiseObstacle(TASK, obstacle, "thiếu kinh phí", NOW))
    raised = body(stream)
    assert raised["obstacle_open"] is True
    assert [(o["obstacle_id"], o["status"]) for o in raised["obstacles"]] == [
        (str(obstacle), "open")
    ]
    stream.run(ResolveObstacle(TASK, obstacle, "bổ sung kinh phí", NOW))
    resolved = body(stream)
    assert resolved["obstacle_open"] is False
    assert resolved["obstacles"][0]["status"] == "resolved"
    assert resolved["obstacles"][0]["direction"] == "bổ sung kinh phí"
    assert [h["type"] for h in resolved["history"]] == [
        "AssignmentIssued",
        "ObstacleRaised",
        "ObstacleResolved",
    ]


def test_an_extension_shows_pending_then_granted_and_moves_the_due() -> None:
    stream = issued()
    granted, denied = uuid.uuid4(), uuid.uuid4()
    stream.run(RequestExtension(TASK, granted, DUE + timedelta(days=7), "lũ lụt", NOW))
    pending = body(stream)
    assert pending["extension_pending"] is True
    assert pending["extensions"][0]["status"] == "pending"
    stream.run(DecideExtension(TASK, granted, True, NOW))
    stream.run(RequestExtension(TASK, denied, DUE + timedelta(days=20), "lũ lụt", NOW))
    stream.run(DecideExtension(TASK, denied, False, NOW, comments="không"))
    view = body(stream)
    assert view["extension_pending"] is False
    assert [e["status"] for e in view["extensions"]] == ["granted", "denied"]
    assert "decision" in view["extensions"][0]
    assert view["original_due"] == "2025-06-02T10:00:00Z"
    assert view["due"] != view["original_due"]


def test_a_submission_carries_its_reviews_and_approval_completes_the_task() -> None:
    stream = issued()
    first, second = uuid.uuid4(), uuid.uuid4()
    stream.run(FileSubmission(TASK, first, "báo cáo", NOW, NOW))
    stream.run(Review(TASK, first, "approval", "changes_requested", NOW, comments="bổ sung"))
    stream.run(FileSubmission(TASK, second, "báo cáo lại", NOW, NOW), backdated=True)
    stream.run(Review(TASK, second, "approval", "approved", NOW))
    view = body(stream)
    assert [
        (s["submission_id"], [r["outcome"] for r in s["reviews"]]) for s in view["submissions"]
    ] == [
        (str(first), ["changes_requested"]),
        (str(second), ["approved"]),
    ]
    assert view["status"] == "completed_on_time"
    assert view["completed"] is not None
    assert [h["backdated"] for h in view["history"] if h["type"] == "SubmissionFiled"] == [
        False,
        True,
    ]


def test_a_reassigned_task_shows_its_new_lead() -> None:
    stream = issued()
    stream.run(Reassign(TASK, NEW_LEAD, "điều chỉnh", NOW))
    assert body(stream)["lead_unit_id"] == str(NEW_LEAD)
