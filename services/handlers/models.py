"""Exemplary model commands through the command path, and the model list."""

from __future__ import annotations

from typing import Any
from uuid import UUID

import asyncpg

from services.domain import model as models
from services.domain.model import CommendModel, Model, RegisterModel, ReportModel
from services.handlers import units
from services.handlers.auth import Actor
from services.handlers.command_path import Handler, Outcome, Session, dated


def stream_of(model_id: UUID) -> str:
    return f"model-{model_id}"


def handler(given: models.ModelCommand, actor: Actor) -> Handler:
    async def decide(session: Session) -> Outcome:
        command = dated(session, actor, given)
        model = await session.load(
            stream_of(command.model_id), models.evolve, Model(command.model_id)
        )
        unit = None
        acting = None
        match command:
            case RegisterModel():
                acting = actor.require(command.unit_id, "chief", "officer")
                unit = await units.load(session, command.unit_id)
            case ReportModel():
                acting = actor.require(model.unit_id, "chief", "officer")
            case CommendModel():
                acting = actor.require(command.by_unit_id, "chief")
                unit = await units.load(session, command.by_unit_id)
        decision = models.decide(command, model, models.Context(unit))
        owner = command.unit_id if isinstance(command, RegisterModel) else model.unit_id
        created = {RegisterModel: "model_id", ReportModel: "report_id"}.get(type(command))
        answer = getattr(command, created) if created else command.model_id
        outcome = Outcome(
            str(answer),
            stream_of(command.model_id),
            status=201 if not isinstance(command, CommendModel) else 200,
        )
        concerned = [owner, getattr(command, "by_unit_id", None)]
        outcome.add(
            stream_of(command.model_id),
            decision,
            units=[u for u in dict.fromkeys(concerned) if u is not None],
        )
        outcome.acting_unit = acting
        return outcome

    return decide


async def listing(
    pool: asyncpg.Pool[Any], *, year: int | None, unit: UUID | None, limit: int
) -> list[asyncpg.Record]:
    conditions: list[str] = []
    params: list[Any] = []
    if year is not None:
        params.append(year)
        conditions.append(f"year = ${len(params)}")
    if unit is not None:
        params.append(unit)
        conditions.append(f"unit_id = ${len(params)}")
    where = f"WHERE {' AND '.join(conditions)}" if conditions else ""
    params.append(limit)
    return list(
        await pool.fetch(
            "SELECT model_id, version, unit_id, year, field, kind, title, reports, commendations "
            f"FROM exemplary_models {where} ORDER BY year DESC, title, model_id "
            f"LIMIT ${len(params)}",
            *params,
        )
    )
