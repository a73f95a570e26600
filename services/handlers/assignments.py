"""Task commands through the command path, with who may do what, and the task as it stands."""

from __future__ import annotations

import functools
import uuid
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Literal
from uuid import UUID

from events.assignments import UnitGroup
from events.store import EventStore
from projections import task_view, unit_directory, valid_time
from projections.task_view import TaskView
from services.domain import assignment as assignment_decider
from services.domain import refusal_codes as codes
from services.domain.assignment import (
    Acknowledge,
    Assignment,
    Context,
    DecideExtension,
    FileSubmission,
    IssueAssignment,
    RaiseObstacle,
    Reassign,
    ReportProgress,
    RequestExtension,
    ResolveObstacle,
    Review,
    SetDue,
    Withdraw,
)
from services.domain.refusal import Refused
from services.handlers import deadlines
from services.handlers.auth import Actor
from services.handlers.command_path import Handler, Outcome, Session, dated
from services.handlers.streams import (
    lineage,
    load_plan,
    load_task,
    load_tasks,
    load_unit,
    load_units,
    plan_stream,
    task_stream,
    task_tags,
)


def _reviewer_unit(actor: Actor, task: Assignment) -> UUID | None:
    for unit_id in (task.report_to_unit_id, task.issuer_unit_id):
        if any(g.role == "chief" and g.unit_id == unit_id for g in actor.grants):
            return unit_id
    return None


def _require_reviewer(actor: Actor, task: Assignment) -> UUID | None:
    if actor.acts_for(task.report_to_unit_id, "chief"):
        return actor.require(task.report_to_unit_id, "chief")
    return actor.require(task.issuer_unit_id, "chief")


MAX_LEADS = 500
"""Lead units one item may name, by id and through groups: tasks issued in one append."""
MAX_COORDINATORS = 100
"""Coordinators one item may name: each of its tasks carries them all."""


@dataclass(frozen=True)
class IssueItem:
    """An item as the document names its leads: units by id and groups of units, each unit
    one task; coordinators likewise. `template` carries everything but the lead."""

    template: IssueAssignment
    lead_unit_ids: tuple[UUID, ...] = ()
    lead_groups: tuple[UnitGroup, ...] = ()


def issue_item_handler(item: IssueItem, actor: Actor) -> Handler:
    """Groups fanned out into one task per active unit they name, with the explicitly named
    leads, in one append (`issue_handler`)."""

    async def decide(session: Session) -> Outcome:
        template = item.template
        named = set(template.coordinating_unit_ids)
        if named & set(item.lead_unit_ids):
            raise Refused(codes.LEAD_ALSO_COORDINATING, "a lead unit is not also a coordinator")
        issuer = (await load_plan(session, template.plan_id)).issuer_unit_id
        coordinators = list(template.coordinating_unit_ids)
        for group in template.coordinating_groups:
            coordinators += await _members(session, group, codes.UNKNOWN_COORDINATING, issuer)
        leads: dict[UUID, UnitGroup | None] = {unit_id: None for unit_id in item.lead_unit_ids}
        if len(leads) != len(item.lead_unit_ids):
            raise Refused(codes.DUPLICATE_LEAD, "name each lead unit once: one task per unit")
        for group in item.lead_groups:
            for unit_id in await _members(session, group, codes.UNKNOWN_LEAD, issuer):
                leads.setdefault(unit_id, group)
        coordinators = list(dict.fromkeys(coordinators))
        if len(leads) > MAX_LEADS or len(coordinators) > MAX_COORDINATORS:
            raise Refused(
                codes.GROUP_TOO_LARGE,
                f"an item names at most {MAX_LEADS} lead units and {MAX_COORDINATORS} "
                f"coordinators; this one names {len(leads)} and {len(coordinators)}: "
                "issue it in parts, or name a narrower group",
            )
        given = [
            replace(
                template,
                assignment_id=template.assignment_id if n == 0 else uuid.uuid4(),
                lead_unit_id=lead,
                lead_group=group,
                # A unit a group names as coordinator and that leads this task only leads it.
                coordinating_unit_ids=tuple(u for u in coordinators if u != lead),
            )
            for n, (lead, group) in enumerate(leads.items())
        ]
        return await issue_handler(given, actor)(session)

    return decide


async def _members(
    session: Session, group: UnitGroup, unknown: codes.Code, issuer: UUID | None
) -> list[UUID]:
    """The active units a group names, the issuing unit aside (it does not assign to itself)."""
    within = await load_unit(session, group.within)
    if within.status == "unknown":
        raise Refused(unknown, f"the group's unit {group.within} does not exist")
    members = [
        unit_id
        for unit_id in await unit_directory.group_members(
            session.store.pool, group.within, group.kinds, group.subtree
        )
        if unit_id != issuer
    ]
    if not members:
        words = f" ({group.text})" if group.text else ""
        raise Refused(
            codes.EMPTY_GROUP,
            f"the group{words} names no active unit under {within.name or group.within}",
        )
    return members


