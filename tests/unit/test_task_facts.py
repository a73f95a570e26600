"""The task board's row of a task (projections/task_facts): given these task events, the
status, due, flags and figures a unit sees on its board and in compliance."""

from __future__ import annotations

import functools
import uuid
from datetime import UTC, datetime, timedelta

import msgspec

from events.assignments import (
    AssignmentAcknowledged,
    AssignmentCompleted,
    AssignmentIssued,
    AssignmentReassigned,
    AssignmentWithdrawn,
    ExtensionDenied,
    ExtensionGranted,
    ExtensionRequested,
    ObstacleRaised,
    ObstacleResolved,
    Source,
    SubmissionFiled,
    SubmissionReviewed,
)
from events.catalog import Event
from events.deadlines import DeadlineScheduled
from events.envelope import Metadata, RecordedEvent, Tags
from projections import task_facts
from projections.task_facts import TaskFact

PLAN, TASK, SUB, LEAD, OTHER, REPORT_TO, ISSUER, HELPER = (uuid.uuid4() for _ in range(8))
T0 = datetime(2026, 3, 2, 1, tzinfo=UTC)
DUE = datetime(2026, 3, 20, 17, tzinfo=UTC)
ISSUED = AssignmentIssued(
    assignment_id=TASK,
    plan_id=PLAN,
    item="3.1",
    text="Báo cáo",
    lead_unit_id=LEAD,
    coordinating_unit_ids=(HELPER,),
    due=DUE,
    report_to_unit_id=REPORT_TO,
    issuer_unit_id=ISSUER,
    effective_at=T0,
)


def row_after(*events: Event) -> TaskFact | None:
    return functools.reduce(task_facts.apply, events, None)


def board_row(*events: Event) -> TaskFact:
    row = row_after(ISSUED, *events)
    assert row is not None
    return row


def raised(n: int) -> ObstacleRaised:
    return ObstacleRaised(
        assignment_id=TASK, obstacle_id=uuid.UUID(int=n), description="vướng", effective_at=T0
    )


def resolved(n: int) -> ObstacleResolved:
    return ObstacleResolved(
        assignment_id=TASK, obstacle_id=uuid.UUID(int=n), direction="gỡ", effective_at=T0
    )


EXT = uuid.uuid4()
REQUESTED = ExtensionRequested(
    assignment_id=TASK,
    extension_id=EXT,
    requested_due=DUE + timedelta(days=7),
    reason="lũ",
    effective_at=T0,
)
FILED = SubmissionFiled(
    assignment_id=TASK, submission_id=SUB, text="kết quả", effective_at=T0, metrics={"works": 4}
)


def reviewed(outcome: str) -> SubmissionReviewed:
    return SubmissionReviewed(
        assignment_id=TASK,
        submission_id=SUB,
        step="approval",
        outcome=outcome,  # type: ignore[arg-type]
        effective_at=T0,
    )


def completed(on_time: bool, days_late: int = 0) -> AssignmentCompleted:
    return AssignmentCompleted(
        assignment_id=TASK,
        submission_id=SUB,
        on_time=on_time,
        completed_at=T0 + timedelta(days=1),
        due=DUE,
        days_late=days_late,
    )


def test_an_issued_task_shows_assigned_with_its_units_and_due() -> None:
    assert board_row() == TaskFact(
        TASK, PLAN, "3.1", LEAD, REPORT_TO, ISSUER, "assigned", DUE, DUE, T0,
        coordinating_unit_ids=(HELPER,),
    )  # fmt: skip


def test_events_of_a_task_never_issued_give_no_row() -> None:
    assert row_after(raised(1), REQUESTED) is None


def test_the_open_obstacles_are_counted_as_they_are_raised_and_resolved() -> None:
    assert board_row(raised(1)).obstacles_open == 1
    assert board_row(raised(1), raised(2)).obstacles_open == 2
    assert board_row(raised(1), raised(2), resolved(1)).obstacles_open == 1
    assert board_row(raised(1), raised(2), resolved(1), resolved(2)).obstacles_open == 0


def test_an_extension_is_pending_until_it_is_granted_or_refused() -> None:
    assert board_row().extension_pending is False
    assert board_row(REQUESTED).extension_pending is True
    granted = board_row(
        REQUESTED,
        ExtensionGranted(
            assignment_id=TASK,
            extension_id=EXT,
            previous_due=DUE,
            new_due=DUE + timedelta(days=7),
            effective_at=T0,
        ),
    )
    assert (granted.extension_pending, granted.due, granted.original_due) == (
        False,
        DUE + timedelta(days=7),
        DUE,
    )
    denied = board_row(
        REQUESTED,
        ExtensionDenied(assignment_id=TASK, extension_id=EXT, reason="không", effective_at=T0),
    )
    assert (denied.extension_pending, denied.due) == (False, DUE)


