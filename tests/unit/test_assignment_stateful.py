"""Random command sequences against the task decider and against a small reference model
written here, separately: they must accept and refuse the same commands and agree on state."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule

from events.assignments import AssignmentIssued
from services.domain import assignment as tasks
from services.domain.assignment import (
    Acknowledge,
    DecideExtension,
    FileSubmission,
    RaiseObstacle,
    Reassign,
    ReportProgress,
    RequestExtension,
    ResolveObstacle,
    Review,
    Withdraw,
)
from services.domain.refusal import Refused
from services.domain.unit import Unit

DUE = datetime(2022, 10, 15, 17, 0, tzinfo=UTC)
NOW = DUE + timedelta(days=365)
UNIT_A, UNIT_B, REPORT_TO = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
UNITS = {u: Unit(u, "active", "u", "U", "other") for u in (UNIT_A, UNIT_B)}
CLOSED = {"completed_on_time", "completed_late", "withdrawn"}


class Reference:
    """What a task should do, written from the rules, not from the decider."""

    def __init__(self, steps: list[str]) -> None:
        self.status = "assigned"
        self.due = DUE
        self.lead = UNIT_A
        self.steps = steps
        self.pending: uuid.UUID | None = None
        self.filed_at: dict[uuid.UUID, datetime] = {}
        self.done: dict[uuid.UUID, list[str]] = {}
        self.extensions: dict[uuid.UUID, tuple[str, datetime]] = {}
        self.obstacles: dict[uuid.UUID, str] = {}

    @property
    def closed(self) -> bool:
        return self.status in CLOSED

    def acknowledge(self) -> bool:
        if self.status != "assigned":
            return False
        self.status = "acknowledged"
        return True

    def file(self, sid: uuid.UUID, at: datetime) -> bool:
        if self.closed or self.status == "submitted" or sid in self.filed_at:
            return False
        self.status, self.pending = "submitted", sid
        self.filed_at[sid], self.done[sid] = at, []
        return True

    def review(self, sid: uuid.UUID, step: str, outcome: str) -> bool:
        if sid != self.pending or step in self.done[sid]:
            return False
        if step != next(s for s in self.steps if s not in self.done[sid]):
            return False
        self.done[sid].append(step)
        if outcome != "approved":
            self.status, self.pending = "changes_requested", None
        elif step == "approval":
            on_time = self.filed_at[sid] <= self.due
            self.status = "completed_on_time" if on_time else "completed_late"
            self.pending = None
        return True

    def request(self, eid: uuid.UUID, asked: datetime) -> bool:
        if self.closed or eid in self.extensions or asked <= self.due:
            return False
        if any(state == "pending" for state, _ in self.extensions.values()):
            return False
        self.extensions[eid] = ("pending", asked)
        return True

    def decide(self, eid: uuid.UUID, grant: bool) -> bool:
        if self.closed or self.extensions.get(eid, ("none", DUE))[0] != "pending":
            return False
        asked = self.extensions[eid][1]
        self.extensions[eid] = ("granted" if grant else "denied", asked)
        if grant:
            self.due = asked
        return True

    def raise_obstacle(self, oid: uuid.UUID) -> bool:
        if self.closed or oid in self.obstacles:
            return False
        self.obstacles[oid] = "open"
        return True

    def resolve(self, oid: uuid.UUID) -> bool:
        if self.closed or self.obstacles.get(oid) != "open":
            return False
        self.obstacles[oid] = "resolved"
        return True

    def withdraw(self) -> bool:
        if self.closed:
            return False
        self.status, self.pending = "withdrawn", None
        return True

    def reassign(self, to: uuid.UUID) -> bool:
        if self.closed or to == self.lead:
            return False
        self.lead = to
        return True


class TaskMachine(RuleBasedStateMachine):
    ids: list[uuid.UUID]

    @initialize(two_steps=st.booleans())
    def issue(self, two_steps: bool) -> None:
        steps = ["appraisal", "approval"] if two_steps else ["approval"]
        self.task_id = uuid.uuid4()
        issued = AssignmentIssued(
            assignment_id=self.task_id,
            plan_id=uuid.uuid4(),
            item="1",
            text="x",
            lead_unit_id=UNIT_A,
            due=DUE,
            report_to_unit_id=REPORT_TO,
            issuer_unit_id=REPORT_TO,
            review_steps=tuple(steps),  # type: ignore[arg-type]
            effective_at=DUE - timedelta(days=10),
        )
        self.state = tasks.evolve(tasks.initial(self.task_id), issued)
        self.model = Reference(steps)
        self.ids = [uuid.uuid4() for _ in range(3)]

    def run(self, command: tasks.AssignmentCommand, expected: bool) -> None:
        try:
            decision = tasks.decide(command, self.state, tasks.Context(units=UNITS))
        except Refused as refused:
            assert not expected, f"decider refused {command}: {refused.code}"
            return
        assert expected, f"decider accepted {command}, the model refuses it"
        for event in decision.events:
            self.state = tasks.evolve(self.state, event)

    def pick(self, n: int) -> uuid.UUID:
        return self.ids[n % len(self.ids)]

    @rule()
    def acknowledge(self) -> None:
        self.run(Acknowledge(self.task_id, NOW), self.model.acknowledge())

    @rule()
    def progress(self) -> None:
        self.run(ReportProgress(self.task_id, "tiến độ", NOW), not self.model.closed)

    @rule(n=st.integers(0, 5), hours=st.integers(-48, 48))
    def file(self, n: int, hours: int) -> None:
        sid = self.pick(n) if n < 3 else uuid.uuid4()
        if n >= 3:
            self.ids.append(sid)
        at = self.model.due + timedelta(hours=hours)
        expected = self.model.file(sid, at)
        self.run(FileSubmission(self.task_id, sid, "báo cáo", NOW, at, may_backdate=True), expected)

    @rule(
        n=st.integers(0, 20),
        step=st.sampled_from(["appraisal", "approval"]),
        outcome=st.sampled_from(["approved", "approved", "changes_requested", "rejected"]),
    )
    def review(self, n: int, step: str, outcome: str) -> None:
        sid = self.pick(n)
        expected = sid in self.model.done and self.model.review(sid, step, outcome)
        self.run(Review(self.task_id, sid, step, outcome, NOW), expected)  # type: ignore[arg-type]

    @rule(n=st.integers(0, 20), days=st.integers(-2, 5))
    def request_extension(self, n: int, days: int) -> None:
        eid = self.pick(n)
        asked = self.model.due + timedelta(days=days)
        self.run(
            RequestExtension(self.task_id, eid, asked, "lý do", NOW), self.model.request(eid, asked)
        )

    @rule(n=st.integers(0, 20), grant=st.booleans())
    def decide_extension(self, n: int, grant: bool) -> None:
        eid = self.pick(n)
        self.run(
            DecideExtension(self.task_id, eid, grant, NOW, "ý kiến"), self.model.decide(eid, grant)
        )

    @rule(n=st.integers(0, 20))
    def raise_obstacle(self, n: int) -> None:
        oid = self.pick(n)
        self.run(RaiseObstacle(self.task_id, oid, "khó khăn", NOW), self.model.raise_obstacle(oid))

    @rule(n=st.integers(0, 20))
    def resolve_obstacle(self, n: int) -> None:
        oid = self.pick(n)
        self.run(ResolveObstacle(self.task_id, oid, "chỉ đạo", NOW), self.model.resolve(oid))

    @rule(to_b=st.booleans())
    def reassign(self, to_b: bool) -> None:
        to = UNIT_B if to_b else UNIT_A
        self.run(Reassign(self.task_id, to, "điều chỉnh", NOW), self.model.reassign(to))

    @rule()
    def withdraw(self) -> None:
        self.run(Withdraw(self.task_id, "thu hồi", NOW), self.model.withdraw())

    @invariant()
    def agree(self) -> None:
        if not hasattr(self, "model"):
            return
        assert self.state.status == self.model.status
        assert self.state.due == self.model.due
        assert self.state.lead_unit_id == self.model.lead
        assert self.state.pending_submission == self.model.pending
        assert self.state.extension_pending == any(
            s == "pending" for s, _ in self.model.extensions.values()
        )
        assert self.state.obstacle_open == ("open" in self.model.obstacles.values())


TaskMachine.TestCase.settings = settings(max_examples=150, stateful_step_count=40, deadline=None)
test_the_decider_agrees_with_the_reference_model = TaskMachine.TestCase
