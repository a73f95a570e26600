"""Unit commands through the command path, and the import file's rows."""

from __future__ import annotations

import csv
import io
import uuid
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any, get_args
from uuid import UUID

import asyncpg
import msgspec

from events.organisation import UnitKind
from projections import unit_directory
from services.domain import refusal_codes as codes
from services.domain import unit as unit_decider
from services.domain.refusal import Refused
from services.domain.text import code_look
from services.domain.unit import (
    DissolveUnit,
    ImportedUnit,
    MergeUnit,
    MoveUnit,
    RegisterUnit,
    RenameUnit,
    SplitUnit,
    Unit,
)
from services.handlers.auth import Actor, require_admin
from services.handlers.command_path import Handler, Outcome, Session
from services.handlers.handover import hand_over
from services.handlers.streams import lineage, load_unit, load_units, unit_stream, units_of

KINDS: tuple[str, ...] = get_args(UnitKind)
_NO_UNIT = UUID(int=0)
"""No unit: every sibling's code counts."""


def handler(
    command: unit_decider.UnitCommand,
    actor: Actor,
    pool: asyncpg.Pool[Any],
    now: datetime | None = None,
) -> Handler:
    """The command-path handler deciding `command` on fresh state. A merge, split or
    dissolution also hands the unit's open tasks to its successor, in the same append.

    The organisation tree is the admins' alone: anyone else is refused at once, before
    anything is loaded."""
    require_admin(actor)

    async def decide(session: Session) -> Outcome:
        unit = await load_unit(session, command.unit_id)
        others: dict[UUID, Unit] = {}
        chain: list[Unit] = []
        children = 0
        siblings: list[str] = []
        match command:
            case RegisterUnit(parent_id=parent_id, short_code=short_code):
                if parent_id is not None:
                    others[parent_id] = await load_unit(session, parent_id)
                siblings = await unit_directory.sibling_codes(
                    pool, parent_id, command.unit_id, unit_decider.looks(short_code)
                )
            case RenameUnit(short_code=short_code) if short_code:
                siblings = await unit_directory.sibling_codes(
                    pool, unit.parent_id, unit.id, unit_decider.looks(short_code)
                )
            case MoveUnit():
                chain = await lineage(session, command.parent_id)
                others[command.parent_id] = chain[0]
                siblings = await unit_directory.sibling_codes(
                    pool, command.parent_id, unit.id, [code_look(unit.short_code)]
                )
            case MergeUnit():
                chain = await lineage(session, command.successor_id)
                others[command.successor_id] = chain[0]
                children = await unit_directory.active_children(pool, command.unit_id)
            case SplitUnit():
                for successor_id in command.successor_ids:
                    others[successor_id] = await load_unit(session, successor_id)
                children = await unit_directory.active_children(pool, command.unit_id)
            case DissolveUnit():
                if command.successor_id is not None:
                    others[command.successor_id] = await load_unit(session, command.successor_id)
                children = await unit_directory.active_children(pool, command.unit_id)
        decision = unit_decider.decide(
            command, unit, unit_decider.Context(chain, others, children, siblings)
        )
        stream = unit_stream(command.unit_id)
        outcome = Outcome(
            str(command.unit_id), stream, status=201 if isinstance(command, RegisterUnit) else 200
        )
        related = [getattr(command, name, None) for name in ("parent_id", "successor_id")]
        outcome.add(
            stream,
            decision,
            units=units_of(
                command.unit_id, unit.parent_id, *related, *getattr(command, "successor_ids", ())
            ),
        )
        if isinstance(command, MergeUnit | SplitUnit | DissolveUnit):
            await hand_over(
                session,
                outcome,
                command.unit_id,
                _successor_of(command),
                others,
                f"{unit.name} ({unit.short_code}) {_verb(command)}",
                now or session.now,
            )
        return outcome

    return decide


def _successor_of(command: MergeUnit | SplitUnit | DissolveUnit) -> Any:
    match command:
        case MergeUnit():
            return lambda _: command.successor_id
        case SplitUnit():
            allocated = dict(command.allocations)
            return lambda task: allocated.get(task, command.default_successor_id)
        case DissolveUnit():
            return lambda _: command.successor_id


def _verb(command: MergeUnit | SplitUnit | DissolveUnit) -> str:
    return {MergeUnit: "merged", SplitUnit: "split", DissolveUnit: "dissolved"}[type(command)]


