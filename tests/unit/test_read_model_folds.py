"""The inline read models' pure folds: given these events, these rows or these changes."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from events.assignments import AssignmentWithdrawn
from events.deadlines import DeadlineMissed, DeadlineScheduled, ReminderSent, ScheduledStep
from events.models import ModelCommended, ModelRegistered, ModelReported
from events.organisation import RoleGranted, RoleRevoked
from projections import deadline_steps, exemplary_models, user_roles

T0 = datetime(2022, 10, 12, 2, tzinfo=UTC)
TASK, USER, ROLE, UNIT, MODEL = (uuid.uuid4() for _ in range(5))


def test_a_role_is_granted_then_revoked_at_the_events_times() -> None:
    granted = user_roles.apply(
        None, RoleGranted(user_id=USER, role_id=ROLE, role="chief", unit_id=UNIT), T0
    )
    assert granted == user_roles.RoleRow(ROLE, USER, "chief", UNIT, T0, None)
    later = T0 + timedelta(days=1)
    revoked = user_roles.apply(granted, RoleRevoked(user_id=USER, role_id=ROLE), later)
    assert revoked == user_roles.RoleRow(ROLE, USER, "chief", UNIT, T0, later)
    assert user_roles.apply(None, RoleRevoked(user_id=USER, role_id=ROLE), later) is None


def test_a_model_counts_its_reports_and_keeps_its_commendations_in_order() -> None:
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
    for version in (2, 3):
        row = exemplary_models.apply(
            row,
            ModelReported(model_id=MODEL, report_id=uuid.uuid4(), text="x", effective_at=T0),
            version,
            T0 + timedelta(days=version),
        )
    for version, level in ((4, "district"), (5, "provincial")):
        row = exemplary_models.apply(
            row,
            ModelCommended(
                model_id=MODEL, level=level, by_unit_id=UNIT, citation="c", effective_at=T0
            ),
            version,
            T0,
        )
    assert row is not None
    assert (row.reports, row.commendations, row.version) == (2, ("district", "provincial"), 5)
    assert row.registered_at == T0  # the registration's time, not a later event's


def step(name: str, action: str, at: datetime, unit: uuid.UUID | None = UNIT) -> ScheduledStep:
    return ScheduledStep(
        step=name,
        offset=int(name),
        action=action,  # type: ignore[arg-type]
        target="lead",
        unit_id=unit,
        at=at,
    )


def test_a_schedule_adds_its_steps_with_the_status_each_starts_in() -> None:
    scheduled_at = T0 + timedelta(days=2)
    change = deadline_steps.apply(
        DeadlineScheduled(
            assignment_id=TASK,
            schedule_version=2,
            due=T0 + timedelta(days=5),
            calendar_version="vn:test",
            steps=(
                step("-3", "remind", T0 + timedelta(days=1)),  # already past: skipped
                step("-1", "remind", T0 + timedelta(days=4)),
                step("0", "miss", T0 + timedelta(days=5)),
                step("+2", "escalate", T0 + timedelta(days=7), unit=None),  # aimed at no one
            ),
            scheduled_at=scheduled_at,
            cause="extended",
        )
    )
    assert isinstance(change, deadline_steps.Scheduled)
    assert [(r.step, r.schedule_version, r.status) for r in change.rows] == [
        ("-3", 2, "skipped"),
        ("-1", 2, "pending"),
        ("0", 2, "pending"),
        ("+2", 2, "void"),
    ]


def test_recorded_steps_are_done_and_a_closed_task_voids_what_is_left() -> None:
    assert deadline_steps.apply(
        ReminderSent(
            assignment_id=TASK,
            schedule_version=1,
            step="-1",
            to_unit_id=UNIT,
            effective_at=T0,
        )
    ) == deadline_steps.Done(TASK, 1, "-1")
    assert deadline_steps.apply(
        DeadlineMissed(assignment_id=TASK, schedule_version=3, due=T0, effective_at=T0)
    ) == deadline_steps.Done(TASK, 3, "0")
    withdrawn_at = T0 + timedelta(hours=5)
    assert deadline_steps.apply(
        AssignmentWithdrawn(assignment_id=TASK, reason="x", effective_at=withdrawn_at)
    ) == deadline_steps.Closed(TASK, withdrawn_at)
