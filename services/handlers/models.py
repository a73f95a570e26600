"""Exemplary model commands through the command path."""

from __future__ import annotations

from services.domain import model as model_decider
from services.domain.model import CommendModel, RegisterModel, ReportModel
from services.domain.unit import Unit
from services.handlers.auth import Actor
from services.handlers.command_path import Handler, Outcome, Session, dated
from services.handlers.streams import lineage, load_model, load_unit, model_stream, units_of


def handler(given: model_decider.ModelCommand, actor: Actor) -> Handler:
    async def decide(session: Session) -> Outcome:
        command = dated(session, actor, given)
        model = await load_model(session, command.model_id)
        unit = None
        acting = None
        above: tuple[Unit, ...] = ()
        match command:
            case RegisterModel():
                acting = actor.require(command.unit_id, "chief", "officer")
                unit = await load_unit(session, command.unit_id)
            case ReportModel():
                acting = actor.require(model.unit_id, "chief", "officer")
            case CommendModel():
                acting = actor.require(command.by_unit_id, "chief")
                unit = await load_unit(session, command.by_unit_id)
                if model.unit_id is not None:
                    above = tuple(await lineage(session, model.unit_id))
        decision = model_decider.decide(command, model, model_decider.Context(unit, above))
        owner = command.unit_id if isinstance(command, RegisterModel) else model.unit_id
        created = {RegisterModel: "model_id", ReportModel: "report_id"}.get(type(command))
        answer = getattr(command, created) if created else command.model_id
        outcome = Outcome(
            str(answer),
            model_stream(command.model_id),
            status=201 if not isinstance(command, CommendModel) else 200,
        )
        concerned = [owner, getattr(command, "by_unit_id", None)]
        outcome.add(
            model_stream(command.model_id),
            decision,
            units=units_of(*concerned),
        )
        outcome.acting_unit = acting
        return outcome

    return decide