def test_the_status_follows_acknowledgement_filing_and_review() -> None:
    assert board_row(AssignmentAcknowledged(assignment_id=TASK, effective_at=T0)).status == (
        "acknowledged"
    )
    assert board_row(FILED).status == "submitted"
    assert board_row(FILED, reviewed("changes_requested")).status == "changes_requested"
    assert board_row(FILED, reviewed("rejected")).status == "changes_requested"
    # An approval step alone changes nothing: the completion says how it ended.
    assert board_row(FILED, reviewed("approved")).status == "submitted"


def test_a_completed_task_shows_on_time_or_late_and_the_figures_filed() -> None:
    on_time = board_row(FILED, reviewed("approved"), completed(True))
    assert (on_time.status, on_time.on_time, on_time.days_late, on_time.completed_at) == (
        "completed_on_time",
        True,
        0,
        T0 + timedelta(days=1),
    )
    assert on_time.metrics == {"works": 4}
    late = board_row(FILED, completed(False, days_late=3))
    assert (late.status, late.on_time, late.days_late) == ("completed_late", False, 3)


def test_figures_count_only_once_completed_and_a_consolidation_names_its_sources() -> None:
    source = Source(assignment_id=uuid.uuid4(), submission_id=uuid.uuid4(), unit_id=OTHER)
    consolidated = SubmissionFiled(
        assignment_id=TASK,
        submission_id=SUB,
        text="tổng hợp",
        effective_at=T0,
        metrics={"works": 9},
        sources=(source,),
    )
    filed = board_row(consolidated)
    assert (filed.filed_metrics, filed.filed_consolidated, filed.filed_sources) == (
        {"works": 9},
        True,
        (source.assignment_id,),
    )
    assert (filed.metrics, filed.consolidated, filed.sources) == ({}, False, ())
    done = board_row(consolidated, completed(True))
    assert (done.metrics, done.consolidated, done.sources) == (
        {"works": 9},
        True,
        (source.assignment_id,),
    )
    plain = board_row(FILED)
    assert (plain.filed_consolidated, plain.filed_sources) == (False, ())


def test_reassignment_withdrawal_and_a_new_schedule_show_on_the_row() -> None:
    moved = board_row(
        AssignmentReassigned(
            assignment_id=TASK, from_unit_id=LEAD, to_unit_id=OTHER, reason="x", effective_at=T0
        )
    )
    assert moved.lead_unit_id == OTHER
    withdrawn = board_row(AssignmentWithdrawn(assignment_id=TASK, reason="x", effective_at=T0))
    assert withdrawn.status == "withdrawn"
    shifted = DUE + timedelta(days=2)
    scheduled = board_row(
        DeadlineScheduled(
            assignment_id=TASK,
            schedule_version=2,
            due=shifted,
            calendar_version="vn:test",
            steps=(),
            scheduled_at=T0,
            cause="issued",
        )
    )
    assert (scheduled.due, scheduled.original_due) == (shifted, DUE)


def recorded(stream: str, event: Event, position: int) -> RecordedEvent:
    return RecordedEvent(
        event_id=uuid.uuid4(),
        stream_id=stream,
        version=position,
        position=position,
        cursor="",
        type=type(event).__name__,
        schema_version=1,
        raw_data=b"",
        metadata=Metadata(),
        tags=Tags(category=stream.split("-", maxsplit=1)[0]),
        recorded_at=T0,
        prev_hash=None,
        hash=b"",
        data=event,
    )


def test_a_fold_keeps_one_row_per_issued_task_and_ignores_other_streams() -> None:
    orphan = uuid.uuid4()
    rows = task_facts.fold(
        [
            recorded(f"assignment-{TASK}", ISSUED, 1),
            recorded(f"plan-{PLAN}", ISSUED, 2),  # another stream's event: not a task's
            recorded(f"assignment-{TASK}", raised(1), 3),
            recorded(f"assignment-{orphan}", raised(2), 4),
        ]
    )
    assert rows == {TASK: board_row(raised(1))}


def test_a_row_read_back_from_its_columns_is_the_same_row() -> None:
    row = board_row(FILED, completed(True))
    stored = dict(zip(task_facts.COLUMNS, task_facts.values(row), strict=True))
    assert stored["metrics"] == msgspec.json.encode({"works": 4})
    assert task_facts.from_record(stored) == row
