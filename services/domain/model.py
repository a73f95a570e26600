"""Exemplary models: register (unit, year, field, individual or collective), report, commend."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
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
from services.domain import refusal_codes as codes
from services.domain.refusal import Decision, Refused
from services.domain.rules import metrics, text, when
from services.domain.unit import Unit

TIER_OF_KIND: dict[str, CommendationLevel] = {
    "party_committee": "provincial",
    "standing_committee": "provincial",
    "people_committee": "provincial",
    "party_board": "provincial",
    "office": "provincial",
    "department": "provincial",
    "press": "provincial",
    "district": "district",
    "commune": "grassroots",
    "party_cell": "grassroots",
    "party_group": "grassroots",
    "mass_organisation": "grassroots",
    "ministry": "provincial",
    "election_committee": "provincial",
    "peoples_council": "provincial",
    "village": "grassroots",
    "school": "grassroots",
    "health_facility": "grassroots",
    "public_service_unit": "grassroots",
    "enterprise": "grassroots",
    "other": "grassroots",
}
"""The tier of a unit by its kind, which is the one level its chief commends at. A Tỉnh ủy or
Thành ủy (`party_committee`), its standing committee, boards, office and press, a province's
people's committee and its departments (Sở) are provincial; a Quận ủy or Huyện ủy (`district`)
is district; communes, cells, groups and mass organisations are grassroots, and so are
villages, schools, clinics, public service units and enterprises. A ministry (Bộ), an election
committee and a People's Council are counted provincial: `national` belongs to the central
Party bodies, which no kind of this version names, so no unit commends at it yet."""


def tier(unit: Unit) -> CommendationLevel:
    return TIER_OF_KIND.get(unit.kind, "grassroots")


@dataclass(frozen=True)
class Model:
    id: UUID
    registered: bool = False
    unit_id: UUID | None = None
    year: int = 0
    reports: tuple[UUID, ...] = ()
    commendations: tuple[str, ...] = ()


def initial(model_id: UUID) -> Model:
    """A model before any event: not registered."""
    return Model(model_id)


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


@dataclass(frozen=True)
class Context:
    """What a model decision needs of others, loaded by the shell: the registering unit
    (register) or the commending unit (commend), and for a commendation the lineage of the
    model's unit (that unit first, then its ancestors up to the root)."""

    unit: Unit | None = None
    lineage: tuple[Unit, ...] = ()


def decide(command: ModelCommand, state: Model, context: Context = Context()) -> Decision:
    match command:
        case RegisterModel():
            return _register(command, state, context)
        case ReportModel():
            return _report(command, state)
        case CommendModel():
            return _commend(command, state, context)


def _register(command: RegisterModel, model: Model, context: Context) -> Decision:
    unit = context.unit
    if model.registered:
        raise Refused(codes.MODEL_EXISTS, f"model {model.id} is already registered")
    if unit is None or unit.status == "unknown":
        raise Refused(codes.UNKNOWN_UNIT_REF, f"unit {command.unit_id} does not exist")
    if not unit.active:
        raise Refused(codes.UNIT_REF_INACTIVE, f"unit {command.unit_id} is {unit.status}")
    if not 1990 <= command.year <= command.now.year + 1:
        raise Refused(codes.INVALID_YEAR, f"{command.year} is not a year of this campaign")
    when(command.effective_at, command.now, command.may_backdate)
    return Decision(
        [
            ModelRegistered(
                model_id=command.model_id,
                unit_id=command.unit_id,
                year=command.year,
                field=text(command.field, codes.INVALID_FIELD, 200),
                kind=command.kind,
                title=text(command.title, codes.INVALID_TITLE, 500),
                effective_at=command.effective_at,
            )
        ]
    )


def _report(command: ReportModel, model: Model) -> Decision:
    if not model.registered:
        raise Refused(codes.UNKNOWN_MODEL, f"model {model.id} does not exist")
    if command.report_id in model.reports:
        raise Refused(codes.REPORT_EXISTS, f"report {command.report_id} exists")
    when(command.effective_at, command.now, command.may_backdate)
    metrics(command.metrics or {})
    return Decision(
        [
            ModelReported(
                model_id=model.id,
                report_id=command.report_id,
                text=text(command.text, codes.INVALID_TEXT),
                metrics=command.metrics or {},
                effective_at=command.effective_at,
            )
        ]
    )


def _commend(command: CommendModel, model: Model, context: Context) -> Decision:
    unit = context.unit
    if not model.registered:
        raise Refused(codes.UNKNOWN_MODEL, f"model {model.id} does not exist")
    if command.level in model.commendations:
        raise Refused(codes.ALREADY_COMMENDED, f"model {model.id} is commended at that level")
    if unit is None or unit.status == "unknown":
        raise Refused(codes.UNKNOWN_UNIT_REF, f"unit {command.by_unit_id} does not exist")
    if not any(above.id == unit.id for above in context.lineage[1:]):
        raise Refused(
            codes.COMMENDER_NOT_ABOVE,
            f"unit {unit.id} is not above the model's unit {model.unit_id}",
        )
    if command.level != tier(unit):
        raise Refused(
            codes.LEVEL_NOT_OF_TIER,
            f"a chief of unit {unit.id} commends at the {tier(unit)} level, not {command.level}",
            tier=tier(unit),
        )
    when(command.effective_at, command.now, command.may_backdate)
    return Decision(
        [
            ModelCommended(
                model_id=model.id,
                level=command.level,
                by_unit_id=command.by_unit_id,
                citation=text(command.citation, codes.INVALID_CITATION, 2000),
                effective_at=command.effective_at,
            )
        ]
    )
