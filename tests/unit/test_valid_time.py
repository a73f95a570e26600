"""Valid time: which of a campaign's events were in effect at an instant (issue 21)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from events.assignments import AssignmentCompleted, AssignmentIssued, ProgressReported
from events.catalog import Event
from events.deadlines import DeadlineScheduled
from events.envelope import Metadata, RecordedEvent, Tags
from projections.valid_time import effective_time, in_effect

T0 = datetime(2019, 5, 6, 1, 0, tzinfo=UTC)
TASK, PLAN, UNIT = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()


def recorded(stream: str, version: int, event: Event) -> RecordedEvent:
    return RecordedEvent(
        uuid.uuid4(), stream, version, version, "", type(event).__name__, 1, b"{}",
        Metadata(), Tags(category="assignment"), T0, None, b"", event,
    )  # fmt: skip


def issued(at: datetime) -> AssignmentIssued:
    return AssignmentIssued(
        assignment_id=TASK, plan_id=PLAN, item="1", text="x", lead_unit_id=UNIT,
        due=at + timedelta(days=30), report_to_unit_id=UNIT, issuer_unit_id=UNIT,
        effective_at=at,
    )  # fmt: skip


def scheduled(at: datetime) -> DeadlineScheduled:
    return DeadlineScheduled(
        assignment_id=TASK, schedule_version=1, due=at, calendar_version="v", steps=(),
        scheduled_at=at + timedelta(days=3000), cause="issued",
    )  # fmt: skip


def progress(at: datetime) -> ProgressReported:
    return ProgressReported(assignment_id=TASK, note="n", effective_at=at)


def test_an_untimed_event_goes_with_the_timed_one_before_it() -> None:
    stream = [
        recorded("assignment-1", 1, issued(T0)),
        recorded("assignment-1", 2, scheduled(T0)),  # recorded years later, no time of its own
        recorded("assignment-1", 3, progress(T0 + timedelta(days=2))),
    ]
    assert [e.version for e in in_effect(stream, T0 + timedelta(days=1))] == [1, 2]
    assert in_effect(stream, T0 - timedelta(seconds=1)) == []


def test_a_stream_is_cut_at_its_first_event_not_yet_in_effect() -> None:
    stream = [
        recorded("assignment-1", 1, issued(T0)),
        recorded("assignment-1", 2, progress(T0 + timedelta(days=5))),
        recorded("assignment-1", 3, progress(T0 + timedelta(days=1))),  # entered late
    ]
    assert [e.version for e in in_effect(stream, T0 + timedelta(days=2))] == [1]


def test_a_completion_takes_effect_when_completed() -> None:
    done = AssignmentCompleted(
        assignment_id=TASK, submission_id=TASK, on_time=True, completed_at=T0, due=T0,
        days_late=0,
    )  # fmt: skip
    assert effective_time(done) == T0


@given(
    st.lists(st.one_of(st.none(), st.integers(0, 20)), min_size=1, max_size=15),
    st.integers(-1, 21),
)
def test_what_is_in_effect_is_a_prefix_whose_times_have_come(
    days: list[int | None], cut: int
) -> None:
    stream = [
        recorded(
            "assignment-1", n, scheduled(T0) if d is None else progress(T0 + timedelta(days=d))
        )
        for n, d in enumerate(days, start=1)
    ]
    valid_at = T0 + timedelta(days=cut)
    kept = in_effect(stream, valid_at)
    assert [e.version for e in kept] == list(range(1, len(kept) + 1))  # a prefix
    times = [effective_time(e.data) for e in kept if e.data is not None]
    assert all(t is None or t <= valid_at for t in times)
    if kept:
        assert any(t is not None for t in times)  # never untimed events alone
    rest = stream[len(kept) :]
    if rest:  # where the cut falls: a timed event not in effect yet, or nothing timed by then
        assert rest[0].data is not None
        following = effective_time(rest[0].data)
        assert kept == [] if following is None else following > valid_at
