"""The deadline decider: schedules for a task's due in force, and which steps a handler records."""

from __future__ import annotations

import functools
import uuid
from datetime import datetime, timedelta

import pytest

from events.assignments import (
    AssignmentCompleted,
    AssignmentIssued,
    AssignmentWithdrawn,
    ExtensionGranted,
)
from events.deadlines import (
    DeadlineMissed,
    DeadlineScheduled,
    EscalationRaised,
    ReminderSent,
    ScheduledStep,
)
from events.plans import EscalationStep
from services.domain import assignment as tasks
from services.domain import calendar
from services.domain.deadlines import DEFAULT_POLICY, day_zero, perform, place, schedule
from services.domain.refusal import Refused

CALENDAR = calendar.from_rows(*calendar.materialise())
TASK, PLAN = uuid.uuid4(), uuid.uuid4()
GROUP, CELL, COMMITTEE, SUCCESSOR = (uuid.uuid4() for _ in range(4))
DUE = datetime.fromisoformat("2022-10-16T00:00:00+07:00")  # party group 1, seed 003


def at(text: str) -> datetime:
    return datetime.fromisoformat(text)


def issued_event(shift_day_off: bool = False) -> AssignmentIssued:
    return AssignmentIssued(
        shift_day_off=shift_day_off,
        assignment_id=TASK,
        plan_id=PLAN,
        item="1",
        text="Báo cáo kết quả",
        lead_unit_id=GROUP,
        due=DUE,
        report_to_unit_id=CELL,
        issuer_unit_id=CELL,
        effective_at=at("2022-10-05T08:00:00+07:00"),
    )


def issued(now: datetime, shift_day_off: bool = False) -> tasks.Assignment:
    task = tasks.evolve(tasks.initial(TASK), issued_event(shift_day_off))
    events = schedule(task, CALENDAR, now=now, cause="issued", report_to_parent=COMMITTEE)
    return functools.reduce(tasks.evolve, events, task)


def run(
    task: tasks.Assignment, version: int, step: str, now: datetime
) -> tuple[list, tasks.Assignment]:
    events = perform(task, version, step, now, lambda unit: SUCCESSOR if unit == CELL else unit)
    return events, functools.reduce(tasks.evolve, events, task)


def test_the_schedule_names_each_step_its_instant_and_unit() -> None:
    task = issued(at("2022-10-05T08:00:00+07:00"))
    assert task.schedule is not None and task.schedule.schedule_version == 1
    assert [(s.step, s.unit_id, s.at) for s in task.schedule.steps] == [
        ("-3", GROUP, at("2022-10-12T08:00:00+07:00")),
        ("-1", GROUP, at("2022-10-14T08:00:00+07:00")),
        ("0", GROUP, DUE),
        ("+1", CELL, at("2022-10-17T08:00:00+07:00")),
        ("+3", COMMITTEE, at("2022-10-19T08:00:00+07:00")),
    ]
    assert task.schedule.calendar_version == CALENDAR.version


def test_each_step_is_recorded_once_when_due_and_aimed_at_the_successor() -> None:
    task = issued(at("2022-10-05T08:00:00+07:00"))
    assert run(task, 1, "-3", at("2022-10-12T07:59:00+07:00"))[0] == []  # not yet
    events, task = run(task, 1, "-3", at("2022-10-12T08:00:01+07:00"))
    assert [type(e) for e in events] == [ReminderSent] and events[0].to_unit_id == GROUP
    assert run(task, 1, "-3", at("2022-10-12T09:00:00+07:00"))[0] == []  # recorded already
    events, task = run(task, 1, "0", at("2022-10-20T00:00:00+07:00"))
    assert events == [
        DeadlineMissed(assignment_id=TASK, schedule_version=1, due=DUE, effective_at=DUE)
    ]
    events, task = run(task, 1, "+1", at("2022-10-20T00:00:00+07:00"))
    assert events == [
        EscalationRaised(
            assignment_id=TASK,
            schedule_version=1,
            step="+1",
            level=1,
            to_unit_id=SUCCESSOR,  # the cell merged meanwhile
            effective_at=at("2022-10-17T08:00:00+07:00"),
        )
    ]
    events, task = run(task, 1, "+3", at("2022-10-20T00:00:00+07:00"))
    assert [(e.level, e.to_unit_id) for e in events] == [(2, COMMITTEE)]


