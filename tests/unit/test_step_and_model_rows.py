"""Rows the deadline worker and GET /models read: each scheduled step's unit and time, a task
closed at its completion, and a model's row as registered, reported and stored."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from events.assignments import AssignmentCompleted
from events.deadlines import DeadlineScheduled, ScheduledStep
from events.models import ModelCommended, ModelRegistered, ModelReported
from projections import deadline_steps, exemplary_models

T0 = datetime(2022, 10, 12, 2, tzinfo=UTC)
TASK, UNIT, MODEL = (uuid.uuid4() for _ in range(3))


def test_each_step_row_keeps_its_unit_and_time_and_an_unaimed_reminder_stays_pending() -> None:
    at = T0 + timedelta(days=4)
    change = deadline_steps.apply(
        DeadlineScheduled(
            assignment_id=TASK,
            schedule_version=1,
            due=T0 + timedelta(days=5),
            calendar_version="vn:test",
            steps=(
                ScheduledStep(
                    step="-1", offset=-1, action="remind", target="lead", unit_id=UNIT, at=at
                ),
                ScheduledStep(
                    step="-2", offset=-2, action="remind", target="lead", unit_id=None, at=at
                ),
            ),
            scheduled_at=T0,
            cause="issued",
        )
    )
    assert isinstance(change, deadline_steps.Scheduled)
    assert change.rows == (
        deadline_steps.StepRow(TASK, 1, "-1", "remind", UNIT, at, "pending"),
        deadline_steps.StepRow(TASK, 1, "-2", "remind", None, at, "pending"),
    )


def test_a_completed_task_is_closed_at_its_completion() -> None:
    done = T0 + timedelta(days=3, hours=4)
    completed = AssignmentCompleted(
        assignment_id=TASK,
        submission_id=uuid.uuid4(),
        on_time=True,
        completed_at=done,
        due=T0 + timedelta(days=5),
        days_late=0,
    )
    assert deadline_steps.apply(completed) == deadline_steps.Closed(TASK, done)


def registered_model() -> exemplary_models.ModelRow:
    row = exemplary_models.apply(
        None,
        ModelRegistered(
            model_id=MODEL,
            unit_id=UNIT,
            year=2022,
            field="dân vận",
            kind="collective",
            title="Dân vận khéo",
            effective_at=T0,
        ),
        1,
        T0,
    )
    assert row is not None
    return row


def test_a_registered_model_shows_its_year_field_and_title_and_a_report_its_version() -> None:
    row = registered_model()
    assert row == exemplary_models.ModelRow(
        MODEL, 1, UNIT, 2022, "dân vận", "collective", "Dân vận khéo", 0, (), T0
    )
    reported = exemplary_models.apply(
        row, ModelReported(model_id=MODEL, report_id=uuid.uuid4(), text="x", effective_at=T0), 2, T0
    )
    assert reported is not None
    assert (reported.version, reported.reports) == (2, 1)


def test_a_model_row_is_stored_with_its_commendations_as_a_list_and_read_back() -> None:
    row = exemplary_models.apply(
        registered_model(),
        ModelCommended(
            model_id=MODEL, level="district", by_unit_id=UNIT, citation="c", effective_at=T0
        ),
        2,
        T0,
    )
    assert row is not None
    values = exemplary_models._values(row)
    assert values[exemplary_models.COLUMNS.index("commendations")] == ["district"]
    assert values[exemplary_models.COLUMNS.index("title")] == "Dân vận khéo"
    record = dict(zip(exemplary_models.COLUMNS, values, strict=True))
    assert exemplary_models._from_record(record) == row
