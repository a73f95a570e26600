"""Plan commands through the command path, numbering periods, and the plan as it stands."""

from __future__ import annotations

import functools
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any
from uuid import UUID

import asyncpg

from events.plans import Addressee, Secrecy, Signer, Urgency
from events.store import EventStore
from projections import party_terms, plan_view
from projections.plan_view import PlanView
from services.domain import plan as plan_decider
from services.domain import refusal_codes as codes
from services.domain.calendar import VIETNAM
from services.domain.docnumber import InvalidDocumentNumber, parse
from services.domain.plan import (
    AddAttachment,
    AmendPlan,
    CancelPlan,
    ClosePlan,
    Context,
    DraftPlan,
    IssuePlan,
    LinkSubPlan,
    Plan,
    RecordItem,
    SupersedePlan,
)
from services.domain.refusal import Refused
from services.domain.unit import Unit
from services.handlers.auth import Actor
from services.handlers.command_path import Handler, Outcome, Session, dated
from services.handlers.reach import plan_readers
from services.handlers.streams import lineage, load_plan, load_unit, plan_stream, plan_tags


def default_term(on: date) -> str:
    start = on.year - on.year % 5
    return f"{start}-{start + 5}"


async def numbering_period(
    pool: asyncpg.Pool[Any], issuer_unit_id: UUID, number_text: str, issued_on: date | None
) -> str | None:
    """The Party committee term (from `party_terms`, else the five-year default) for the Party
    form; the year for the state form. Without an issue date: the year a state number carries,
    else None (the number is then kept but reserves nothing)."""
    try:
        number = parse(number_text)
    except InvalidDocumentNumber as error:
        raise Refused(codes.INVALID_DOCUMENT_NUMBER, str(error)) from None
    if issued_on is None:
        return str(number.year) if number.form == "state" and number.year is not None else None
    if number.form == "state":
        return str(issued_on.year)
    label = await party_terms.label_on(pool, issuer_unit_id, issued_on)
    return label or default_term(issued_on)


@dataclass(frozen=True)
class Issue:
    """An issue as asked for (by a route, the CLI or the demo). The handler completes it into
    the decider's `IssuePlan`: issued today in Vietnam and effective now unless said, numbered
    in the issuer's period for the number's form, backdated only by an admin."""

    plan_id: UUID
    number: str | None
    place: str | None
    signer: Signer | None
    now: datetime
    issued_on: date | None = None
    """None: the document's date is not known (never today's by default)."""
    effective_at: datetime | None = None
    urgency: Urgency | None = None
    secrecy: Secrecy | None = None
    content_sha256: str | None = None
    addressees: tuple[Addressee, ...] = ()
    distribution: tuple[Addressee, ...] = ()
    annexes: tuple[str, ...] = ()


