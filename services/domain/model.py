"""Exemplary models: register (unit, year, field, individual or collective), report, commend."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from uuid import UUID

from events.assignments import Metrics
from events.catalog import Event
from events.models import (
    CommendationLevel,
    ModelCommended,
    ModelKind,
    ModelRegistered,
    ModelReported,
)
from services.domain.refusal import Decision, Refused
from services.domain.unit import Unit
from services.text import normalize_text

BACKDATE_TOLERANCE = timedelta(minutes=5)


@dataclass(frozen=True)
class Model:
    id: UUID
    registered: bool = False
    unit_id: UUID | None = None
    year: int = 0
    reports: tuple[UUID, ...] = ()
    commendations: tuple[str, ...] = ()


def evolve(state: Model, event: Event) -> Model:
    match event:
        case ModelRegistered():
            return Model(event.model_id, True, event.unit_id, event.year)
        case ModelReported():
            return replace(state, reports=(*state.reports, event.report_id))
        case ModelCommended():
            return replace(state, commendations=(*state.commendations, event.level))
    return state


@dataclass(frozen=True)
class RegisterModel:
    model_id: UUID
    unit_id: UUID
    year: int
    field: str
    kind: ModelKind
    title: str
    now: datetime
    effective_at: datetime
    may_backdate: bool = False


@dataclass(frozen=True)
class ReportModel:
    model_id: UUID
    report_id: UUID
    text: str
    now: datetime
    effective_at: datetime
    metrics: Metrics | None = None
    may_backdate: bool = False


@dataclass(frozen=True)
class CommendModel:
    model_id: UUID
    level: CommendationLevel
    by_unit_id: UUID
    citation: str
    now: datetime
    effective_at: datetime
    may_backdate: bool = False


ModelCommand = RegisterModel | ReportModel | CommendModel


def _text(value: str, what: str, longest: int = 5000) -> str:
    text = normalize_text(value)
    if not 1 <= len(text) <= longest:
        raise Refused(f"invalid-{what}", f"the {what} has 1 to {longest} characters")
    return text


def _when(effective_at: datetime, now: datetime, may_backdate: bool) -> None:
    if effective_at > now + timedelta(minutes=5):
        raise Refused("effective-in-future", "a fact cannot take effect in the future")
    if effective_at < now - BACKDATE_TOLERANCE and not may_backdate:
        raise Refused(
            "backdating-not-allowed", "only an admin or an import records a fact in the past"
        )


def decide(command: ModelCommand, model: Model, unit: Unit | None = None) -> Decision:
    """`unit` is the registering unit (register) or the commending unit (commend)."""
    match command:
        case RegisterModel():
            if model.registered:
                raise Refused("model-exists", f"model {model.id} is already registered")
            if unit is None or unit.status == "unknown":
                raise Refused("unknown-unit-ref", f"unit {command.unit_id} does not exist")
            if not unit.active:
                raise Refused("unit-ref-inactive", f"unit {command.unit_id} is {unit.status}")
            if not 1990 <= command.year <= command.now.year + 1:
                raise Refused("invalid-year", f"{command.year} is not a year of this campaign")
            _when(command.effective_at, command.now, command.may_backdate)
            return Decision(
                [
                    ModelRegistered(
                        model_id=command.model_id,
                        unit_id=command.unit_id,
                        year=command.year,
                        field=_text(command.field, "field", 200),
                        kind=command.kind,
                        title=_text(command.title, "title", 500),
                        effective_at=command.effective_at,
                    )
                ]
            )
        case ReportModel():
            if not model.registered:
                raise Refused("unknown-model", f"model {model.id} does not exist")
            if command.report_id in model.reports:
                raise Refused("report-exists", f"report {command.report_id} exists")
            _when(command.effective_at, command.now, command.may_backdate)
            return Decision(
                [
                    ModelReported(
                        model_id=model.id,
                        report_id=command.report_id,
                        text=_text(command.text, "text"),
                        metrics=command.metrics or {},
                        effective_at=command.effective_at,
                    )
                ]
            )
        case CommendModel():
            if not model.registered:
                raise Refused("unknown-model", f"model {model.id} does not exist")
            if command.level in model.commendations:
                raise Refused("already-commended", f"model {model.id} is commended at that level")
            if unit is None or unit.status == "unknown":
                raise Refused("unknown-unit-ref", f"unit {command.by_unit_id} does not exist")
            _when(command.effective_at, command.now, command.may_backdate)
            return Decision(
                [
                    ModelCommended(
                        model_id=model.id,
                        level=command.level,
                        by_unit_id=command.by_unit_id,
                        citation=_text(command.citation, "citation", 2000),
                        effective_at=command.effective_at,
                    )
                ]
            )
