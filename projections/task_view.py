"""The task as it stands, behind GET /assignments/{id}: a pure fold of the task's stream."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

import msgspec

from events.assignments import (
    AssignmentCompleted,
    AssignmentIssued,
    DueSet,
    ExtensionDenied,
    ExtensionGranted,
    ExtensionRequested,
    ObstacleRaised,
    ObstacleResolved,
    SubmissionFiled,
    SubmissionReviewed,
)
from events.envelope import RecordedEvent
from services.domain import assignment as assignment_decider


@dataclass(frozen=True)
class TaskView:
    body: dict[str, Any]
    version: int


def history_entry(event: RecordedEvent) -> dict[str, Any]:
    """One line of a stream's history as the views show it."""
    return {
        "type": event.type,
        "version": event.version,
        "recorded_at": event.recorded_at.isoformat(),
        "backdated": event.metadata.backdated,
    }


def fold(assignment_id: UUID, events: Sequence[RecordedEvent], now: datetime) -> TaskView | None:
    """The task folded from its stream's events; None when it has none."""
    if not events:
        return None
    state = assignment_decider.initial(assignment_id)
    issued: dict[str, Any] = {}
    submissions: dict[str, dict[str, Any]] = {}
    extensions: dict[str, dict[str, Any]] = {}
    obstacles: dict[str, dict[str, Any]] = {}
    completed: dict[str, Any] | None = None
    history = []
    for recorded in events:
        event = recorded.data
        assert event is not None
        state = assignment_decider.evolve(state, event)
        data = msgspec.to_builtins(event)
        data.pop("assignment_id", None)
        history.append(history_entry(recorded))
        match event:
            case AssignmentIssued():
                issued = data
            case DueSet():
                issued["stated_due"] = data["stated_due"]
            case SubmissionFiled():
                submissions[data["submission_id"]] = {**data, "reviews": []}
            case SubmissionReviewed():
                submissions[data["submission_id"]]["reviews"].append(data)
            case ExtensionRequested():
                extensions[data["extension_id"]] = {**data, "status": "pending"}
            case ExtensionGranted() | ExtensionDenied():
                extensions[data["extension_id"]].update(
                    status="granted" if isinstance(event, ExtensionGranted) else "denied",
                    decision=data,
                )
            case ObstacleRaised():
                obstacles[data["obstacle_id"]] = {**data, "status": "open"}
            case ObstacleResolved():
                obstacles[data["obstacle_id"]].update(
                    status="resolved", direction=data["direction"]
                )
            case AssignmentCompleted():
                completed = data
    body = {
        "id": str(assignment_id),
        **issued,
        "status": state.status,
        "overdue": state.overdue(now),
        "extension_pending": state.extension_pending,
        "obstacle_open": state.obstacle_open,
        "lead_unit_id": str(state.lead_unit_id),
        "original_due": msgspec.to_builtins(state.original_due),
        "due": msgspec.to_builtins(state.due),
        "submissions": list(submissions.values()),
        "extensions": list(extensions.values()),
        "obstacles": list(obstacles.values()),
        "completed": completed,
        "version": events[-1].version,
        "history": history,
    }
    return TaskView(body, events[-1].version)
