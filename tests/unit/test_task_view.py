"""The task as GET /assignments/{id} shows it (projections/task_view): a fold of its stream."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import msgspec

from events.assignments import ExtensionDenied, ExtensionGranted, ExtensionRequested
from events.catalog import Event
from projections import task_view
from tests.unit.test_task_facts import (
    DUE,
    EXT,
    FILED,
    ISSUED,
    LEAD,
    REQUESTED,
    SUB,
    T0,
    TASK,
    completed,
    raised,
    recorded,
    resolved,
    reviewed,
)

SECOND_EXT = uuid.uuid4()
GRANTED = ExtensionGranted(
    assignment_id=TASK,
    extension_id=EXT,
    previous_due=DUE,
    new_due=DUE + timedelta(days=7),
    effective_at=T0,
)


def view(*events: Event, now: datetime = T0) -> dict[str, Any]:
    folded = task_view.fold(
        TASK, [recorded(f"assignment-{TASK}", e, n) for n, e in enumerate(events, 1)], now
    )
    assert folded is not None and folded.version == len(events)
    return folded.body


def test_a_task_with_no_events_has_no_view() -> None:
    assert task_view.fold(TASK, [], T0) is None


def test_an_open_task_shows_its_extensions_obstacles_and_flags() -> None:
    body = view(
        ISSUED,
        REQUESTED,
        GRANTED,
        ExtensionRequested(
            assignment_id=TASK,
            extension_id=SECOND_EXT,
            requested_due=DUE + timedelta(days=30),
            reason="lũ",
            effective_at=T0,
        ),
        raised(1),
        raised(2),
        resolved(1),
        now=DUE + timedelta(days=7),
    )
    assert (body["id"], body["item"], body["status"], body["version"]) == (
        str(TASK),
        "3.1",
        "assigned",
        7,
    )
    assert (body["overdue"], body["extension_pending"], body["obstacle_open"]) == (
        False,  # due exactly now, after the extension: it may still be reported on time
        True,
        True,
    )
    past = DUE + timedelta(days=7, microseconds=1)
    assert view(ISSUED, REQUESTED, GRANTED, now=past)["overdue"] is True
    assert (body["original_due"], body["due"], body["lead_unit_id"]) == (
        msgspec.to_builtins(DUE),
        msgspec.to_builtins(DUE + timedelta(days=7)),
        str(LEAD),
    )
    assert [(e["extension_id"], e["status"]) for e in body["extensions"]] == [
        (str(EXT), "granted"),
        (str(SECOND_EXT), "pending"),
    ]
    assert body["extensions"][0]["decision"]["new_due"] == msgspec.to_builtins(GRANTED.new_due)
    assert [(o["obstacle_id"], o["status"], o.get("direction")) for o in body["obstacles"]] == [
        (str(uuid.UUID(int=1)), "resolved", "gỡ"),
        (str(uuid.UUID(int=2)), "open", None),
    ]
    assert body["completed"] is None and body["submissions"] == []
    assert [h["type"] for h in body["history"]][:3] == [
        "AssignmentIssued",
        "ExtensionRequested",
        "ExtensionGranted",
    ]
    assert all("assignment_id" not in e for e in body["extensions"])


def test_a_refused_extension_and_a_completed_task() -> None:
    denied = ExtensionDenied(assignment_id=TASK, extension_id=EXT, reason="không", effective_at=T0)
    body = view(
        ISSUED, REQUESTED, denied, FILED, reviewed("approved"), completed(True),
        now=datetime(2030, 1, 1, tzinfo=UTC),
    )  # fmt: skip
    assert (body["status"], body["overdue"], body["extension_pending"]) == (
        "completed_on_time",
        False,  # closed: never overdue
        False,
    )
    assert [(e["status"], e["decision"]["reason"]) for e in body["extensions"]] == [
        ("denied", "không")
    ]
    (submission,) = body["submissions"]
    assert (submission["submission_id"], submission["metrics"]) == (str(SUB), {"works": 4})
    assert [r["outcome"] for r in submission["reviews"]] == ["approved"]
    assert body["completed"]["on_time"] is True
    assert body["history"][-1] == {
        "type": "AssignmentCompleted",
        "version": 6,
        "recorded_at": T0.isoformat(),
        "backdated": False,
    }
