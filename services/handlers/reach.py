"""Who may read what: an admin everything; a chief, officer, auditor or consumer what concerns
their unit; an auditor or consumer also what concerns any unit of their unit's subtree."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any
from uuid import UUID

import asyncpg

from projections import unit_directory
from services.handlers.auth import Actor, Forbidden


async def can_read(pool: asyncpg.Pool[Any], actor: Actor, concerned: Iterable[UUID | None]) -> bool:
    units = [u for u in concerned if u is not None]
    if actor.is_admin:
        return True
    if {g.unit_id for g in actor.grants} & set(units):
        return True
    roots = {g.unit_id for g in actor.grants if g.role in ("auditor", "consumer")}
    if not roots or not units:
        return False
    ancestors = await unit_directory.with_ancestors(pool, units)
    return bool(roots & ancestors)


async def require_read(
    pool: asyncpg.Pool[Any], actor: Actor, concerned: Iterable[UUID | None]
) -> None:
    if not await can_read(pool, actor, concerned):
        raise Forbidden("this concerns units outside your reach")


async def reach(pool: asyncpg.Pool[Any], actor: Actor) -> list[UUID] | None:
    """The units whose affairs the actor may read (as `can_read` judges one); None for all."""
    if actor.is_admin:
        return None
    units = {g.unit_id for g in actor.grants if g.unit_id is not None}
    roots = [
        g.unit_id
        for g in actor.grants
        if g.role in ("auditor", "consumer") and g.unit_id is not None
    ]
    if roots:
        units |= await unit_directory.with_descendants(pool, roots)
    return sorted(units)


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


HIDDEN_FROM_READERS = ("subscription",)
"""Categories of events only admins read in the feeds: a subscription's configuration is its
owner's business (its URL may carry a token), and the owner reads it at /subscriptions."""


def hidden_categories(actor: Actor) -> tuple[str, ...]:
    return () if actor.is_admin else HIDDEN_FROM_READERS


async def shown_units(
    pool: asyncpg.Pool[Any], actor: Actor, asked: Iterable[UUID] | None
) -> list[UUID] | None:
    """The units an event must concern for a feed reader to be shown it: None for every event
    (admins and auditors asking for no unit); else the units asked for within reach, or all in
    reach (may be none)."""
    asked = list(asked) if asked else None
    if actor.is_admin or any(g.role == "auditor" for g in actor.grants):
        return asked
    allowed = await reach(pool, actor) or []
    return [u for u in asked if u in set(allowed)] if asked else allowed