def test_an_extension_after_the_first_reminder_re_times_the_later_steps() -> None:
    task = issued(at("2022-10-05T08:00:00+07:00"))
    _, task = run(task, 1, "-3", at("2022-10-12T08:00:00+07:00"))
    task = tasks.evolve(
        task,
        ExtensionGranted(
            assignment_id=TASK,
            extension_id=uuid.uuid4(),
            previous_due=DUE,
            new_due=at("2022-10-22T00:00:00+07:00"),
            effective_at=at("2022-10-13T10:00:00+07:00"),
        ),
    )
    (rescheduled,) = schedule(
        task,
        CALENDAR,
        now=at("2022-10-13T10:00:00+07:00"),
        cause="extended",
        report_to_parent=COMMITTEE,
    )
    task = tasks.evolve(task, rescheduled)
    assert rescheduled.schedule_version == 2
    assert {s.step: s.at for s in rescheduled.steps} == {
        "-3": at("2022-10-18T08:00:00+07:00"),
        "-1": at("2022-10-20T08:00:00+07:00"),
        "0": at("2022-10-22T00:00:00+07:00"),
        "+1": at("2022-10-24T08:00:00+07:00"),
        "+3": at("2022-10-26T08:00:00+07:00"),
    }
    assert run(task, 1, "-1", at("2022-10-14T08:00:00+07:00"))[0] == []  # replaced
    assert run(task, 2, "0", at("2022-10-17T00:00:00+07:00"))[0] == []  # not due any more


def test_a_task_completed_before_its_due_is_not_chased() -> None:
    task = issued(at("2022-10-05T08:00:00+07:00"))
    task = tasks.evolve(
        task,
        AssignmentCompleted(
            assignment_id=TASK,
            submission_id=uuid.uuid4(),
            on_time=True,
            completed_at=at("2022-10-14T16:00:00+07:00"),
            due=DUE,
            days_late=0,
        ),
    )
    for step in ("0", "+1", "+3"):
        assert run(task, 1, step, at("2022-11-01T00:00:00+07:00"))[0] == []
    assert schedule(task, CALENDAR, now=DUE, cause="extended", report_to_parent=None) == []


def test_history_entered_later_sends_no_reminder_but_records_misses_once() -> None:
    task = issued(at("2022-11-01T08:00:00+07:00"))  # scheduled after every step
    now = at("2022-11-01T08:00:05+07:00")
    assert run(task, 1, "-3", now)[0] == [] and run(task, 1, "-1", now)[0] == []
    events, task = run(task, 1, "0", now)
    assert [(type(e), e.effective_at) for e in events] == [(DeadlineMissed, DUE)]
    events, task = run(task, 1, "+1", now)
    assert [e.effective_at for e in events] == [at("2022-10-17T08:00:00+07:00")]
    # Completed late (after the miss): the miss stands.
    late = tasks.evolve(
        issued(at("2022-11-01T08:00:00+07:00")),
        AssignmentCompleted(
            assignment_id=TASK,
            submission_id=uuid.uuid4(),
            on_time=False,
            completed_at=at("2022-10-18T09:00:00+07:00"),
            due=DUE,
            days_late=3,
        ),
    )
    assert [type(e) for e in run(late, 1, "0", now)[0]] == [DeadlineMissed]
    assert [type(e) for e in run(late, 1, "+1", now)[0]] == [EscalationRaised]
    assert run(late, 1, "+3", now)[0] == []  # completed before +3
    assert timedelta(0) < now - DUE


def test_seed_003_with_the_day_off_shift_asked_by_the_task() -> None:
    task = issued(at("2022-10-05T08:00:00+07:00"), shift_day_off=True)
    assert task.schedule is not None and task.schedule.shifted
    assert task.schedule.due == at("2022-10-18T00:00:00+07:00")  # the end of Monday 17/10
    assert {s.step: (s.at, s.unit_id) for s in task.schedule.steps if s.offset >= 0} == {
        "0": (at("2022-10-18T00:00:00+07:00"), GROUP),
        "+1": (at("2022-10-18T08:00:00+07:00"), CELL),
        "+3": (at("2022-10-20T08:00:00+07:00"), COMMITTEE),
    }
    # The miss is judged against the due in force.
    assert run(task, 1, "0", at("2022-10-17T12:00:00+07:00"))[0] == []
    events, _ = run(task, 1, "0", at("2022-10-18T00:00:01+07:00"))
    assert [e.due for e in events] == [at("2022-10-18T00:00:00+07:00")]


def test_a_step_of_a_replaced_schedule_is_never_carried_out() -> None:
    task = issued(at("2022-10-05T08:00:00+07:00"))
    extended = tasks.evolve(
        task,
        ExtensionGranted(
            assignment_id=TASK,
            extension_id=uuid.uuid4(),
            previous_due=DUE,
            new_due=at("2022-10-22T00:00:00+07:00"),
            effective_at=at("2022-10-06T10:00:00+07:00"),
        ),
    )
    (rescheduled,) = schedule(
        extended,
        CALENDAR,
        now=at("2022-10-06T10:00:00+07:00"),
        cause="extended",
        report_to_parent=COMMITTEE,
    )
    task = tasks.evolve(extended, rescheduled)
    # Long after every step of both versions: the old version's steps do nothing, the new's fire.
    later = at("2022-11-01T00:00:00+07:00")
    for step in ("-3", "-1", "0", "+1", "+3"):
        assert run(task, 1, step, later)[0] == []
    events, _ = run(task, 2, "0", later)
    assert [(type(e), e.schedule_version) for e in events] == [(DeadlineMissed, 2)]


