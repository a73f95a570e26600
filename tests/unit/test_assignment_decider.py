"""Given these task events, this command yields these events or this refusal."""

from __future__ import annotations

import functools
import uuid
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import msgspec
import pytest

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
    ProgressReported,
    Source,
    SubmissionFiled,
    SubmissionReviewed,
)
from events.organisation import UnitDissolved, UnitRegistered
from events.plans import Phase, PlanClosed, PlanDrafted, PlanIssued, Signer
from services.domain import assignment
from services.domain import plan as plans
from services.domain import unit as units
from services.domain.assignment import (
    Acknowledge,
    Assignment,
    Context,
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
    decide,
    evolve,
    initial,
)
from services.domain.refusal import Refused
from tests.deciders import Specification

CELL, UNION, GROUP, OTHER = (uuid.uuid4() for _ in range(4))
PLAN, TASK, SUB, EXT, OBS = (uuid.uuid4() for _ in range(5))
SPEC = Specification(assignment, TASK)
NOW = datetime(2022, 10, 14, 3, 0, tzinfo=UTC)
DUE = datetime(2022, 10, 15, 17, 0, tzinfo=UTC)  # before 16/10/2022, Hà Nội time


def unit(unit_id: uuid.UUID, parent: uuid.UUID | None = None) -> units.Unit:
    return units.evolve(
        units.initial(unit_id),
        UnitRegistered(
            unit_id=unit_id,
            name="u",
            short_code=str(unit_id)[:4].upper().replace("-", "X"),
            kind="other",
            parent_id=parent,
        ),
    )


UNITS = {CELL: unit(CELL), UNION: unit(UNION, CELL), GROUP: unit(GROUP, CELL), OTHER: unit(OTHER)}
PLAN_ISSUED = functools.reduce(
    plans.evolve,
    [
        PlanDrafted(
            plan_id=PLAN,
            kind="KH",
            title="334",
            issuer_unit_id=CELL,
            phases=(Phase(phase_id="1", name="Đợt 1"),),
        ),
        PlanIssued(
            plan_id=PLAN,
            number="334-KH/CB",
            number_normalized="334-KH/CB",
            number_form="party",
            place="Sơn La",
            issued_on=NOW.date(),
            effective_at=NOW,
            signer=Signer(name="Đoàn Văn Tú", title="Bí thư"),
            numbering_period="2020-2025",
        ),
    ],
    plans.initial(PLAN),
)
CONTEXT = Context(plan=PLAN_ISSUED, units=UNITS)
ISSUED = AssignmentIssued(
    assignment_id=TASK,
    plan_id=PLAN,
    item="2",
    text="Báo cáo",
    lead_unit_id=UNION,
    due=DUE,
    report_to_unit_id=CELL,
    issuer_unit_id=CELL,
    effective_at=NOW - timedelta(days=2),
)
FILED = SubmissionFiled(
    assignment_id=TASK, submission_id=SUB, text="Kết quả", effective_at=NOW, metrics={"models": 1}
)


OPEN = SPEC.given(ISSUED).state
SUBMITTED = SPEC.given(ISSUED, FILED).state


def issue(**changes: object) -> IssueAssignment:
    fields: dict[str, object] = dict(
        assignment_id=TASK,
        plan_id=PLAN,
        item="2",
        text="Báo cáo",
        lead_unit_id=UNION,
        due=DUE,
        now=NOW,
        effective_at=NOW,
    )
    fields.update(changes)
    return IssueAssignment(**fields)  # type: ignore[arg-type]


def test_issuing_a_task_reports_to_the_issuer_by_default() -> None:
    decision = decide(issue(coordinating_unit_ids=(GROUP,), phase_id="1"), initial(TASK), CONTEXT)
    assert decision.events == [
        AssignmentIssued(
            assignment_id=TASK,
            plan_id=PLAN,
            item="2",
            text="Báo cáo",
            lead_unit_id=UNION,
            coordinating_unit_ids=(GROUP,),
            due=DUE,
            report_to_unit_id=CELL,
            issuer_unit_id=CELL,
            phase_id="1",
            effective_at=NOW,
        )
    ]
    state = evolve(initial(TASK), decision.events[0])
    assert (state.status, state.due, state.original_due) == ("assigned", DUE, DUE)


