"""Events of the organisation: units and their tree, users and their roles.

Users are named by id only: a person's name, e-mail and phone live in the mutable users table so
that they can be erased while the events stay.
"""

from __future__ import annotations

from typing import Any, Literal
from uuid import UUID

import msgspec

from events.catalog import Event, catalog

UnitKind = Literal[
    "party_committee",
    "standing_committee",
    "party_board",
    "office",
    "department",
    "people_committee",
    "mass_organisation",
    "district",
    "commune",
    "party_cell",
    "party_group",
    "press",
    "ministry",
    "election_committee",
    "peoples_council",
    "village",
    "school",
    "health_facility",
    "public_service_unit",
    "enterprise",
    "other",
]
"""v2 of UnitRegistered added the kinds from `ministry` to `enterprise` (issue 21)."""
Role = Literal["chief", "officer", "auditor", "consumer", "admin"]


@catalog.register(schema_version=2)
class UnitRegistered(Event, frozen=True, kw_only=True):
    unit_id: UUID
    name: str
    short_code: str
    kind: UnitKind
    parent_id: UUID | None


@catalog.upcaster("UnitRegistered", 1)
def _v1_is_v2(data: dict[str, Any]) -> dict[str, Any]:
    """v2 only added kinds."""
    return data


@catalog.register()
class UnitRenamed(Event, frozen=True, kw_only=True):
    unit_id: UUID
    name: str
    short_code: str
    previous_name: str
    previous_short_code: str
    reason: str | None = None


@catalog.register()
class UnitMoved(Event, frozen=True, kw_only=True):
    unit_id: UUID
    from_parent_id: UUID | None
    to_parent_id: UUID
    reason: str | None = None


@catalog.register()
class UnitMerged(Event, frozen=True, kw_only=True):
    """The unit joined its successor, which takes over its open tasks."""

    unit_id: UUID
    successor_id: UUID
    reason: str | None = None


class TaskAllocation(msgspec.Struct, frozen=True, kw_only=True):
    """Which successor of a split takes one open task (part of UnitSplit)."""

    assignment_id: UUID
    successor_id: UUID


@catalog.register()
class UnitSplit(Event, frozen=True, kw_only=True):
    """The unit was divided: named tasks go where `allocations` says, the rest to the default."""

    unit_id: UUID
    successor_ids: tuple[UUID, ...]
    default_successor_id: UUID
    allocations: tuple[TaskAllocation, ...] = ()
    reason: str | None = None


@catalog.register()
class UnitDissolved(Event, frozen=True, kw_only=True):
    unit_id: UUID
    successor_id: UUID | None
    reason: str | None = None


@catalog.register()
class UserRegistered(Event, frozen=True, kw_only=True):
    user_id: UUID


@catalog.register()
class RoleGranted(Event, frozen=True, kw_only=True):
    user_id: UUID
    role_id: UUID
    role: Role
    unit_id: UUID | None


@catalog.register()
class RoleRevoked(Event, frozen=True, kw_only=True):
    user_id: UUID
    role_id: UUID
    reason: str | None = None
