"""Routes of exemplary models: /models."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any
from uuid import UUID

import msgspec
from litestar import Response, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath, FromQuery, JSONBody, QueryParameter

from events.assignments import Count
from events.models import CommendationLevel, ModelKind
from projections import exemplary_models
from services.api.commanding import Commands, new_id
from services.api.dependencies import Injected, Pool
from services.api.times import aware
from services.domain.model import CommendModel, RegisterModel, ReportModel
from services.handlers import models
from services.handlers.auth import Actor
from services.handlers.reach import reach


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


def _effective(commands: Commands, effective_at: datetime | None) -> datetime:
    return aware(effective_at, "effective_at") or commands.now


@post("/models", status_code=201)
async def register_model(
    commands: Injected[Commands], data: JSONBody[RegisterModelRequest]
) -> Response[Any]:
    command = RegisterModel(
        new_id(data.id),
        data.unit_id,
        data.year,
        data.field,
        data.kind,
        data.title,
        commands.now,
        _effective(commands, data.effective_at),
    )
    return await commands.run(models.handler(command, commands.actor))


@post("/models/{model_id:uuid}/reports", status_code=201)
async def report_model(
    commands: Injected[Commands], model_id: FromPath[UUID], data: JSONBody[ReportModelRequest]
) -> Response[Any]:
    command = ReportModel(
        model_id,
        new_id(data.id),
        data.text,
        commands.now,
        _effective(commands, data.effective_at),
        dict(data.metrics),
    )
    return await commands.run(models.handler(command, commands.actor))


@post("/models/{model_id:uuid}/commendations")
async def commend_model(
    commands: Injected[Commands], model_id: FromPath[UUID], data: JSONBody[CommendRequest]
) -> Response[Any]:
    command = CommendModel(
        model_id,
        data.level,
        data.by_unit_id,
        data.citation,
        commands.now,
        _effective(commands, data.effective_at),
    )
    return await commands.run(models.handler(command, commands.actor))


@get("/models")
async def list_models(
    pool: Injected[Pool],
    actor: NamedDependency[Actor],
    year: Annotated[int | None, QueryParameter(ge=1990, le=2100)] = None,
    unit: FromQuery[UUID | None] = None,
    limit: Annotated[int, QueryParameter(ge=1, le=1000)] = 200,
) -> ModelList:
    rows = await exemplary_models.listing(
        pool, year=year, unit=unit, limit=limit, readable_by=await reach(pool, actor)
    )
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
