"""Tasks without a deadline in the decider (issue 21): issued with no due and their words,
completed never late, refused an extension, given a due once; and the old shapes of the task
events (v1, always dated) read into the current ones."""

from __future__ import annotations

from datetime import date, timedelta

import msgspec
import pytest

from events.assignments import (
    AssignmentCompleted,
    AssignmentIssued,
    DueSet,
    SubmissionReviewed,
)
from events.catalog import catalog
from events.deadlines import DeadlineScheduled
from events.plans import StatedDue
from services.domain.assignment import (
    RequestExtension,
    Review,
    SetDue,
    decide,
    evolve,
    initial,
)
from services.domain.refusal import Refused
from tests.unit.test_assignment_decider import (
    CONTEXT,
    DUE,
    EXT,
    FILED,
    ISSUED,
    NOW,
    SPEC,
    SUB,
    TASK,
    issue,
)

WORDS = StatedDue(text="thường xuyên")
UNDATED = msgspec.structs.replace(ISSUED, due=None, stated_due=WORDS)


def test_a_task_may_be_issued_without_a_due_and_keeps_the_words() -> None:
    decision = decide(issue(due=None, stated_due=WORDS), initial(TASK), CONTEXT)
    [issued] = decision.events
    assert isinstance(issued, AssignmentIssued)
    assert (issued.due, issued.stated_due) == (None, WORDS)
    state = evolve(initial(TASK), issued)
    assert (state.due, state.overdue(NOW + timedelta(days=3650))) == (None, False)


def test_a_written_due_keeps_its_date_reading_and_window() -> None:
    stated = StatedDue(text="trước ngày 16/10/2022", on=date(2022, 10, 16), rule="before")
    decision = decide(
        issue(stated_due=stated, starts_on=date(2022, 10, 14)), initial(TASK), CONTEXT
    )
    [issued] = decision.events
    assert isinstance(issued, AssignmentIssued)
    assert (issued.due, issued.stated_due, issued.starts_on) == (DUE, stated, date(2022, 10, 14))


@pytest.mark.parametrize(
    ("changes", "code"),
    [
        ({"due": None, "stated_due": StatedDue(on=date(2022, 10, 16), rule="by")}, "invalid-due"),
        ({"starts_on": date(2022, 10, 20)}, "invalid-due"),
        ({"stated_due": StatedDue(text="\u202e")}, "invalid-due-text"),
    ],
)
def test_a_due_that_does_not_hold_together_is_refused(
    changes: dict[str, object], code: str
) -> None:
    with pytest.raises(Refused) as refused:
        decide(issue(**changes), initial(TASK), CONTEXT)
    assert refused.value.code == code


def test_an_undated_task_is_completed_on_time_and_never_late() -> None:
    state = SPEC.given(UNDATED, FILED).state
    decision = decide(Review(TASK, SUB, "approval", "approved", NOW + timedelta(days=900)), state)
    reviewed, completed = decision.events
    assert isinstance(reviewed, SubmissionReviewed)
    assert completed == AssignmentCompleted(
        assignment_id=TASK,
        submission_id=SUB,
        on_time=True,
        completed_at=FILED.effective_at,
        due=None,
        days_late=0,
    )


def test_an_undated_task_takes_no_extension_but_a_due_once() -> None:
    state = SPEC.given(UNDATED).state
    with pytest.raises(Refused) as refused:
        decide(RequestExtension(TASK, EXT, DUE, "chưa kịp", NOW), state)
    assert refused.value.code == "no-due"
    stated = StatedDue(text="chậm nhất ngày 15/10/2022", on=date(2022, 10, 15), rule="by")
    decision = decide(SetDue(TASK, DUE, "Công văn số 45", NOW, stated_due=stated), state, CONTEXT)
    assert decision.events == [
        DueSet(
            assignment_id=TASK,
            due=DUE,
            stated_due=stated,
            reason="Công văn số 45",
            effective_at=NOW,
        )
    ]
    dated = evolve(state, decision.events[0])
    assert (dated.due, dated.original_due) == (DUE, DUE)
    with pytest.raises(Refused) as again:
        decide(SetDue(TASK, DUE + timedelta(days=1), "lần nữa", NOW), dated, CONTEXT)
    assert again.value.code == "due-already-set"
    with pytest.raises(Refused) as past:
        decide(SetDue(TASK, NOW - timedelta(hours=1), "muộn", NOW), state, CONTEXT)
    assert past.value.code == "due-in-past"


def test_version_1_task_events_read_as_the_current_shapes() -> None:
    issued_v1 = msgspec.json.encode(ISSUED)  # v1 had the same fields, the due always given
    assert catalog.decode("AssignmentIssued", 1, issued_v1) == ISSUED
    completed = AssignmentCompleted(
        assignment_id=TASK, submission_id=SUB, on_time=True, completed_at=NOW, due=DUE, days_late=0
    )
    assert catalog.decode("AssignmentCompleted", 1, msgspec.json.encode(completed)) == completed
    scheduled = DeadlineScheduled(
        assignment_id=TASK,
        schedule_version=1,
        due=DUE,
        calendar_version="x",
        steps=(),
        scheduled_at=NOW,
        cause="issued",
    )
    assert catalog.decode("DeadlineScheduled", 1, msgspec.json.encode(scheduled)) == scheduled
    assert catalog.name_of(ISSUED) == ("AssignmentIssued", 2)
