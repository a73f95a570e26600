"""What a refused exemplary-model command tells the caller (the problem's detail), and the
years a model may be registered for."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest

from events.models import ModelCommended, ModelRegistered, ModelReported
from services.domain import model
from services.domain.model import CommendModel, Context, RegisterModel, ReportModel
from services.domain.unit import Unit
from tests.deciders import Specification

NOW = datetime(2022, 10, 17, 9, tzinfo=UTC)
MODEL, REPORT = uuid.uuid4(), uuid.uuid4()
PROVINCE = Unit(uuid.uuid4(), "active", "Thành ủy", "TU", "party_committee")
CELL = Unit(uuid.uuid4(), "active", "Chi bộ", "CB", "party_cell", PROVINCE.id)
MERGED = Unit(uuid.uuid4(), "merged", "Chi bộ cũ", "CBC", "party_cell", PROVINCE.id)
SPEC = Specification(model, MODEL)
REGISTERED = ModelRegistered(
    model_id=MODEL, unit_id=CELL.id, year=2022, field="dân vận", kind="collective",
    title="Dân vận khéo", effective_at=NOW,
)  # fmt: skip
REPORTED = ModelReported(model_id=MODEL, report_id=REPORT, text="x", effective_at=NOW)
COMMENDED = ModelCommended(
    model_id=MODEL, level="provincial", by_unit_id=PROVINCE.id, citation="c", effective_at=NOW
)


def register(unit_id: uuid.UUID, year: int = 2022) -> RegisterModel:
    return RegisterModel(MODEL, unit_id, year, "dân vận", "collective", "Dân vận khéo", NOW, NOW)


def commend(level: model.CommendationLevel = "provincial") -> CommendModel:
    return CommendModel(MODEL, level, PROVINCE.id, "Tuyên dương", NOW, NOW)


LINEAGE = (CELL, PROVINCE)


@pytest.mark.parametrize(
    ("given", "command", "context", "code", "detail"),
    [
        ((REGISTERED,), register(CELL.id), Context(CELL), "model-exists",
         f"model {MODEL} is already registered"),
        ((), register(CELL.id), Context(None), "unknown-unit-ref",
         f"unit {CELL.id} does not exist"),
        ((), register(CELL.id), Context(Unit(CELL.id)), "unknown-unit-ref",
         f"unit {CELL.id} does not exist"),
        ((), register(MERGED.id), Context(MERGED), "unit-ref-inactive",
         f"unit {MERGED.id} is merged"),
        ((), register(CELL.id, 1989), Context(CELL), "invalid-year",
         "1989 is not a year of this campaign"),
        ((), register(CELL.id, 2024), Context(CELL), "invalid-year",
         "2024 is not a year of this campaign"),
        ((), ReportModel(MODEL, REPORT, "x", NOW, NOW), Context(), "unknown-model",
         f"model {MODEL} does not exist"),
        ((REGISTERED, REPORTED), ReportModel(MODEL, REPORT, "x", NOW, NOW), Context(),
         "report-exists", f"report {REPORT} exists"),
        ((), commend(), Context(PROVINCE, LINEAGE), "unknown-model",
         f"model {MODEL} does not exist"),
        ((REGISTERED, COMMENDED), commend(), Context(PROVINCE, LINEAGE), "already-commended",
         f"model {MODEL} is commended at that level"),
        ((REGISTERED,), commend(), Context(None, LINEAGE), "unknown-unit-ref",
         f"unit {PROVINCE.id} does not exist"),
        ((REGISTERED,), commend(), Context(CELL, LINEAGE), "commender-not-above",
         f"unit {CELL.id} is not above the model's unit {CELL.id}"),
        ((REGISTERED,), commend("district"), Context(PROVINCE, LINEAGE), "level-not-of-tier",
         f"a chief of unit {PROVINCE.id} commends at the provincial level, not district"),
    ],
)  # fmt: skip
def test_a_refusal_says_why(
    given: tuple[object, ...], command: object, context: Context, code: str, detail: str
) -> None:
    refused = SPEC.given(*given).when(command, context).then_refused(code)
    assert refused.detail == detail


def test_a_model_is_registered_from_1990_to_next_year() -> None:
    for year in (1990, 2023):
        (registered,) = SPEC.given().when(register(CELL.id, year), Context(CELL)).decision().events
        assert isinstance(registered, ModelRegistered) and registered.year == year


def test_a_level_not_of_the_tier_names_the_tier_to_use() -> None:
    refused = SPEC.given(REGISTERED).when(commend("district"), Context(PROVINCE, LINEAGE))
    assert refused.then_refused("level-not-of-tier").extra == {"tier": "provincial"}


def test_a_commendation_names_the_commending_unit_and_a_report_the_model() -> None:
    (commended,) = (
        SPEC.given(REGISTERED).when(commend(), Context(PROVINCE, LINEAGE)).decision().events
    )
    assert isinstance(commended, ModelCommended) and commended.by_unit_id == PROVINCE.id
    report = ReportModel(MODEL, REPORT, "báo cáo", NOW, NOW)
    (reported,) = SPEC.given(REGISTERED).when(report).decision().events
    assert isinstance(reported, ModelReported) and reported.model_id == MODEL


def test_only_who_may_backdate_registers_a_model_in_the_past() -> None:
    past = datetime(2022, 1, 3, tzinfo=UTC)
    late = RegisterModel(MODEL, CELL.id, 2022, "dân vận", "collective", "Mô hình", NOW, past)
    SPEC.given().when(late, Context(CELL)).then_refused("backdating-not-allowed")
    admin = RegisterModel(
        MODEL, CELL.id, 2022, "dân vận", "collective", "Mô hình", NOW, past, may_backdate=True
    )
    (registered,) = SPEC.given().when(admin, Context(CELL)).decision().events
    assert isinstance(registered, ModelRegistered) and registered.effective_at == past