DISSOLVED = units.evolve(UNITS[GROUP], UnitDissolved(unit_id=GROUP, successor_id=CELL))
CLOSED_PLAN = plans.evolve(PLAN_ISSUED, PlanClosed(plan_id=PLAN, effective_at=NOW))


@pytest.mark.parametrize(
    ("command", "state", "context", "code"),
    [
        (issue(), OPEN, CONTEXT, "assignment-exists"),
        (issue(), initial(TASK), Context(units=UNITS), "unknown-plan"),
        (issue(), initial(TASK), Context(plan=CLOSED_PLAN, units=UNITS), "plan-takes-no-tasks"),
        (issue(lead_unit_id=uuid.uuid4()), initial(TASK), CONTEXT, "unknown-lead"),
        (
            issue(lead_unit_id=GROUP),
            initial(TASK),
            Context(plan=PLAN_ISSUED, units={**UNITS, GROUP: DISSOLVED}),
            "lead-inactive",
        ),
        (
            issue(coordinating_unit_ids=(uuid.uuid4(),)),
            initial(TASK),
            CONTEXT,
            "unknown-coordinating",
        ),
        (issue(coordinating_unit_ids=(UNION,)), initial(TASK), CONTEXT, "lead-also-coordinating"),
        (issue(report_to_unit_id=uuid.uuid4()), initial(TASK), CONTEXT, "unknown-report-to"),
        (issue(phase_id="9"), initial(TASK), CONTEXT, "unknown-phase"),
        (issue(due=NOW - timedelta(days=1)), initial(TASK), CONTEXT, "due-in-past"),
        (
            issue(effective_at=NOW - timedelta(days=3)),
            initial(TASK),
            CONTEXT,
            "backdating-not-allowed",
        ),
        (
            issue(effective_at=NOW + timedelta(days=1)),
            initial(TASK),
            CONTEXT,
            "effective-in-future",
        ),
        (
            issue(review_steps=("approval", "appraisal")),
            initial(TASK),
            CONTEXT,
            "invalid-review-steps",
        ),
        (issue(text=" "), initial(TASK), CONTEXT, "invalid-text"),
    ],
)
def test_issue_refusals(
    command: IssueAssignment, state: Assignment, context: Context, code: str
) -> None:
    SPEC.at(state).when(command, context).then_refused(code)


def test_a_dissolved_lead_is_refused_naming_its_successor() -> None:
    with pytest.raises(Refused) as refused:
        decide(
            issue(lead_unit_id=GROUP),
            initial(TASK),
            Context(plan=PLAN_ISSUED, units={**UNITS, GROUP: DISSOLVED}),
        )
    assert refused.value.extra["successor_id"] == str(CELL)


def test_acknowledging_and_reporting_progress() -> None:
    assert decide(Acknowledge(TASK, NOW), OPEN).events == [
        AssignmentAcknowledged(assignment_id=TASK, effective_at=NOW)
    ]
    SPEC.given(ISSUED, AssignmentAcknowledged(assignment_id=TASK, effective_at=NOW)).when(
        Acknowledge(TASK, NOW), CONTEXT
    ).then_refused("already-acknowledged")
    progress = decide(ReportProgress(TASK, "đã họp chi bộ", NOW, 50, {"meetings": 1}), OPEN)
    assert progress.events == [
        ProgressReported(
            assignment_id=TASK,
            note="đã họp chi bộ",
            percent=50,
            metrics={"meetings": 1},
            effective_at=NOW,
        )
    ]
    SPEC.at(OPEN).when(ReportProgress(TASK, "x", NOW, 120), CONTEXT).then_refused("invalid-percent")


def test_filing_a_submission() -> None:
    decision = decide(FileSubmission(TASK, SUB, "Kết quả", NOW, NOW, metrics={"models": 1}), OPEN)
    assert decision.events == [FILED]
    assert evolve(OPEN, FILED).status == "submitted"


