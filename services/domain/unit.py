"""Units of the organisation tree: register, rename, move, merge, split, dissolve, import."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Literal
from uuid import UUID

from events.catalog import Event
from events.organisation import (
    TaskAllocation,
    UnitDissolved,
    UnitKind,
    UnitMerged,
    UnitMoved,
    UnitRegistered,
    UnitRenamed,
    UnitSplit,
)
from services.domain import refusal_codes as codes
from services.domain.refusal import Decision, Key, Refused
from services.domain.rules import refuse_unsafe
from services.domain.text import code_look, normalize_code, normalize_text

Status = Literal["unknown", "active", "merged", "split", "dissolved"]


@dataclass(frozen=True)
class Unit:
    id: UUID
    status: Status = "unknown"
    name: str = ""
    short_code: str = ""
    kind: str = "other"
    parent_id: UUID | None = None
    successor_id: UUID | None = None

    @property
    def active(self) -> bool:
        return self.status == "active"


def initial(unit_id: UUID) -> Unit:
    """A unit before any event: unknown."""
    return Unit(unit_id)


def evolve(state: Unit, event: Event) -> Unit:
    match event:
        case UnitRegistered():
            return Unit(
                event.unit_id, "active", event.name, event.short_code, event.kind, event.parent_id
            )
        case UnitRenamed():
            return replace(state, name=event.name, short_code=event.short_code)
        case UnitMoved():
            return replace(state, parent_id=event.to_parent_id)
        case UnitMerged():
            return replace(state, status="merged", successor_id=event.successor_id)
        case UnitSplit():
            return replace(state, status="split", successor_id=event.default_successor_id)
        case UnitDissolved():
            return replace(state, status="dissolved", successor_id=event.successor_id)
    return state


# -- commands -------------------------------------------------------------------------------


@dataclass(frozen=True)
class RegisterUnit:
    unit_id: UUID
    name: str
    short_code: str
    kind: UnitKind
    parent_id: UUID | None


@dataclass(frozen=True)
class RenameUnit:
    unit_id: UUID
    name: str
    short_code: str | None = None
    reason: str | None = None


@dataclass(frozen=True)
class MoveUnit:
    unit_id: UUID
    parent_id: UUID
    reason: str | None = None


@dataclass(frozen=True)
class MergeUnit:
    unit_id: UUID
    successor_id: UUID
    reason: str | None = None


@dataclass(frozen=True)
class SplitUnit:
    unit_id: UUID
    successor_ids: tuple[UUID, ...]
    default_successor_id: UUID
    allocations: tuple[tuple[UUID, UUID], ...] = ()
    reason: str | None = None


@dataclass(frozen=True)
class DissolveUnit:
    unit_id: UUID
    successor_id: UUID | None = None
    reason: str | None = None


UnitCommand = RegisterUnit | RenameUnit | MoveUnit | MergeUnit | SplitUnit | DissolveUnit


@dataclass(frozen=True)
class Context:
    """What a decision about one unit needs to know of others, loaded by the shell.

    `lineage` is the chain of the new parent (move) or successor (merge) up to the root;
    `others` holds every other unit the command names; `active_children` counts the unit's
    active children in the directory; `sibling_codes` are the short codes of the other active
    units under the parent the unit has (or gets, for a registration or a move): those that
    look like the unit's code (`looks`) are enough, the others can never be refused for.
    """

    lineage: Sequence[Unit] = ()
    others: Mapping[UUID, Unit] | None = None
    active_children: int = 0
    sibling_codes: Sequence[str] = ()

    def get(self, unit_id: UUID) -> Unit:
        return (self.others or {}).get(unit_id, initial(unit_id))


def code_key(parent_id: UUID | None, short_code: str) -> Key:
    """Short codes are unique among the children of one parent (and among the roots)."""
    return Key(f"unit-code:{parent_id or 'root'}", short_code)


def _clean_name(name: str) -> str:
    text = normalize_text(name)
    if not 1 <= len(text) <= 300:
        raise Refused(codes.INVALID_NAME, "a unit's name has 1 to 300 characters")
    refuse_unsafe(text, codes.INVALID_NAME, "name")
    return text


def _require_distinct_look(code: str, context: Context) -> None:
    """A short code may not look like a sibling's (NFKC and the confusable skeleton of UTS #39:
    Cyrillic `VРTU`, full-width `ＶＰＴＵ` or Greek `VPΤU` beside `VPTU`). The very same code is
    the reservation's to refuse (`duplicate-short-code`)."""
    look = code_look(code)
    for sibling in context.sibling_codes:
        if sibling != code and code_look(sibling) == look:
            raise Refused(
                codes.CONFUSABLE_SHORT_CODE,
                f"{code!r} looks like {sibling!r}, the short code of a unit beside it",
                looks_like=sibling,
            )


