"""The rates a compliance reader sees, as "done/due" over the tasks already due."""

from __future__ import annotations

from projections.compliance import Compliance

FIGURES = Compliance(
    assigned=12,
    completed_on_time=4,
    completed_late=3,
    open_within_deadline=2,
    open_overdue=2,
    withdrawn=1,
    due_so_far=9,
    on_time_due=4,
    completed_due=6,
    days_overdue=5,
    metrics={"works": 469},
    open_without_deadline=3,
    completed_without_deadline=1,
)


def test_the_rates_are_over_the_tasks_already_due() -> None:
    assert (FIGURES.completion_rate, FIGURES.on_time_rate) == ("6/9", "4/9")


def test_the_body_carries_every_figure_and_both_rates() -> None:
    assert FIGURES.body() == {
        "assigned": 12,
        "completed_on_time": 4,
        "completed_late": 3,
        "open_within_deadline": 2,
        "open_overdue": 2,
        "withdrawn": 1,
        "due_so_far": 9,
        "on_time_due": 4,
        "completed_due": 6,
        "days_overdue": 5,
        "metrics": {"works": 469},
        "open_without_deadline": 3,
        "completed_without_deadline": 1,
        "completion_rate": "6/9",
        "on_time_rate": "4/9",
    }