WITHDRAWN = SPEC.given(
    ISSUED, AssignmentWithdrawn(assignment_id=TASK, reason="x", effective_at=NOW)
).state
COMPLETED = SPEC.given(
    ISSUED,
    FILED,
    SubmissionReviewed(
        assignment_id=TASK, submission_id=SUB, step="approval", outcome="approved", effective_at=NOW
    ),
    AssignmentCompleted(
        assignment_id=TASK, submission_id=SUB, on_time=True, completed_at=NOW, due=DUE, days_late=0
    ),
).state


@pytest.mark.parametrize(
    ("command", "state", "code"),
    [
        (FileSubmission(TASK, uuid.uuid4(), "x", NOW, NOW), WITHDRAWN, "assignment-closed"),
        (FileSubmission(TASK, uuid.uuid4(), "x", NOW, NOW), COMPLETED, "assignment-closed"),
        (FileSubmission(TASK, uuid.uuid4(), "x", NOW, NOW), SUBMITTED, "submission-pending"),
        (FileSubmission(TASK, uuid.uuid4(), "x", NOW, NOW), initial(TASK), "unknown-assignment"),
        (
            FileSubmission(TASK, uuid.uuid4(), "x", NOW, NOW - timedelta(days=2)),
            OPEN,
            "backdating-not-allowed",
        ),
        (FileSubmission(TASK, uuid.uuid4(), "", NOW, NOW), OPEN, "invalid-text"),
    ],
)
def test_filing_refusals(command: FileSubmission, state: Assignment, code: str) -> None:
    SPEC.at(state).when(command, CONTEXT).then_refused(code)


def test_the_final_approval_completes_the_task_on_time_or_late() -> None:
    on_time = decide(Review(TASK, SUB, "approval", "approved", NOW), SUBMITTED)
    assert on_time.events[1] == AssignmentCompleted(
        assignment_id=TASK, submission_id=SUB, on_time=True, completed_at=NOW, due=DUE, days_late=0
    )
    late_filing = replace_filed(NOW + timedelta(days=2))
    late = decide(
        Review(TASK, SUB, "approval", "approved", NOW + timedelta(days=3)),
        SPEC.given(ISSUED, late_filing).state,
        CONTEXT,
    )
    completed = late.events[1]
    assert isinstance(completed, AssignmentCompleted)
    assert (completed.on_time, completed.days_late) == (False, 1)
    assert evolve(SPEC.given(ISSUED, late_filing, late.events[0]).state, completed).status == (
        "completed_late"
    )


@pytest.mark.parametrize(
    ("filed_after_due", "on_time", "days_late"),
    [
        (timedelta(0), True, 0),  # filed at exactly the due: on time
        (-timedelta(days=3), True, 0),
        (timedelta(seconds=1), False, 1),  # any part of a day counts as a day
        (timedelta(days=1), False, 1),
        (timedelta(days=1, hours=1), False, 2),
    ],
)
def test_a_report_is_late_by_each_day_or_part_of_a_day_after_the_due(
    filed_after_due: timedelta, on_time: bool, days_late: int
) -> None:
    state = SPEC.given(ISSUED, replace_filed(DUE + filed_after_due)).state
    _, completed = decide(Review(TASK, SUB, "approval", "approved", NOW), state).events
    assert isinstance(completed, AssignmentCompleted)
    assert (completed.on_time, completed.days_late) == (on_time, days_late)
    status = "completed_on_time" if on_time else "completed_late"
    assert evolve(state, completed).status == status


def replace_filed(effective_at: datetime) -> SubmissionFiled:
    return SubmissionFiled(
        assignment_id=TASK, submission_id=SUB, text="x", effective_at=effective_at
    )


