"""The read rule: what a reader may see of a plan, a task, a model or a unit, and of their
events, decided here for every way out (routes, the feed in every format, SSE, webhooks).

A reader's **reach** is the units whose affairs they read: an admin every unit; a chief,
officer, auditor or consumer their unit; an auditor or consumer also every unit below it.
An object is read by those whose reach meets its **readers**:

- a plan: its issuer and, once issued, its recipients; a draft is its issuing unit's alone;
- a task: its lead, coordinating and report-to units and its plan's issuer;
- a model: its unit;
- a unit's affairs (its compliance, its task board): the unit.

An event is shown when its category is not hidden from the reader, its `units` tags meet the
reader's reach, and it is not an event of a plan that is a draft now whose issuer is outside
the reach (judged on the plan's status now: once issued, its draft's events are its readers').
The feed applies the same in SQL (`events.store.reads`, through `FeedScope.store_filters`);
SSE applies `FeedScope.admits`. Outside reach answers like unknown (404), so a reader learns
nothing of what they may not read.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any
from uuid import UUID

import asyncpg

from projections import unit_directory
from services.handlers.auth import Actor, Forbidden

SUBTREE_ROLES = ("auditor", "consumer")


@dataclass(frozen=True)
class Reach:
    """The units whose affairs a reader may read; `units` None for every unit (an admin)."""

    units: frozenset[UUID] | None

    def covers(self, concerned: Iterable[UUID | None]) -> bool:
        """Whether the reader may read what concerns these units."""
        if self.units is None:
            return True
        return not self.units.isdisjoint(u for u in concerned if u is not None)


async def reach_of(pool: asyncpg.Pool[Any], actor: Actor | None) -> Reach:
    if actor is None:
        return Reach(frozenset())
    if actor.is_admin:
        return Reach(None)
    units = {g.unit_id for g in actor.grants if g.unit_id is not None}
    roots = [g.unit_id for g in actor.grants if g.role in SUBTREE_ROLES and g.unit_id is not None]
    if roots:
        units |= await unit_directory.with_descendants(pool, roots)
    return Reach(frozenset(units))


async def reach(pool: asyncpg.Pool[Any], actor: Actor) -> list[UUID] | None:
    """The units in the actor's reach, sorted; None for every unit."""
    found = await reach_of(pool, actor)
    return None if found.units is None else sorted(found.units)


async def require_whole_log(pool: asyncpg.Pool[Any], actor: Actor) -> None:
    """What covers the whole log (a seal names every stream changed in its period) is for
    admins and for auditors of a top unit (one with no parent): as a stream is for the readers
    of every unit it concerns."""
    if actor.is_admin:
        return
    for grant in actor.grants:
        if grant.role == "auditor" and grant.unit_id is not None:
            row = await unit_directory.get(pool, grant.unit_id)
            if row is not None and row["parent_id"] is None:
                return
    raise Forbidden("the whole log is for admins and the auditors of a top unit")


# -- the readers of each kind of object ------------------------------------------------------


def plan_readers(
    status: str, issuer_unit_id: UUID | None, recipients: Iterable[UUID]
) -> list[UUID | None]:
    """The units whose reach lets a user read a plan: a draft is its issuer's until issued."""
    if status == "draft":
        return [issuer_unit_id]
    return [issuer_unit_id, *recipients]


def task_readers(
    lead: UUID | None,
    coordinating: Iterable[UUID | None],
    report_to: UUID | None,
    issuer: UUID | None,
) -> list[UUID | None]:
    """The units whose reach lets a user read a task (the units its events are tagged with)."""
    return [lead, *coordinating, report_to, issuer]


def model_readers(unit_id: UUID) -> list[UUID | None]:
    return [unit_id]


async def may_read(pool: asyncpg.Pool[Any], actor: Actor, readers: Iterable[UUID | None]) -> bool:
    """Whether the actor may read an object with these readers."""
    readers = list(readers)
    if actor.is_admin:
        return True
    return (await reach_of(pool, actor)).covers(readers)


async def require_unit_read(
    pool: asyncpg.Pool[Any], actor: Actor, concerned: Iterable[UUID | None]
) -> None:
    """For a unit's affairs (compliance, task board): units are a public record, so whether
    one exists is no secret; reading its affairs outside reach is 403 (an unknown unit too)."""
    if not await may_read(pool, actor, concerned):
        raise Forbidden("this concerns units outside your reach")


# -- the feed --------------------------------------------------------------------------------

HIDDEN_FROM_READERS = ("subscription",)
"""Categories of events only admins read in the feeds: a subscription's configuration is its
owner's business (its URL may carry a token), and the owner reads it at /subscriptions."""


def hidden_categories(actor: Actor | None) -> tuple[str, ...]:
    return () if actor is not None and actor.is_admin else HIDDEN_FROM_READERS


@dataclass(frozen=True)
class FeedScope:
    """What a reader is shown of the feed.

    `units`: the units an event's tags must meet (None: any event); `draft_issuers`: a draft
    plan's events are shown only when its issuer is among these (None: every draft's);
    `hidden`: categories never shown."""

    units: tuple[UUID, ...] | None
    draft_issuers: tuple[UUID, ...] | None
    hidden: tuple[str, ...]

    @property
    def blind(self) -> bool:
        """Nothing could be shown (no unit in reach, or none of those asked for)."""
        return self.units == ()

    def store_filters(self) -> dict[str, Any]:
        """The visibility arguments of `EventStore.read_all`, `backlog` and `history`."""
        return {
            "units": self.units or (),
            "drafts_of": self.draft_issuers,
            "hidden_categories": self.hidden,
        }

    def admits(self, category: str, units: Sequence[UUID], draft_issuer: UUID | None) -> bool:
        """The rule for one event (as the SQL of the feed applies it): `draft_issuer` is the
        issuer of the event's plan when that plan is a draft now, else None."""
        if category in self.hidden or self.blind:
            return False
        if self.units is not None and set(self.units).isdisjoint(units):
            return False
        return (
            draft_issuer is None or self.draft_issuers is None or draft_issuer in self.draft_issuers
        )


NOTHING = FeedScope((), (), HIDDEN_FROM_READERS)
"""The feed of a reader who may read nothing."""


async def feed_scope(
    pool: asyncpg.Pool[Any], actor: Actor | None, asked: Iterable[UUID] | None = None
) -> FeedScope:
    """The feed as `actor` reads it, narrowed to the units `asked` for (within reach)."""
    asked = list(dict.fromkeys(asked)) if asked else None
    found = await reach_of(pool, actor)
    hidden = hidden_categories(actor)
    if found.units is None:
        return FeedScope(tuple(asked) if asked else None, None, hidden)
    in_reach = sorted(found.units)
    shown = [u for u in asked if u in found.units] if asked else in_reach
    return FeedScope(tuple(shown), tuple(in_reach), hidden)