def test_a_task_without_a_schedule_performs_no_step() -> None:
    task = tasks.evolve(tasks.initial(TASK), issued_event())  # issued before schedules were
    assert task.schedule is None
    assert run(task, 1, "0", at("2022-11-01T00:00:00+07:00"))[0] == []


def test_the_schedule_recorded_for_a_task_in_full() -> None:
    task = tasks.evolve(tasks.initial(TASK), issued_event())
    now = at("2022-10-05T08:00:00+07:00")
    (scheduled,) = schedule(task, CALENDAR, now=now, cause="issued", report_to_parent=COMMITTEE)

    def step(name: str, action: str, target: str, unit: uuid.UUID, when: str) -> ScheduledStep:
        return ScheduledStep(
            step=name,
            offset=int(name),
            action=action,  # type: ignore[arg-type]
            target=target,  # type: ignore[arg-type]
            unit_id=unit,
            at=at(when),
        )

    assert scheduled == DeadlineScheduled(
        assignment_id=TASK,
        schedule_version=1,
        due=DUE,
        shifted=False,
        calendar_version=CALENDAR.version,
        steps=(
            step("-3", "remind", "lead", GROUP, "2022-10-12T08:00:00+07:00"),
            step("-1", "remind", "lead", GROUP, "2022-10-14T08:00:00+07:00"),
            step("0", "miss", "lead", GROUP, "2022-10-16T00:00:00+07:00"),
            step("+1", "escalate", "report_to", CELL, "2022-10-17T08:00:00+07:00"),
            step("+3", "escalate", "report_to_parent", COMMITTEE, "2022-10-19T08:00:00+07:00"),
        ),
        scheduled_at=now,
        cause="issued",
    )


def test_a_step_is_carried_out_from_its_instant_exactly() -> None:
    task = issued(at("2022-10-05T08:00:00+07:00"))
    instant = at("2022-10-14T08:00:00+07:00")
    assert run(task, 1, "-1", instant)[0] == [
        ReminderSent(
            assignment_id=TASK,
            schedule_version=1,
            step="-1",
            to_unit_id=GROUP,
            effective_at=instant,
        )
    ]
    assert run(task, 1, "+7", at("2022-11-01T00:00:00+07:00"))[0] == []  # no such step


def test_a_reminder_scheduled_at_its_own_instant_is_still_sent() -> None:
    task = issued(at("2022-10-12T08:00:00+07:00"))  # scheduled exactly at the -3 reminder
    events, _ = run(task, 1, "-3", at("2022-10-12T08:00:00+07:00"))
    assert [type(e) for e in events] == [ReminderSent]


def test_a_task_completed_at_the_due_exactly_is_not_missed() -> None:
    task = tasks.evolve(
        issued(at("2022-10-05T08:00:00+07:00")),
        AssignmentCompleted(
            assignment_id=TASK,
            submission_id=uuid.uuid4(),
            on_time=True,
            completed_at=DUE,
            due=DUE,
            days_late=0,
        ),
    )
    assert run(task, 1, "0", at("2022-10-20T00:00:00+07:00"))[0] == []


def test_a_reminder_due_before_a_withdrawal_is_not_sent_after_it() -> None:
    task = tasks.evolve(
        issued(at("2022-10-05T08:00:00+07:00")),
        AssignmentWithdrawn(
            assignment_id=TASK, reason="x", effective_at=at("2022-10-14T09:00:00+07:00")
        ),
    )
    assert run(task, 1, "-1", at("2022-10-14T10:00:00+07:00"))[0] == []


def test_an_escalation_at_offset_0_fires_at_the_office_hour_of_day_0() -> None:
    policy = (
        EscalationStep(offset=0, action="miss", target="lead"),
        EscalationStep(offset=0, action="escalate", target="report_to"),
    )
    _, steps = place(DUE, policy, CALENDAR)
    assert [(s.action, s.at) for s in steps] == [
        ("escalate", at("2022-10-15T08:00:00+07:00")),  # day 0 is Saturday 15/10
        ("miss", DUE),
    ]


def test_day_zero_is_the_day_of_any_instant_after_midnight() -> None:
    assert day_zero(at("2022-10-16T00:00:00.000001+07:00")) == at("2022-10-16").date()


def test_a_due_outside_the_window_is_refused_naming_it() -> None:
    with pytest.raises(Refused) as refused:
        place(at("2200-01-01T00:00:00+07:00"), DEFAULT_POLICY, CALENDAR)
    assert refused.value.detail == "the due 2200-01-01T00:00:00+07:00 is outside 1900 to 2100"
