"""Bounded input, bounded work (issue 17, security review rows 2, 3 and 15): the working-day
arithmetic counts instead of walking, every date stays within 1900-2100, escalation offsets
within ±60 working days, names refuse control and bidi characters, short codes refuse a
sibling's look-alike, metrics are non-negative and at most 100."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from events.organisation import UnitRegistered
from events.plans import EscalationStep
from services.domain import calendar, model, plan, unit
from services.domain.assignment import FileSubmission, RequestExtension, decide, initial
from services.domain.calendar import VIETNAM, Calendar
from services.domain.deadlines import DEFAULT_POLICY, place
from services.domain.refusal import Refused
from services.domain.rules import MOST_METRICS
from services.domain.text import code_look, skeleton, unsafe_character
from tests.unit.test_assignment_decider import CONTEXT, NOW, OPEN, TASK, issue

CALENDAR = calendar.from_rows(*calendar.materialise())


def walk(cal: Calendar, start: date, n: int) -> date:
    """The nth working day, one day at a time: what the counting must agree with."""
    day, step, left = start, (1 if n > 0 else -1), abs(n)
    while left:
        day += timedelta(days=step)
        if cal.is_working(day):
            left -= 1
    return day


def refused(code: str, call: object, *args: object, **kwargs: object) -> Refused:
    with pytest.raises(Refused) as error:
        call(*args, **kwargs)  # type: ignore[operator]
    assert error.value.code == code, error.value.detail
    return error.value


# -- the working-day arithmetic -------------------------------------------------------------


@settings(max_examples=400, deadline=None)
@given(
    start=st.dates(min_value=date(2009, 6, 1), max_value=date(2041, 6, 30)),
    n=st.integers(min_value=-80, max_value=80),
)
def test_working_days_agree_with_a_day_by_day_walk_on_the_vietnamese_calendar(
    start: date, n: int
) -> None:
    assert CALENDAR.working_day(start, n) == walk(CALENDAR, start, n)
    assert CALENDAR.working_day(start, n) == walk(CALENDAR, start, n)  # asked again: remembered


@st.composite
def calendars(draw: st.DrawFn) -> Calendar:
    """A calendar of random days off and weekend days worked around 2026, long runs included."""
    days = st.dates(min_value=date(2025, 10, 1), max_value=date(2027, 3, 31))
    off = draw(st.frozensets(days, max_size=60))
    worked = draw(st.frozensets(days, max_size=20))
    runs = draw(st.lists(st.tuples(days, st.integers(1, 20)), max_size=3))
    for first, length in runs:
        off |= {first + timedelta(days=i) for i in range(length)}
    return Calendar("test", off, frozenset(d for d in worked if d.weekday() >= 5) - off)


@settings(max_examples=300, deadline=None)
@given(
    cal=calendars(),
    start=st.dates(min_value=date(2025, 9, 1), max_value=date(2027, 5, 1)),
    n=st.integers(min_value=-70, max_value=70),
)
def test_working_days_agree_with_a_walk_on_any_calendar(cal: Calendar, start: date, n: int) -> None:
    assert cal.working_day(start, n) == walk(cal, start, n)
    following = start
    while not cal.is_working(following):
        following += timedelta(days=1)
    assert cal.next_working_day(start) == following


@pytest.mark.parametrize("n", [1_000_000, -1_000_000, 10**18, -(10**18)])
def test_a_huge_offset_is_refused_at_once_not_walked(n: int) -> None:
    # Review row 2: an offset of 1,000,000 walked day by day in the event loop for seconds.
    refused("date-out-of-range", CALENDAR.working_day, date(2026, 3, 2), n)


def test_a_far_offset_within_the_arithmetic_is_counted() -> None:
    # 50 years of working days land in 2076: counted, not walked, and the same as the walk.
    start = date(2026, 3, 2)
    assert CALENDAR.working_day(start, 13_000) == walk(CALENDAR, start, 13_000)


@pytest.mark.parametrize("start", [date(9999, 12, 31), date(1, 1, 1), date(1800, 5, 5)])
def test_a_start_outside_the_window_is_refused(start: date) -> None:
    refused("date-out-of-range", CALENDAR.working_day, start, 1)
    refused("date-out-of-range", CALENDAR.next_working_day, start)


@pytest.mark.parametrize(
    "due",
    [
        datetime(9999, 12, 31, 23, 59, 59, tzinfo=VIETNAM),  # review row 3
        datetime(9999, 12, 31, 23, 59, 59, tzinfo=UTC),
        datetime(1, 1, 1, 0, 0, tzinfo=VIETNAM),
    ],
)
def test_placing_a_due_outside_the_window_is_refused_not_an_overflow(due: datetime) -> None:
    refused("date-out-of-range", place, due, DEFAULT_POLICY, CALENDAR)


def test_a_stored_policy_with_a_huge_offset_is_refused_when_placed() -> None:
    # Review row 3: a policy offset of -1,000,000 raised OverflowError (a 500).
    policy = (*DEFAULT_POLICY, EscalationStep(offset=-1_000_000, action="remind", target="lead"))
    due = datetime(2026, 3, 10, tzinfo=VIETNAM)
    refused("date-out-of-range", place, due, policy, CALENDAR)


# -- escalation offsets and dates in commands ----------------------------------------------


def policy_with(offset: int) -> tuple[EscalationStep, ...]:
    return (
        EscalationStep(offset=0, action="miss", target="lead"),
        EscalationStep(offset=offset, action="escalate", target="report_to"),
    )


@pytest.mark.parametrize("offset", [61, -61, 1_000_000, -1_000_000])
def test_an_offset_beyond_sixty_working_days_is_refused(offset: int) -> None:
    refused("invalid-escalation-policy", plan.check_policy, policy_with(offset))
    refused(
        "invalid-escalation-policy",
        decide,
        issue(escalation_policy=policy_with(offset)),
        initial(TASK),
        CONTEXT,
    )


@pytest.mark.parametrize("offset", [60, -60])
def test_an_offset_of_sixty_working_days_is_taken(offset: int) -> None:
    plan.check_policy(policy_with(offset))
    assert decide(issue(escalation_policy=policy_with(offset)), initial(TASK), CONTEXT).events


@pytest.mark.parametrize(
    "due",
    [datetime(9999, 12, 31, 23, 59, 59, tzinfo=VIETNAM), datetime(2101, 1, 1, tzinfo=VIETNAM)],
)
def test_a_due_outside_the_window_is_refused(due: datetime) -> None:
    refused("date-out-of-range", decide, issue(due=due), initial(TASK), CONTEXT)


def test_a_due_before_the_plans_issue_is_refused() -> None:
    backdated = issue(
        effective_at=NOW - timedelta(days=30), due=NOW - timedelta(days=10), may_backdate=True
    )
    refused("due-before-issue", decide, backdated, initial(TASK), CONTEXT)


def test_an_extension_to_year_9999_is_refused_when_requested() -> None:
    # Review row 3: accepted, then granting it was a 500 and it blocked every other request.
    command = RequestExtension(
        assignment_id=TASK,
        extension_id=uuid.uuid4(),
        requested_due=datetime(9999, 12, 31, 23, 59, tzinfo=VIETNAM),
        reason="more time",
        now=NOW,
    )
    refused("date-out-of-range", decide, command, OPEN, CONTEXT)


def test_a_backdated_fact_before_1900_is_refused() -> None:
    ancient = issue(effective_at=datetime(1899, 6, 1, tzinfo=UTC), may_backdate=True)
    refused("date-out-of-range", decide, ancient, initial(TASK), CONTEXT)


# -- names ----------------------------------------------------------------------------------

ROOT = uuid.uuid4()


def register(name: str, code: str = "VPTU", siblings: tuple[str, ...] = ()) -> unit.Decision:
    command = unit.RegisterUnit(uuid.uuid4(), name, code, "other", None)
    return unit.decide(command, unit.initial(command.unit_id), unit.Context(sibling_codes=siblings))


@pytest.mark.parametrize(
    "name",
    [
        "Văn phòng\x07",  # BEL
        "Văn \x1b[31mphòng",  # ESC
        "Văn phòng \u202eUTPV",  # right-to-left override
        "\u2066Văn phòng\u2069",  # isolates
        "Văn\u200ephòng",  # left-to-right mark
        "Văn phòng\x7f",  # DEL
        "Văn phòng\x9b",  # a C1 control
    ],
)
def test_a_unit_name_with_control_or_bidi_characters_is_refused(name: str) -> None:
    refused("invalid-name", register, name)


def test_ordinary_white_space_in_a_name_is_collapsed_as_before() -> None:
    decision = register("Văn\tphòng\n Tỉnh   đoàn")
    assert isinstance(decision.events[0], UnitRegistered)
    assert decision.events[0].name == "Văn phòng Tỉnh đoàn"


def test_texts_of_every_decider_refuse_bidi_controls() -> None:
    command = FileSubmission(
        assignment_id=TASK,
        submission_id=uuid.uuid4(),
        text="Xong \u202e",
        now=NOW,
        effective_at=NOW,
    )
    refused("invalid-text", decide, command, OPEN, CONTEXT)


def test_unsafe_characters() -> None:
    assert unsafe_character("Hà Nội – 36-HD/VPTW") is None
    assert unsafe_character("a\u202bb") == "\u202b"
    assert unsafe_character("a\x00b") == "\x00"


# -- short codes ----------------------------------------------------------------------------


@pytest.mark.parametrize("code", ["VРTU", "ＶＰＴＵ", "VPΤU", "vрtu"])
def test_a_look_alike_of_a_siblings_code_is_refused(code: str) -> None:
    # Review row 15: Cyrillic, full-width and Greek look-alikes of VPTU under one parent.
    error = refused("confusable-short-code", register, "Văn phòng", code, ("VPTU", "SNV"))
    assert error.extra["looks_like"] == "VPTU"


def test_look_alikes_are_refused_on_rename_and_move() -> None:
    unit_id, parent = uuid.uuid4(), uuid.uuid4()
    state = unit.Unit(unit_id, "active", "Văn phòng", "VP", "other", parent)
    siblings = unit.Context(sibling_codes=("VPTU",))
    rename = unit.RenameUnit(unit_id, "Văn phòng", "VРTU")
    refused("confusable-short-code", unit.decide, rename, state, siblings)
    twin = unit.Unit(unit_id, "active", "Văn phòng", "VРTU", "other", parent)
    new_parent = unit.Unit(uuid.uuid4(), "active", "Tỉnh", "T")
    move = unit.MoveUnit(unit_id, new_parent.id)
    context = unit.Context(
        lineage=(new_parent,), others={new_parent.id: new_parent}, sibling_codes=("VPTU",)
    )
    refused("confusable-short-code", unit.decide, move, twin, context)


def test_distinct_codes_beside_each_other_are_taken() -> None:
    assert register("Ban Tuyên giáo", "BTGTU", ("VPTU", "BTGĐUK", "SNV")).events
    assert register("Sở Nội vụ", "SNV2", ("SNV", "SNV1")).events
    # The very same code is the reservation's refusal (duplicate-short-code), not this one.
    assert register("Văn phòng", "VPTU", ("VPTU",)).events


def test_skeletons() -> None:
    assert skeleton("VРTU") == skeleton("VPTU") == skeleton("VPΤU")
    assert code_look("ＶＰＴＵ") == code_look("VPTU")
    assert code_look("BTGĐUK") != code_look("BTGTU")


# -- metrics --------------------------------------------------------------------------------


def file(metrics: dict[str, int]) -> FileSubmission:
    return FileSubmission(
        assignment_id=TASK,
        submission_id=uuid.uuid4(),
        text="Kết quả",
        now=NOW,
        effective_at=NOW,
        metrics=metrics,
    )


@pytest.mark.parametrize(
    "metrics",
    [
        {"models": -1},  # review row 15: negative metrics
        {f"m{i}": 1 for i in range(10_000)},  # review row 15: 10,000 keys
        {f"m{i}": 1 for i in range(MOST_METRICS + 1)},
        {"": 1},
        {"x\u202e": 1},
    ],
)
def test_metrics_out_of_bounds_are_refused(metrics: dict[str, int]) -> None:
    refused("invalid-metrics", decide, file(metrics), OPEN, CONTEXT)


def test_a_hundred_non_negative_metrics_are_taken() -> None:
    assert decide(file({f"m{i}": i for i in range(MOST_METRICS)}), OPEN, CONTEXT).events
    refused("metric-overflow", decide, file({"dong": 2**53}), OPEN, CONTEXT)


def test_a_models_report_refuses_negative_metrics() -> None:
    model_id = uuid.uuid4()
    registered = model.Model(model_id, registered=True)
    command = model.ReportModel(
        model_id=model_id,
        report_id=uuid.uuid4(),
        text="Báo cáo",
        now=NOW,
        effective_at=NOW,
        metrics={"members": -5},
    )
    refused("invalid-metrics", model.decide, command, registered)


def imported(ref: str, code: str, parent_ref: str | None = None) -> unit.ImportedUnit:
    return unit.ImportedUnit(
        ref=ref,
        unit_id=uuid.uuid4(),
        name=f"Ban {ref}",
        short_code=code,
        kind="other",
        parent_ref=parent_ref,
    )


def test_an_import_refuses_look_alikes_within_the_file_and_beside_existing_units() -> None:
    rows = [imported("tu", "TU"), imported("vp", "VPTU", "tu"), imported("vp2", "VРTU", "tu")]
    error = refused("confusable-short-code", unit.plan_import, rows, {})
    assert error.extra["ref"] == "vp2"
    root = [imported("x", "ＶＰＴＵ")]
    refused("confusable-short-code", unit.plan_import, root, {}, {None: ["VPTU"]})
    # Under different parents, the same look is nobody's business.
    rows = [imported("a", "A"), imported("b", "B"), imported("v1", "VPTU", "a")]
    assert len(unit.plan_import([*rows, imported("v2", "VРTU", "b")], {})) == 4


def test_a_cited_document_dated_outside_the_window_is_refused() -> None:
    ref = plan.ImplementsRef(number="16-HD/BTGĐUK", issued_on=date(1, 1, 1))
    refused("date-out-of-range", plan._implements, [ref], plan.Context())
    bidi = plan.ImplementsRef(number="16-HD/BTGĐUK", title="Hướng dẫn \u202e")
    refused("invalid-implements", plan._implements, [bidi], plan.Context())


def test_a_phase_dated_outside_the_window_is_refused() -> None:
    from events.plans import Phase

    far = Phase(phase_id="1", name="Đợt 1", starts_on=date(2026, 1, 1), ends_on=date(9999, 1, 1))
    refused("date-out-of-range", plan._check_phases, [far])