def looks(*short_codes: str) -> list[str]:
    """How the codes will look once cleaned (`code_look`): what the shell loads the siblings'
    codes by. A code that is not a short code has no look; it is refused before any sibling
    is compared with it."""
    cleaned = (normalize_code(code) for code in short_codes)
    return list(dict.fromkeys(code_look(clean) for clean in cleaned if clean is not None))


def _clean_code(code: str) -> str:
    text = normalize_code(code)
    if text is None:
        raise Refused(
            codes.INVALID_SHORT_CODE,
            f"{code!r} is not a short code: 1 to 32 letters or digits, joined by - . or &",
        )
    return text


_ROLES = {
    "unit": (codes.UNKNOWN_UNIT, codes.UNIT_INACTIVE),
    "parent": (codes.UNKNOWN_PARENT, codes.PARENT_INACTIVE),
    "successor": (codes.UNKNOWN_SUCCESSOR, codes.SUCCESSOR_INACTIVE),
}


def _require_active(unit: Unit, role: str) -> None:
    """`role` ("unit", "parent", "successor") names the refusal: unknown-parent, unit-inactive..."""
    unknown_code, inactive_code = _ROLES[role]
    if unit.status == "unknown":
        raise Refused(unknown_code, f"{role} {unit.id} does not exist", unit_id=str(unit.id))
    if not unit.active:
        raise Refused(
            inactive_code,
            f"{role} {unit.id} is {unit.status}",
            unit_id=str(unit.id),
            successor_id=str(unit.successor_id) if unit.successor_id else None,
        )


def _require_no_cycle(unit: Unit, lineage: Sequence[Unit]) -> None:
    if any(ancestor.id == unit.id for ancestor in lineage):
        raise Refused(codes.CYCLE, f"unit {unit.id} cannot go under itself or its own descendant")


def decide(command: UnitCommand, state: Unit, context: Context = Context()) -> Decision:
    match command:
        case RegisterUnit():
            return _register(command, state, context)
        case RenameUnit():
            return _rename(command, state, context)
        case MoveUnit():
            return _move(command, state, context)
        case MergeUnit():
            return _merge(command, state, context)
        case SplitUnit():
            return _split(command, state, context)
        case DissolveUnit():
            return _dissolve(command, state, context)


def _register(command: RegisterUnit, unit: Unit, context: Context) -> Decision:
    if unit.status != "unknown":
        raise Refused(codes.UNIT_EXISTS, f"unit {unit.id} is already registered")
    name, code = _clean_name(command.name), _clean_code(command.short_code)
    if command.parent_id is not None:
        _require_active(context.get(command.parent_id), "parent")
    _require_distinct_look(code, context)
    return Decision(
        [
            UnitRegistered(
                unit_id=command.unit_id,
                name=name,
                short_code=code,
                kind=command.kind,
                parent_id=command.parent_id,
            )
        ],
        reserve=[code_key(command.parent_id, code)],
    )