def test_appraisal_comes_before_approval_and_each_step_once() -> None:
    two_steps = SPEC.given(
        msgspec.structs.replace(ISSUED, review_steps=("appraisal", "approval")), FILED
    ).state
    SPEC.at(two_steps).when(Review(TASK, SUB, "approval", "approved", NOW), CONTEXT).then_refused(
        "wrong-step"
    )
    appraised = decide(Review(TASK, SUB, "appraisal", "approved", NOW), two_steps)
    assert len(appraised.events) == 1
    after = evolve(two_steps, appraised.events[0])
    assert after.status == "submitted"
    SPEC.at(after).when(Review(TASK, SUB, "appraisal", "approved", NOW), CONTEXT).then_refused(
        "step-done"
    )
    final = decide(Review(TASK, SUB, "approval", "approved", NOW), after)
    assert isinstance(final.events[1], AssignmentCompleted)


@pytest.mark.parametrize("outcome", ["changes_requested", "rejected"])
def test_changes_requested_or_rejected_reopen_the_task(outcome: str) -> None:
    decision = decide(
        Review(TASK, SUB, "approval", outcome, NOW, "bổ sung"),  # type: ignore[arg-type]
        SUBMITTED,
    )
    reopened = evolve(SUBMITTED, decision.events[0])
    assert reopened.status == "changes_requested" and reopened.open
    again = decide(FileSubmission(TASK, uuid.uuid4(), "bổ sung", NOW, NOW), reopened)
    assert isinstance(again.events[0], SubmissionFiled)
    SPEC.at(reopened).when(Review(TASK, SUB, "approval", "approved", NOW), CONTEXT).then_refused(
        "submission-not-pending"
    )


def test_review_refusals() -> None:
    SPEC.at(SUBMITTED).when(
        Review(TASK, uuid.uuid4(), "approval", "approved", NOW), CONTEXT
    ).then_refused("unknown-submission")
    SPEC.given().when(Review(TASK, SUB, "approval", "approved", NOW), CONTEXT).then_refused(
        "unknown-assignment"
    )
    SPEC.at(COMPLETED).when(Review(TASK, SUB, "approval", "approved", NOW), CONTEXT).then_refused(
        "submission-not-pending"
    )


def test_an_extension_keeps_the_original_due_and_moves_the_due_in_force() -> None:
    later = DUE + timedelta(days=5)
    asked = decide(RequestExtension(TASK, EXT, later, "chờ số liệu", NOW), OPEN)
    assert asked.events == [
        ExtensionRequested(
            assignment_id=TASK,
            extension_id=EXT,
            requested_due=later,
            reason="chờ số liệu",
            effective_at=NOW,
        )
    ]
    pending = evolve(OPEN, asked.events[0])
    assert pending.extension_pending
    granted = decide(DecideExtension(TASK, EXT, True, NOW, "đồng ý"), pending)
    assert granted.events == [
        ExtensionGranted(
            assignment_id=TASK,
            extension_id=EXT,
            previous_due=DUE,
            new_due=later,
            comments="đồng ý",
            effective_at=NOW,
        )
    ]
    extended = evolve(pending, granted.events[0])
    assert (extended.original_due, extended.due) == (DUE, later)
    assert not extended.extension_pending
    denied = decide(DecideExtension(TASK, EXT, False, NOW, "không đủ lý do"), pending)
    assert denied.events == [
        ExtensionDenied(
            assignment_id=TASK, extension_id=EXT, reason="không đủ lý do", effective_at=NOW
        )
    ]
    assert evolve(pending, denied.events[0]).due == DUE


