"""Routes of exemplary models: /models."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any
from uuid import UUID

import msgspec
from litestar import Request, Response, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath, FromQuery, JSONBody, QueryParameter

from events.assignments import Count
from events.models import CommendationLevel, ModelKind
from services.api.commanding import now, run
from services.domain.model import CommendModel, RegisterModel, ReportModel
from services.domain.rules import BACKDATE_TOLERANCE
from services.handlers import models
from services.handlers.auth import Actor


class RegisterModelRequest(msgspec.Struct, forbid_unknown_fields=True):
    unit_id: UUID
    year: int
    field: Annotated[str, msgspec.Meta(max_length=200)]
    kind: ModelKind
    title: Annotated[str, msgspec.Meta(max_length=500)]
    effective_at: datetime | None = None
    id: UUID | None = None


class ReportModelRequest(msgspec.Struct, forbid_unknown_fields=True):
    text: Annotated[str, msgspec.Meta(max_length=20_000)]
    metrics: dict[Annotated[str, msgspec.Meta(min_length=1, max_length=100)], Count] = {}
    effective_at: datetime | None = None
    id: UUID | None = None


class CommendRequest(msgspec.Struct, forbid_unknown_fields=True):
    level: CommendationLevel
    by_unit_id: UUID
    citation: Annotated[str, msgspec.Meta(max_length=2000)]
    effective_at: datetime | None = None


class ModelView(msgspec.Struct):
    id: UUID
    unit_id: UUID
    year: int
    field: str
    kind: str
    title: str
    reports: int
    commendations: list[str]
    version: int


class ModelList(msgspec.Struct):
    items: list[ModelView]
    next: str | None = None


def _times(
    request: Request[Any, Any, Any], effective_at: datetime | None
) -> tuple[datetime, datetime, bool]:
    moment = now(request)
    effective = effective_at if effective_at and effective_at.tzinfo else moment
    return moment, effective, effective < moment - BACKDATE_TOLERANCE


@post("/models", status_code=201)
async def register_model(
    request: Request[Any, Any, Any],
    actor: NamedDependency[Actor],
    data: JSONBody[RegisterModelRequest],
) -> Response[Any]:
    moment, effective, backdated = _times(request, data.effective_at)
    command = RegisterModel(
        data.id or uuid.uuid4(),
        data.unit_id,
        data.year,
        data.field,
        data.kind,
        data.title,
        moment,
        effective,
        actor.is_admin,
    )
    return await run(request, actor, models.handler(command, actor), backdated=backdated)


@post("/models/{model_id:uuid}/reports", status_code=201)
async def report_model(
    request: Request[Any, Any, Any],
    actor: NamedDependency[Actor],
    model_id: FromPath[UUID],
    data: JSONBody[ReportModelRequest],
) -> Response[Any]:
    moment, effective, backdated = _times(request, data.effective_at)
    command = ReportModel(
        model_id,
        data.id or uuid.uuid4(),
        data.text,
        moment,
        effective,
        dict(data.metrics),
        actor.is_admin,
    )
    return await run(request, actor, models.handler(command, actor), backdated=backdated)


@post("/models/{model_id:uuid}/commendations")
async def commend_model(
    request: Request[Any, Any, Any],
    actor: NamedDependency[Actor],
    model_id: FromPath[UUID],
    data: JSONBody[CommendRequest],
) -> Response[Any]:
    moment, effective, backdated = _times(request, data.effective_at)
    command = CommendModel(
        model_id, data.level, data.by_unit_id, data.citation, moment, effective, actor.is_admin
    )
    return await run(request, actor, models.handler(command, actor), backdated=backdated)


@get("/models")
async def list_models(
    request: Request[Any, Any, Any],
    actor: NamedDependency[Actor],
    year: Annotated[int | None, QueryParameter(ge=1990, le=2100)] = None,
    unit: FromQuery[UUID | None] = None,
    limit: Annotated[int, QueryParameter(ge=1, le=1000)] = 200,
) -> ModelList:
    rows = await models.listing(request.app.state.pool, year=year, unit=unit, limit=limit)
    return ModelList(
        [
            ModelView(
                r["model_id"],
                r["unit_id"],
                r["year"],
                r["field"],
                r["kind"],
                r["title"],
                r["reports"],
                list(r["commendations"]),
                r["version"],
            )
            for r in rows
        ]
    )


ROUTES = [register_model, report_model, commend_model, list_models]