def import_handler(
    rows: Sequence[ImportedUnit] | Callable[[], Sequence[ImportedUnit]], actor: Actor
) -> Handler:
    """A whole tree in one append, for an admin only. `rows` may be how to read them (a file's
    parser): it is read once the actor is known to be allowed, so that a stranger's file is
    refused unread."""
    require_admin(actor)
    if callable(rows):
        rows = rows()

    async def decide(session: Session) -> Outcome:
        named = [row.unit_id for row in rows]
        named += [row.parent_id for row in rows if row.parent_id is not None]
        existing = await load_units(session, named)
        under: dict[UUID | None, list[str]] = {}
        for row in rows:
            if row.parent_ref is None:
                under.setdefault(row.parent_id, []).append(row.short_code)
        siblings = {
            parent_id: await unit_directory.sibling_codes(
                session.store.pool, parent_id, _NO_UNIT, unit_decider.looks(*short_codes)
            )
            for parent_id, short_codes in under.items()
        }
        decisions = unit_decider.plan_import(rows, existing, siblings)
        first = decisions[0][0].unit_id
        outcome = Outcome(str(first), unit_stream(first), status=201)
        for command, decision in decisions:
            outcome.add(
                unit_stream(command.unit_id),
                decision,
                units=units_of(command.unit_id, command.parent_id),
            )
        outcome.extra = {"units": {row.ref: str(row.unit_id) for row in rows}}
        return outcome

    return decide


# -- the import file --------------------------------------------------------------------------


class ImportRow(msgspec.Struct, forbid_unknown_fields=True):
    ref: str
    name: str
    short_code: str
    kind: UnitKind = "other"
    parent: str | None = None
    id: UUID | None = None


class ImportFile(msgspec.Struct, forbid_unknown_fields=True):
    units: list[ImportRow]


MAX_IMPORT_ROWS = 5000


def rows_from_json(body: bytes) -> list[ImportedUnit]:
    try:
        parsed = msgspec.json.decode(body, type=ImportFile)
    except msgspec.ValidationError as error:
        raise Refused(
            codes.INVALID_IMPORT,
            f"the file does not match the import format: {error}",
        ) from None
    except msgspec.DecodeError as error:
        raise Refused(codes.INVALID_IMPORT, f"the file is not JSON: {error}") from None
    return _resolve(parsed.units)


def rows_from_csv(text: str) -> list[ImportedUnit]:
    reader = csv.DictReader(io.StringIO(text))
    expected = {"ref", "name", "short_code", "kind", "parent"}
    try:
        reader.fieldnames  # noqa: B018 - reads the header row
    except csv.Error as error:
        raise Refused(codes.INVALID_IMPORT, f"the CSV file is malformed: {error}") from None
    if reader.fieldnames is None or not {"ref", "name", "short_code"} <= set(reader.fieldnames):
        raise Refused(
            codes.INVALID_IMPORT,
            "a CSV import needs the columns ref, name, short_code and optionally kind, parent, id",
        )
    unknown_columns = set(reader.fieldnames) - expected - {"id"}
    if unknown_columns:
        raise Refused(
            codes.INVALID_IMPORT,
            f"unknown column(s): {', '.join(sorted(unknown_columns))}",
        )
    rows = []
    records = iter(enumerate(reader, 2))
    while True:
        try:
            number, record = next(records)
        except StopIteration:
            break
        except csv.Error as error:
            raise Refused(codes.INVALID_IMPORT, f"the CSV file is malformed: {error}") from None
        try:
            rows.append(
                msgspec.convert(
                    {k: v for k, v in record.items() if v not in (None, "")},
                    ImportRow,
                    strict=False,
                )
            )
        except msgspec.ValidationError as error:
            raise Refused(codes.INVALID_IMPORT, f"line {number}: {error}") from None
    return _resolve(rows)


def _resolve(rows: list[ImportRow]) -> list[ImportedUnit]:
    if len(rows) > MAX_IMPORT_ROWS:
        raise Refused(codes.INVALID_IMPORT, f"at most {MAX_IMPORT_ROWS} units in one import")
    refs = {row.ref for row in rows}
    resolved = []
    for row in rows:
        parent_ref: str | None = None
        parent_id: UUID | None = None
        if row.parent is not None and row.parent in refs:
            parent_ref = row.parent
        elif row.parent is not None:
            try:
                parent_id = UUID(row.parent)
            except ValueError:
                raise Refused(
                    codes.UNKNOWN_PARENT,
                    f"row {row.ref!r}: parent {row.parent!r} is "
                    "neither a ref in the file nor a unit id",
                    ref=row.ref,
                ) from None
        resolved.append(
            ImportedUnit(
                row.ref,
                row.id or uuid.uuid4(),
                row.name,
                row.short_code,
                row.kind,
                parent_ref,
                parent_id,
            )
        )
    return resolved
