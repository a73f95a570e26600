"""Random valid task histories for property and process tests: random commands through the
task decider, the refused ones left out."""

from __future__ import annotations

import random
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

import events.domain  # noqa: F401 - registers every domain event
from events.catalog import Event
from events.envelope import Metadata, NewEvent, StreamWrite
from events.store import EventStore
from services.domain import assignment as tasks
from services.domain.assignment import (
    Acknowledge,
    DecideExtension,
    FileSubmission,
    IssueAssignment,
    RaiseObstacle,
    Reassign,
    ReportProgress,
    RequestExtension,
    ResolveObstacle,
    Review,
    Withdraw,
)
from services.domain.plan import Plan
from services.domain.refusal import Refused
from services.domain.unit import Unit

NOW = datetime(2026, 1, 1, tzinfo=UTC)
BASE_DUE = datetime(2025, 6, 1, 17, 0, tzinfo=UTC)
KINDS = (
    ("ack", 2),
    ("progress", 1),
    ("file", 4),
    ("review", 6),
    ("extend", 2),
    ("decide", 2),
    ("raise", 1),
    ("resolve", 1),
    ("reassign", 1),
    ("withdraw", 1),
)
WEIGHTED = [kind for kind, weight in KINDS for _ in range(weight)]


@dataclass
class History:
    """A plan's task events, grouped into the appends that record them."""

    plan_id: UUID
    appends: list[list[tuple[str, int, list[Event]]]] = field(default_factory=list)


def _command(kind: str, task: tasks.Assignment, rng: random.Random, units: list[UUID]) -> Any:
    assert task.due is not None
    pick = lambda ids: rng.choice(list(ids)) if ids else uuid.uuid4()  # noqa: E731
    match kind:
        case "ack":
            return Acknowledge(task.id, NOW)
        case "progress":
            return ReportProgress(task.id, "tiến độ", NOW)
        case "file":
            at = task.due + timedelta(hours=rng.randint(-72, 72))
            metrics = {"works": rng.randint(0, 9)} if rng.random() < 0.7 else {}
            return FileSubmission(
                task.id, uuid.uuid4(), "báo cáo", NOW, at, metrics=metrics, may_backdate=True
            )
        case "review":
            sid = task.pending_submission or pick(task.submissions)
            done = task.submissions[sid].steps_done if sid in task.submissions else ()
            owed = [s for s in task.review_steps if s not in done] or list(task.review_steps)
            step = owed[0] if rng.random() < 0.85 else rng.choice(task.review_steps)
            outcome = rng.choice(["approved", "approved", "approved", "changes_requested"])
            return Review(task.id, sid, step, outcome, NOW)  # type: ignore[arg-type]
        case "extend":
            asked = task.due + timedelta(days=rng.randint(-1, 20))
            return RequestExtension(task.id, uuid.uuid4(), asked, "lý do", NOW)
        case "decide":
            return DecideExtension(task.id, pick(task.extensions), rng.random() < 0.6, NOW)
        case "raise":
            return RaiseObstacle(task.id, uuid.uuid4(), "vướng mắc", NOW)
        case "resolve":
            return ResolveObstacle(task.id, pick(task.obstacles), "chỉ đạo", NOW)
        case "reassign":
            return Reassign(task.id, rng.choice(units), "điều chỉnh", NOW)
        case _:
            return Withdraw(task.id, "không còn cần", NOW)


def random_history(rng: random.Random, task_count: int, commands: int) -> History:
    """A valid history of one plan's tasks: random commands through the task decider, the
    refused ones left out, grouped into appends of one or several streams."""
    plan_id, issuer = uuid.uuid4(), uuid.uuid4()
    units = [uuid.uuid4() for _ in range(3)]
    context = tasks.Context(
        plan=Plan(plan_id, status="issued", issuer_unit_id=issuer),
        units={u: Unit(u, "active", "u", "U", "other") for u in [*units, issuer]},
    )
    history = History(plan_id)
    states: dict[UUID, tasks.Assignment] = {}
    versions: dict[str, int] = {}
    pending: list[tuple[str, int, list[Event]]] = []

    def record(task_id: UUID, decided: list[Event]) -> None:
        stream = f"assignment-{task_id}"
        for event in decided:
            states[task_id] = tasks.evolve(states.get(task_id, tasks.initial(task_id)), event)
        same = [w for w in pending if w[0] == stream]
        if same:
            same[0][2].extend(decided)
        else:
            pending.append((stream, versions.get(stream, 0), list(decided)))
        versions[stream] = versions.get(stream, 0) + len(decided)

    def flush() -> None:
        if pending:
            history.appends.append(list(pending))
            pending.clear()

    for item in range(task_count):
        task_id = uuid.uuid4()
        issue = IssueAssignment(
            task_id,
            plan_id,
            str(item + 1),
            "nhiệm vụ",
            rng.choice(units),
            BASE_DUE + timedelta(days=rng.randint(-10, 400)),
            NOW,
            BASE_DUE - timedelta(days=30),
            review_steps=rng.choice([("approval",), ("appraisal", "approval")]),
            may_backdate=True,
        )
        record(task_id, tasks.decide(issue, tasks.initial(task_id), context).events)
        if rng.random() < 0.5:
            flush()
    flush()
    for _ in range(commands):
        task = states[rng.choice(list(states))]
        try:
            decided = tasks.decide(_command(rng.choice(WEIGHTED), task, rng, units), task, context)
        except Refused:
            continue
        record(task.id, decided.events)
        if rng.random() < 0.6:
            flush()
    flush()
    return history


async def append_history(store: EventStore, history: History) -> list[datetime]:
    """Append the history's appends in order; returns when each was recorded."""
    instants = []
    for writes in history.appends:
        result = await store.append(
            [
                StreamWrite(stream, version, [NewEvent(e, plan_id=history.plan_id) for e in events])
                for stream, version, events in writes
            ],
            Metadata(),
        )
        assert result.recorded_at is not None
        instants.append(result.recorded_at)
    return instants