def _rename(command: RenameUnit, unit: Unit, context: Context) -> Decision:
    _require_active(unit, "unit")
    name = _clean_name(command.name)
    code = _clean_code(command.short_code) if command.short_code else unit.short_code
    if (name, code) == (unit.name, unit.short_code):
        raise Refused(codes.NOTHING_CHANGED, "the unit already has this name and short code")
    changed = code != unit.short_code
    if changed:
        _require_distinct_look(code, context)
    return Decision(
        [
            UnitRenamed(
                unit_id=unit.id,
                name=name,
                short_code=code,
                previous_name=unit.name,
                previous_short_code=unit.short_code,
                reason=command.reason,
            )
        ],
        reserve=[code_key(unit.parent_id, code)] if changed else [],
        release=[code_key(unit.parent_id, unit.short_code)] if changed else [],
    )


def _move(command: MoveUnit, unit: Unit, context: Context) -> Decision:
    _require_active(unit, "unit")
    parent = context.get(command.parent_id)
    _require_active(parent, "parent")
    _require_no_cycle(unit, context.lineage)
    if parent.id == unit.parent_id:
        raise Refused(codes.NOTHING_CHANGED, f"unit {unit.id} is already under {parent.id}")
    _require_distinct_look(unit.short_code, context)
    return Decision(
        [
            UnitMoved(
                unit_id=unit.id,
                from_parent_id=unit.parent_id,
                to_parent_id=parent.id,
                reason=command.reason,
            )
        ],
        reserve=[code_key(parent.id, unit.short_code)],
        release=[code_key(unit.parent_id, unit.short_code)],
    )


def _merge(command: MergeUnit, unit: Unit, context: Context) -> Decision:
    _require_active(unit, "unit")
    successor = context.get(command.successor_id)
    if successor.id == unit.id:
        raise Refused(codes.SAME_UNIT, "a unit cannot be merged into itself")
    _require_active(successor, "successor")
    _require_no_cycle(unit, context.lineage)
    _require_childless(unit, context)
    return Decision(
        [UnitMerged(unit_id=unit.id, successor_id=successor.id, reason=command.reason)],
        release=[code_key(unit.parent_id, unit.short_code)],
    )


def _split(command: SplitUnit, unit: Unit, context: Context) -> Decision:
    _require_active(unit, "unit")
    successors = list(dict.fromkeys(command.successor_ids))
    if len(successors) < 2:
        raise Refused(codes.INVALID_SPLIT, "a split names at least two successors")
    if unit.id in successors:
        raise Refused(codes.SAME_UNIT, "a unit cannot be its own successor")
    for successor_id in successors:
        _require_active(context.get(successor_id), "successor")
    if command.default_successor_id not in successors:
        raise Refused(codes.INVALID_SPLIT, "the default successor must be one of them")
    for _, successor_id in command.allocations:
        if successor_id not in successors:
            raise Refused(codes.INVALID_SPLIT, f"task allocated to {successor_id}, not a successor")
    _require_childless(unit, context)
    return Decision(
        [
            UnitSplit(
                unit_id=unit.id,
                successor_ids=tuple(successors),
                default_successor_id=command.default_successor_id,
                allocations=tuple(
                    TaskAllocation(assignment_id=task, successor_id=successor)
                    for task, successor in command.allocations
                ),
                reason=command.reason,
            )
        ],
        release=[code_key(unit.parent_id, unit.short_code)],
    )


def _dissolve(command: DissolveUnit, unit: Unit, context: Context) -> Decision:
    _require_active(unit, "unit")
    if command.successor_id is not None:
        if command.successor_id == unit.id:
            raise Refused(codes.SAME_UNIT, "a unit cannot be its own successor")
        _require_active(context.get(command.successor_id), "successor")
    _require_childless(unit, context)
    return Decision(
        [UnitDissolved(unit_id=unit.id, successor_id=command.successor_id, reason=command.reason)],
        release=[code_key(unit.parent_id, unit.short_code)],
    )


def _require_childless(unit: Unit, context: Context) -> None:
    if context.active_children:
        raise Refused(
            codes.HAS_CHILDREN,
            f"unit {unit.id} still has {context.active_children} active unit(s) under it: "
            "move, merge or dissolve them first",
        )


