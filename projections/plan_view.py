"""The plan view behind GET /plans/{id}: the plan folded from its own stream when read (a pure
fold), its tasks with their status and who has not reported yet, from `task_facts` as the
projector keeps them or from the plan's events folded up to an instant (as of).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

import asyncpg
import msgspec

from events.envelope import RecordedEvent
from events.plans import AttachmentAdded, PlanAmended, PlanIssued, PlanItemRecorded
from projections import task_facts
from projections.compliance import CLOSED
from projections.task_facts import TaskFact
from projections.task_view import history_entry
from services.domain import plan as plan_decider


@dataclass(frozen=True)
class PlanView:
    plan: plan_decider.Plan
    version: int
    issued: dict[str, Any] | None
    attachments: list[dict[str, Any]]
    amendments: list[dict[str, Any]]
    items: list[dict[str, Any]]
    """Items recorded without a lead unit, in the order recorded."""
    history: list[dict[str, Any]]


def fold(plan_id: UUID, events: Sequence[RecordedEvent]) -> PlanView | None:
    """The plan folded from its stream's events (others are ignored); None when it has none."""
    events = [e for e in events if e.stream_id == f"plan-{plan_id}"]
    if not events:
        return None
    state = plan_decider.initial(plan_id)
    issued: dict[str, Any] | None = None
    attachments: list[dict[str, Any]] = []
    amendments: list[dict[str, Any]] = []
    items: list[dict[str, Any]] = []
    history = []
    for recorded in events:
        event = recorded.data
        assert event is not None
        state = plan_decider.evolve(state, event)
        history.append(history_entry(recorded))
        data = {k: v for k, v in msgspec.to_builtins(event).items() if k != "plan_id"}
        match event:
            case PlanIssued():
                issued = data
            case AttachmentAdded():
                attachments.append(data)
            case PlanItemRecorded():
                items.append(data)
            case PlanAmended():
                amendments.append(data)
    return PlanView(state, events[-1].version, issued, attachments, amendments, items, history)


# Open tasks with no report under review or approved: assigned, acknowledged, or sent back.
AWAITING_REPORT = ("assigned", "acknowledged", "changes_requested")


async def facts_of_plan(pool: asyncpg.Pool[Any], plan_id: UUID) -> list[TaskFact]:
    rows = await pool.fetch(
        f"SELECT {', '.join(task_facts.COLUMNS)} FROM task_facts WHERE plan_id = $1",
        plan_id,
    )
    return [task_facts.from_record(row) for row in rows]


def _order(fact: TaskFact) -> tuple[Any, ...]:
    """By item ("2.10" after "2.9"), unnumbered items after in the order they were issued."""
    return (
        fact.item is None,
        _item_key(fact.item),
        fact.issued_at,
        _due_key(fact),
        str(fact.lead_unit_id),
        str(fact.assignment_id),
    )


def _due_key(fact: TaskFact) -> tuple[bool, datetime]:
    """Tasks without a deadline after those with one."""
    return (fact.due is None, fact.due or datetime.max.replace(tzinfo=UTC))


def _overdue(fact: TaskFact, now: datetime) -> bool:
    return fact.status not in CLOSED and fact.due is not None and fact.due < now


def _item_key(item: str | None) -> tuple[tuple[int, Any], ...]:
    """ "2.10" after "2.9": numeric parts compare as numbers."""
    if item is None:
        return ()
    return tuple((0, int(p)) if p.isdigit() else (1, p) for p in item.split("."))


def _utc(moment: datetime | None) -> str | None:
    """Times in UTC, whichever offset the event carried: the same instant reads the same."""
    return None if moment is None else moment.astimezone(UTC).isoformat()


def tasks(facts: Iterable[TaskFact], now: datetime) -> list[dict[str, Any]]:
    """The plan's tasks by item, with the derived `overdue` and flags."""
    return [
        {
            "assignment_id": str(fact.assignment_id),
            "item": fact.item,
            "lead_unit_id": str(fact.lead_unit_id),
            "coordinating_unit_ids": [str(u) for u in fact.coordinating_unit_ids],
            "report_to_unit_id": str(fact.report_to_unit_id),
            "status": fact.status,
            "original_due": _utc(fact.original_due),
            "due": _utc(fact.due),
            "due_text": fact.due_text,
            "completed_at": _utc(fact.completed_at),
            "on_time": fact.on_time,
            "days_late": fact.days_late,
            "overdue": _overdue(fact, now),
            "extension_pending": fact.extension_pending,
            "obstacle_open": fact.obstacles_open > 0,
            "metrics": fact.metrics,
        }
        for fact in sorted(facts, key=_order)
    ]


def not_reported(facts: Iterable[TaskFact], now: datetime) -> list[dict[str, Any]]:
    """Lead units owing a report: their task is open and has no report under review or
    approved. Overdue ones first, then by due."""
    owing = sorted(
        (f for f in facts if f.status in AWAITING_REPORT),
        key=lambda f: (not _overdue(f, now), _due_key(f), _item_key(f.item), str(f.lead_unit_id)),
    )
    return [
        {
            "unit_id": str(fact.lead_unit_id),
            "assignment_id": str(fact.assignment_id),
            "item": fact.item,
            "status": fact.status,
            "due": _utc(fact.due),
            "due_text": fact.due_text,
            "overdue": _overdue(fact, now),
        }
        for fact in owing
    ]