def issue_handler(given: list[IssueAssignment], actor: Actor) -> Handler:
    """One item naming several units: one task per unit, in one append."""

    leads = [(command.item, command.lead_unit_id) for command in given]
    if len(set(leads)) != len(leads):  # one item names each lead once
        raise Refused(codes.DUPLICATE_LEAD, "name each lead unit once: one task per unit")

    async def decide(session: Session) -> Outcome:
        commands = [dated(session, actor, command) for command in given]
        plan = await load_plan(session, commands[0].plan_id)
        acting = actor.require(plan.issuer_unit_id, "chief", "officer")
        named: dict[UUID, None] = {}  # in order, once each
        for command in commands:
            for unit_id in (
                command.lead_unit_id,
                command.report_to_unit_id or plan.issuer_unit_id,
                *command.coordinating_unit_ids,
            ):
                if unit_id is not None:
                    named[unit_id] = None
        # Whatever the number of leads, a fixed number of reads: the units, the new tasks'
        # streams, the calendar and the parents of the units reported to.
        known = await load_units(session, named)
        tasks = await load_tasks(session, [command.assignment_id for command in commands])
        calendar = await deadlines.current_calendar(session.store.pool)
        report_to = {c.report_to_unit_id or plan.issuer_unit_id for c in commands}
        parents = await unit_directory.parents_of(
            session.store.pool, [u for u in report_to if u is not None]
        )
        first = commands[0].assignment_id
        # If-Match speaks of the plan the tasks are issued under.
        outcome = Outcome(str(first), plan_stream(plan.id), status=201)
        context = Context(plan=plan, units=known)
        for command in commands:
            task = tasks[command.assignment_id]
            decision = assignment_decider.decide(command, task, context)
            issued = assignment_decider.evolve(task, decision.events[0])
            outcome.add(task_stream(command.assignment_id), decision, **task_tags(issued))
            await deadlines.reschedule(
                session,
                outcome,
                issued,
                now=command.now,
                cause="issued",
                calendar=calendar,
                parents=parents,
            )
        outcome.acting_unit = acting
        outcome.extra = {
            "assignments": {str(c.lead_unit_id): str(c.assignment_id) for c in commands}
        }
        return outcome

    return decide


def handler(given: assignment_decider.AssignmentCommand, actor: Actor) -> Handler:
    async def decide(session: Session) -> Outcome:
        command = given
        task = await load_task(session, command.assignment_id)
        context = Context()
        acting: UUID | None = None
        match command:
            case FileSubmission():
                command = dated(session, actor, command)
                acting = actor.require(task.lead_unit_id, "officer")
                sources: dict[UUID, Assignment] = {}
                lineages: dict[UUID, list[UUID]] = {}
                for source_id in command.sources:
                    source = await load_task(session, source_id)
                    sources[source_id] = source
                    if source.lead_unit_id is not None:
                        lineages[source_id] = [
                            u.id for u in await lineage(session, source.lead_unit_id)
                        ]
                context = Context(sources=sources, lineages=lineages)
            case Acknowledge() | ReportProgress() | RequestExtension() | RaiseObstacle():
                acting = actor.require(task.lead_unit_id, "chief", "officer")
            case Review() | DecideExtension() | ResolveObstacle():
                acting = _require_reviewer(actor, task)
            case Reassign():
                acting = actor.require(task.issuer_unit_id, "chief")
                context = Context(
                    units={command.to_unit_id: await load_unit(session, command.to_unit_id)}
                )
            case Withdraw():
                acting = actor.require(task.issuer_unit_id, "chief")
            case SetDue():
                acting = actor.require(task.issuer_unit_id, "chief")
                if task.plan_id is not None:
                    context = Context(plan=await load_plan(session, task.plan_id))
        decided = command
        if isinstance(command, Review):
            decided = Review(
                command.assignment_id,
                command.submission_id,
                command.step,
                command.outcome,
                command.now,
                command.comments,
                _reviewer_unit(actor, task),
            )
        decision = assignment_decider.decide(decided, task, context)
        after = functools.reduce(assignment_decider.evolve, decision.events, task)
        created = {
            FileSubmission: "submission_id",
            RequestExtension: "extension_id",
            RaiseObstacle: "obstacle_id",
        }.get(type(command))
        answer_id = getattr(command, created) if created else command.assignment_id
        outcome = Outcome(
            str(answer_id), task_stream(command.assignment_id), status=201 if created else 200
        )
        outcome.add(task_stream(command.assignment_id), decision, **task_tags(after, before=task))
        if after.due != task.due or after.lead_unit_id != task.lead_unit_id:
            cause: Literal["extended", "reassigned", "due_set"] = (
                "due_set"
                if task.due is None
                else "extended"
                if after.due != task.due
                else "reassigned"
            )
            await deadlines.reschedule(session, outcome, after, now=command.now, cause=cause)
        outcome.acting_unit = acting
        return outcome

    return decide


# -- the task as it stands, folded from its stream ------------------------------------------


async def view(store: EventStore, assignment_id: UUID, now: datetime) -> TaskView | None:
    return task_view.fold(assignment_id, await store.read_stream(task_stream(assignment_id)), now)


async def view_in_effect(
    store: EventStore, assignment_id: UUID, valid_at: datetime
) -> TaskView | None:
    """The task as it was in effect at `valid_at` (overdue judged then); None before its issue."""
    events = valid_time.in_effect(await store.read_stream(task_stream(assignment_id)), valid_at)
    if not valid_time.has_timed(events):
        return None
    return task_view.fold(assignment_id, events, valid_at)