# -- import ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class ImportedUnit:
    ref: str
    unit_id: UUID
    name: str
    short_code: str
    kind: UnitKind
    parent_ref: str | None = None
    parent_id: UUID | None = None


def plan_import(
    rows: Sequence[ImportedUnit],
    existing: Mapping[UUID, Unit],
    siblings: Mapping[UUID | None, Sequence[str]] | None = None,
) -> list[tuple[RegisterUnit, Decision]]:
    """Registrations for a whole tree, parents first. A parent is either a row of the file
    (`parent_ref`) or a unit already registered (`parent_id`, found in `existing`); `siblings`
    holds the short codes of the active units already under such a parent, which a row's code
    must not look like (nor may it look like another row's under the same parent)."""
    if not rows:
        raise Refused(codes.EMPTY_IMPORT, "the file names no unit")
    by_ref: dict[str, ImportedUnit] = {}
    for row in rows:
        if row.ref in by_ref:
            raise Refused(codes.DUPLICATE_REF, f"ref {row.ref!r} appears twice in the file")
        by_ref[row.ref] = row
    ids = [row.unit_id for row in rows]
    if any(unit_id.int in (0, 2**128 - 1) for unit_id in ids):
        raise Refused(codes.INVALID_IMPORT, "the nil and the max UUID are nobody's id")
    if len(set(ids)) != len(ids):
        raise Refused(codes.DUPLICATE_REF, "two rows carry the same unit id")
    for row in rows:
        if row.parent_ref is not None and row.parent_ref not in by_ref:
            raise Refused(
                codes.UNKNOWN_PARENT,
                f"row {row.ref!r}: no row {row.parent_ref!r} in the file",
                ref=row.ref,
            )
    ordered: list[ImportedUnit] = []
    placed: set[str] = set()
    visiting: set[str] = set()

    def place(row: ImportedUnit) -> None:
        if row.ref in placed:
            return
        if row.ref in visiting:
            raise Refused(
                codes.CYCLE, f"row {row.ref!r} is its own ancestor in the file", ref=row.ref
            )
        visiting.add(row.ref)
        if row.parent_ref is not None:
            place(by_ref[row.parent_ref])
        visiting.discard(row.ref)
        placed.add(row.ref)
        ordered.append(row)

    for row in rows:
        place(row)

    registered: dict[UUID, Unit] = dict(existing)
    decisions: list[tuple[RegisterUnit, Decision]] = []
    taken: set[Key] = set()
    # The codes beside each parent by their look: a row is compared with the few that look
    # like it, not with every sibling (a file of 5,000 units under one parent).
    beside: dict[tuple[UUID | None, str], list[str]] = {}
    for parent, codes_ in (siblings or {}).items():
        for code in codes_:
            beside.setdefault((parent, code_look(code)), []).append(code)
    for row in ordered:
        parent_id = by_ref[row.parent_ref].unit_id if row.parent_ref is not None else row.parent_id
        command = RegisterUnit(row.unit_id, row.name, row.short_code, row.kind, parent_id)
        alike = [
            code for look in looks(row.short_code) for code in beside.get((parent_id, look), ())
        ]
        try:
            decision = decide(
                command,
                registered.get(row.unit_id, initial(row.unit_id)),
                Context(others=registered, sibling_codes=alike),
            )
        except Refused as refused:
            raise Refused(
                refused.code, f"row {row.ref!r}: {refused.detail}", ref=row.ref, **refused.extra
            ) from None
        for key in decision.reserve:
            if key in taken:
                raise Refused(
                    codes.DUPLICATE_SHORT_CODE,
                    f"row {row.ref!r}: short code {key.key} is used twice under "
                    "one parent in the file",
                    ref=row.ref,
                )
            taken.add(key)
        registered[row.unit_id] = evolve(initial(row.unit_id), decision.events[0])
        code = registered[row.unit_id].short_code
        beside.setdefault((parent_id, code_look(code)), []).append(code)
        decisions.append((command, decision))
    return decisions