def test_extension_refusals() -> None:
    pending = SPEC.given(
        ISSUED,
        ExtensionRequested(
            assignment_id=TASK,
            extension_id=EXT,
            requested_due=DUE + timedelta(days=1),
            reason="x",
            effective_at=NOW,
        ),
    ).state
    SPEC.at(OPEN).when(RequestExtension(TASK, uuid.uuid4(), DUE, "x", NOW), CONTEXT).then_refused(
        "due-not-later"
    )
    SPEC.at(OPEN).when(
        RequestExtension(TASK, uuid.uuid4(), DUE + timedelta(1), " ", NOW), CONTEXT
    ).then_refused("invalid-reason")
    SPEC.at(pending).when(
        RequestExtension(TASK, uuid.uuid4(), DUE + timedelta(days=2), "x", NOW), CONTEXT
    ).then_refused("extension-pending")
    SPEC.at(pending).when(DecideExtension(TASK, uuid.uuid4(), True, NOW), CONTEXT).then_refused(
        "unknown-extension"
    )
    SPEC.at(pending).when(DecideExtension(TASK, EXT, False, NOW), CONTEXT).then_refused(
        "invalid-reason"
    )
    granted = evolve(
        pending,
        ExtensionGranted(
            assignment_id=TASK,
            extension_id=EXT,
            previous_due=DUE,
            new_due=DUE + timedelta(1),
            effective_at=NOW,
        ),
    )
    SPEC.at(granted).when(DecideExtension(TASK, EXT, True, NOW), CONTEXT).then_refused(
        "extension-decided"
    )
    SPEC.at(WITHDRAWN).when(
        RequestExtension(TASK, uuid.uuid4(), DUE + timedelta(days=2), "x", NOW), CONTEXT
    ).then_refused("assignment-closed")


def test_obstacles_are_raised_and_resolved_with_a_direction() -> None:
    raised = decide(RaiseObstacle(TASK, OBS, "thiếu kinh phí", NOW), OPEN)
    assert raised.events == [
        ObstacleRaised(
            assignment_id=TASK, obstacle_id=OBS, description="thiếu kinh phí", effective_at=NOW
        )
    ]
    blocked = evolve(OPEN, raised.events[0])
    assert blocked.obstacle_open
    resolved = decide(ResolveObstacle(TASK, OBS, "Văn phòng bố trí kinh phí", NOW), blocked)
    assert resolved.events == [
        ObstacleResolved(
            assignment_id=TASK,
            obstacle_id=OBS,
            direction="Văn phòng bố trí kinh phí",
            effective_at=NOW,
        )
    ]
    done = evolve(blocked, resolved.events[0])
    assert not done.obstacle_open
    SPEC.at(done).when(ResolveObstacle(TASK, OBS, "x", NOW), CONTEXT).then_refused(
        "obstacle-resolved"
    )
    SPEC.at(done).when(ResolveObstacle(TASK, uuid.uuid4(), "x", NOW), CONTEXT).then_refused(
        "unknown-obstacle"
    )
    SPEC.at(done).when(RaiseObstacle(TASK, OBS, "x", NOW), CONTEXT).then_refused("obstacle-exists")
    SPEC.at(blocked).when(ResolveObstacle(TASK, OBS, "", NOW), CONTEXT).then_refused(
        "invalid-direction"
    )


def test_reassigning_and_withdrawing() -> None:
    moved = decide(Reassign(TASK, GROUP, "đổi đơn vị", NOW), OPEN, CONTEXT)
    assert moved.events == [
        AssignmentReassigned(
            assignment_id=TASK,
            from_unit_id=UNION,
            to_unit_id=GROUP,
            reason="đổi đơn vị",
            effective_at=NOW,
        )
    ]
    assert evolve(OPEN, moved.events[0]).lead_unit_id == GROUP
    SPEC.at(OPEN).when(Reassign(TASK, UNION, "x", NOW), CONTEXT).then_refused("nothing-changed")
    SPEC.at(OPEN).when(Reassign(TASK, uuid.uuid4(), "x", NOW), CONTEXT).then_refused("unknown-lead")
    withdrawn = decide(Withdraw(TASK, "không còn phù hợp", NOW), OPEN)
    assert evolve(OPEN, withdrawn.events[0]).status == "withdrawn"
    SPEC.at(WITHDRAWN).when(Withdraw(TASK, "x", NOW), CONTEXT).then_refused("assignment-closed")
    SPEC.at(COMPLETED).when(Reassign(TASK, GROUP, "x", NOW), CONTEXT).then_refused(
        "assignment-closed"
    )