def handler(
    asked: plan_decider.PlanCommand | Issue, actor: Actor, pool: asyncpg.Pool[Any]
) -> Handler:
    async def decide(session: Session) -> Outcome:
        plan = await load_plan(session, asked.plan_id)
        command = (
            await _issue_command(session, pool, plan, asked) if isinstance(asked, Issue) else asked
        )
        if isinstance(command, IssuePlan):
            earlier = command.issued_on is not None and command.issued_on < command.today
            command = dated(session, actor, command, earlier_day=earlier)
        context_units: dict[UUID, Unit] = {}
        context_plans: dict[UUID, Plan] = {}
        chain: list[Unit] = []
        acting: UUID | None = None
        match command:
            case DraftPlan():
                acting = actor.require(command.issuer_unit_id, "chief", "officer")
                context_units[command.issuer_unit_id] = await load_unit(
                    session, command.issuer_unit_id
                )
                for recipient in command.recipients:
                    context_units[recipient.unit_id] = await load_unit(session, recipient.unit_id)
                for ref in command.implements:
                    if ref.plan_id is not None:
                        context_plans[ref.plan_id] = await load_plan(session, ref.plan_id)
            case IssuePlan() | AmendPlan() | ClosePlan() | CancelPlan() | SupersedePlan():
                acting = actor.require(plan.issuer_unit_id, "chief")
                if isinstance(command, AmendPlan) and command.recipients:
                    for recipient in command.recipients:
                        context_units[recipient.unit_id] = await load_unit(
                            session, recipient.unit_id
                        )
                if isinstance(command, SupersedePlan):
                    context_plans[command.superseded_by] = await load_plan(
                        session, command.superseded_by
                    )
            case AddAttachment() | RecordItem():
                acting = actor.require(plan.issuer_unit_id, "chief", "officer")
            case LinkSubPlan():
                sub = await load_plan(session, command.sub_plan_id)
                acting = actor.require(sub.issuer_unit_id, "chief", "officer")
                context_plans[sub.id] = sub
                if sub.issuer_unit_id is not None:
                    chain = await lineage(session, sub.issuer_unit_id)
        decision = plan_decider.decide(command, plan, Context(context_units, context_plans, chain))
        after = functools.reduce(plan_decider.evolve, decision.events, plan)
        answer_id = (
            command.attachment_id
            if isinstance(command, AddAttachment)
            else command.item_id
            if isinstance(command, RecordItem)
            else command.plan_id
        )
        outcome = Outcome(
            str(answer_id),
            plan_stream(command.plan_id),
            status=(
                201
                if isinstance(command, DraftPlan | AddAttachment | LinkSubPlan | RecordItem)
                else 200
            ),
        )
        outcome.add(plan_stream(command.plan_id), decision, **plan_tags(after))
        outcome.acting_unit = acting
        return outcome

    return decide


async def _issue_command(
    session: Session, pool: asyncpg.Pool[Any], plan: Plan, asked: Issue
) -> IssuePlan:
    """The decider's command, its defaults filled in, its numbering period found and the
    issuing unit's symbol (which the number's issuer symbol is compared with)."""
    if plan.issuer_unit_id is None:
        raise Refused(codes.UNKNOWN_PLAN, f"plan {asked.plan_id} does not exist")
    issuer = await load_unit(session, plan.issuer_unit_id)
    for line in (*asked.addressees, *asked.distribution):
        if (
            line.unit_id is not None
            and (await load_unit(session, line.unit_id)).status == "unknown"
        ):
            raise Refused(codes.UNKNOWN_RECIPIENT, f"unit {line.unit_id} does not exist")
    now = asked.now
    today = now.astimezone(VIETNAM).date()
    issued_on = asked.issued_on
    effective_at = asked.effective_at or (
        now
        if issued_on is None or issued_on == today
        else datetime.combine(issued_on, datetime.min.time(), VIETNAM)
    )
    return IssuePlan(
        plan_id=asked.plan_id,
        number=asked.number,
        place=asked.place,
        issued_on=issued_on,
        effective_at=effective_at,
        signer=asked.signer,
        now=now,
        today=today,
        numbering_period=(
            await numbering_period(pool, plan.issuer_unit_id, asked.number, issued_on)
            if asked.number is not None
            else None
        ),
        urgency=asked.urgency,
        secrecy=asked.secrecy,
        content_sha256=asked.content_sha256,
        issuer_code=issuer.short_code or None,
        addressees=asked.addressees,
        distribution=asked.distribution,
        annexes=asked.annexes,
    )


# -- the plan as it stands, folded from its stream ------------------------------------------


def readers(plan: plan_decider.Plan) -> list[UUID | None]:
    """The units whose reach lets a user read the plan (`reach.plan_readers`)."""
    return plan_readers(plan.status, plan.issuer_unit_id, (r.unit_id for r in plan.recipients))


async def view(store: EventStore, plan_id: UUID) -> PlanView | None:
    return plan_view.fold(plan_id, await store.read_stream(plan_stream(plan_id)))