def test_a_consolidated_report_sums_the_approved_reports_of_sub_units() -> None:
    cell_task, union_task = uuid.uuid4(), uuid.uuid4()
    union_done = functools.reduce(
        evolve,
        [
            AssignmentIssued(
                assignment_id=union_task,
                plan_id=PLAN,
                item="2",
                text="x",
                lead_unit_id=UNION,
                due=DUE,
                report_to_unit_id=CELL,
                issuer_unit_id=CELL,
                effective_at=NOW,
            ),
            SubmissionFiled(
                assignment_id=union_task,
                submission_id=SUB,
                text="x",
                effective_at=NOW,
                metrics={"models": 2, "works": 469},
            ),
            SubmissionReviewed(
                assignment_id=union_task,
                submission_id=SUB,
                step="approval",
                outcome="approved",
                effective_at=NOW,
            ),
        ],
        initial(union_task),
    )
    cell = functools.reduce(
        evolve,
        [
            AssignmentIssued(
                assignment_id=cell_task,
                plan_id=PLAN,
                item="1",
                text="tổng hợp",
                lead_unit_id=CELL,
                due=DUE,
                report_to_unit_id=OTHER,
                issuer_unit_id=CELL,
                effective_at=NOW,
            )
        ],
        initial(cell_task),
    )
    context = Context(sources={union_task: union_done}, lineages={union_task: [UNION, CELL]})
    filed = decide(
        FileSubmission(
            cell_task,
            uuid.uuid4(),
            "tổng hợp",
            NOW,
            NOW,
            metrics={"models": 1},
            sources=(union_task,),
        ),
        cell,
        context,
    )
    event = filed.events[0]
    assert isinstance(event, SubmissionFiled)
    assert event.metrics == {"models": 3, "works": 469}
    assert event.sources == (Source(assignment_id=union_task, submission_id=SUB, unit_id=UNION),)
    with pytest.raises(Refused, match="not led by a unit under"):
        decide(
            FileSubmission(cell_task, uuid.uuid4(), "x", NOW, NOW, sources=(union_task,)),
            cell,
            Context(sources={union_task: union_done}, lineages={union_task: [UNION, OTHER]}),
        )
    with pytest.raises(Refused) as refused:
        decide(
            FileSubmission(cell_task, uuid.uuid4(), "x", NOW, NOW, sources=(TASK,)),
            cell,
            Context(sources={TASK: OPEN}, lineages={TASK: [UNION, CELL]}),
        )
    assert refused.value.code == "source-not-approved"
    with pytest.raises(Refused) as unknown_source:
        decide(
            FileSubmission(cell_task, uuid.uuid4(), "x", NOW, NOW, sources=(uuid.uuid4(),)),
            cell,
            Context(),
        )
    assert unknown_source.value.code == "unknown-source"


def test_a_task_may_ask_for_appraisal_then_approval_and_its_own_day_off_rule() -> None:
    shifting_plan = Context(plan=replace(PLAN_ISSUED, shift_day_off=True), units=UNITS)
    (issued,) = decide(
        issue(review_steps=("appraisal", "approval"), shift_day_off=False),
        initial(TASK),
        shifting_plan,
    ).events
    assert isinstance(issued, AssignmentIssued)
    assert (issued.review_steps, issued.shift_day_off) == (("appraisal", "approval"), False)
    (inherited,) = decide(issue(), initial(TASK), shifting_plan).events
    assert isinstance(inherited, AssignmentIssued) and inherited.shift_day_off is True


def test_an_item_is_named_in_at_most_40_characters() -> None:
    (issued,) = decide(issue(item="1" * 40), initial(TASK), CONTEXT).events
    assert isinstance(issued, AssignmentIssued) and issued.item == "1" * 40
    SPEC.given().when(issue(item="1" * 41), CONTEXT).then_refused("invalid-item")


def test_a_requested_due_outside_the_window_is_refused_naming_it() -> None:
    far = datetime(2200, 1, 1, tzinfo=UTC)
    refusal = (
        SPEC.at(OPEN)
        .when(RequestExtension(TASK, EXT, far, "lũ", NOW), CONTEXT)
        .then_refused("date-out-of-range")
    )
    assert refusal.detail == "the requested due 2200-01-01T00:00:00+00:00 is outside 1900 to 2100"
