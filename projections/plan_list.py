"""Plans as they stand, for finding them (GET /plans): a pure fold of a plan's events into one
row, written in the transaction of the command that appended them."""

from __future__ import annotations

import contextlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime
from typing import Any
from uuid import UUID

from events.catalog import Event
from events.plans import (
    PlanAmended,
    PlanCancelled,
    PlanClosed,
    PlanDrafted,
    PlanIssued,
    PlanSuperseded,
)
from events.store import DbConnection
from projections.change import Change
from projections.filters import Filters, escape_like
from projections.rows import RowTable
from services.domain.docnumber import InvalidDocumentNumber, parse, shown
from services.domain.text import fold


@dataclass(frozen=True)
class PlanRow:
    plan_id: UUID
    version: int
    kind: str
    title: str
    status: str
    issuer_unit_id: UUID
    recipients: tuple[UUID, ...]
    number: str | None
    number_normalized: str | None
    issued_on: date | None
    drafted_at: datetime
    updated_at: datetime

    @property
    def search_key(self) -> str:
        return fold(f"{self.title} {self.number or ''}")


COLUMNS = (*PlanRow.__dataclass_fields__, "search_key")
EVENTS = (PlanDrafted, PlanIssued, PlanAmended, PlanClosed, PlanCancelled, PlanSuperseded)


def apply(row: PlanRow | None, event: Event, version: int, at: datetime) -> PlanRow | None:
    match event:
        case PlanDrafted():
            return PlanRow(
                event.plan_id,
                version,
                event.kind,
                event.title,
                "draft",
                event.issuer_unit_id,
                tuple(r.unit_id for r in event.recipients),
                None,
                None,
                None,
                at,
                at,
            )
    if row is None:
        return None
    row = replace(row, version=version, updated_at=at)
    match event:
        case PlanIssued():
            return replace(
                row,
                status="issued",
                number=shown(event.number) if event.number is not None else None,
                number_normalized=event.number_normalized,
                issued_on=event.issued_on,
            )
        case PlanAmended():
            changed = set(event.changed)
            if "title" in changed and event.title is not None:
                row = replace(row, title=event.title)
            if "recipients" in changed and event.recipients is not None:
                row = replace(row, recipients=tuple(r.unit_id for r in event.recipients))
            return row
        case PlanClosed():
            return replace(row, status="closed")
        case PlanCancelled():
            return replace(row, status="cancelled")
        case PlanSuperseded():
            return replace(row, status="superseded")
    return row


def _cited(event: PlanDrafted) -> tuple[str, ...]:
    """The normalised numbers a draft cites: a document by its number, or a plan of the ledger
    (whose number the event carries as written)."""
    numbers = []
    for cited in event.implements:
        if cited.number_normalized:
            numbers.append(cited.number_normalized)
        elif cited.number:
            with contextlib.suppress(InvalidDocumentNumber):
                numbers.append(parse(cited.number).normalized)
    return tuple(dict.fromkeys(numbers))


def _from_record(record: Mapping[str, Any]) -> PlanRow:
    return PlanRow(**{**dict(record), "recipients": tuple(record["recipients"])})


def _values(row: PlanRow) -> list[Any]:
    values = [getattr(row, name) for name in COLUMNS]
    values[COLUMNS.index("recipients")] = list(row.recipients)
    return values


TABLE = RowTable("plan_list", "plan_id", COLUMNS, _from_record, _values, COLUMNS[:-1])


async def write(connection: DbConnection, changes: Sequence[Change]) -> None:
    for change in changes:
        event: Any = change.event
        row = apply(await TABLE.get(connection, event.plan_id), event, change.version, change.at)
        if row is not None:
            await TABLE.put(connection, row)
        if isinstance(event, PlanDrafted) and (cited := _cited(event)):
            await connection.execute(
                "INSERT INTO plan_citations (plan_id, number_normalized) "
                "SELECT $1, unnest($2::text[]) ON CONFLICT DO NOTHING",
                event.plan_id,
                list(cited),
            )


async def status_and_issuer(pool: Any, plan_id: UUID) -> tuple[str, UUID] | None:
    """A plan's status and issuer as they stand (None for an unknown plan): whether its events
    are its issuer's alone (a draft) for the live feed, as the feed's SQL judges them."""
    row = await pool.fetchrow(
        "SELECT status, issuer_unit_id FROM plan_list WHERE plan_id = $1", plan_id
    )
    return (row["status"], row["issuer_unit_id"]) if row else None


@dataclass(frozen=True)
class PlanPage:
    items: list[dict[str, Any]]
    next: tuple[datetime, UUID] | None


async def search(
    pool: Any,
    *,
    readable_by: list[UUID] | None,
    issuer: UUID | None = None,
    status: str | None = None,
    number: str | None = None,
    number_normalized: str | None = None,
    cites: str | None = None,
    cites_normalized: str | None = None,
    q: str | None = None,
    limit: int = 50,
    after: tuple[datetime, UUID] | None = None,
) -> PlanPage:
    """Plans newest first. `readable_by` (None: every plan) keeps those whose issuer, or for
    an issued plan a recipient, is among the units: a draft is its issuer's alone."""
    f = Filters()
    if readable_by is not None:
        units = f.param(readable_by)
        f.add(
            f"(issuer_unit_id = ANY({units}::uuid[]) "
            f"OR (status <> 'draft' AND recipients && {units}::uuid[]))"
        )
    if issuer is not None:
        f.add(f"issuer_unit_id = {f.param(issuer)}")
    if status is not None:
        f.add(f"status = {f.param(status)}")
    if number is not None:
        prefix = escape_like(number.strip().lower())
        f.add(
            f"(number_normalized = {f.param(number_normalized)} "
            f"OR lower(number) LIKE {f.param(prefix + '%')} "
            f"OR lower(number_normalized) LIKE {f.param(prefix + '%')})"
        )
    if cites is not None:
        # A whole number (1498-CV/TU), or its leading part (1498) up to a separator.
        head = escape_like(cites.strip().upper())
        f.add(
            "EXISTS (SELECT 1 FROM plan_citations c WHERE c.plan_id = plan_list.plan_id AND "
            f"(c.number_normalized = {f.param(cites_normalized)} "
            f"OR upper(c.number_normalized) LIKE {f.param(head + '-%')} "
            f"OR upper(c.number_normalized) LIKE {f.param(head + '/%')}))"
        )
    if q:
        # The title and number, folded; or the number of a document it implements.
        words = f.param("%" + escape_like(fold(q)) + "%")
        cited = f.param("%" + escape_like(q.strip().upper()) + "%")
        f.add(
            f"(search_key LIKE {words} OR EXISTS (SELECT 1 FROM plan_citations c "
            f"WHERE c.plan_id = plan_list.plan_id AND upper(c.number_normalized) LIKE {cited}))"
        )
    if after is not None:
        f.add(f"(drafted_at, plan_id) < ({f.param(after[0])}, {f.param(after[1])})")
    rows = await pool.fetch(
        f"SELECT {', '.join(COLUMNS[:-1])} FROM plan_list {f.where} "
        f"ORDER BY drafted_at DESC, plan_id DESC LIMIT {f.param(limit + 1)}",
        *f.params,
    )
    more = len(rows) > limit
    rows = rows[:limit]
    items = [
        {
            "id": str(r["plan_id"]),
            "kind": r["kind"],
            "title": r["title"],
            "status": r["status"],
            "issuer_unit_id": str(r["issuer_unit_id"]),
            "number": r["number"],
            "issued_on": r["issued_on"].isoformat() if r["issued_on"] else None,
            "recipients": [str(u) for u in r["recipients"]],
            "drafted_at": r["drafted_at"],
            "updated_at": r["updated_at"],
            "version": r["version"],
        }
        for r in rows
    ]
    last = (rows[-1]["drafted_at"], rows[-1]["plan_id"]) if more and rows else None
    return PlanPage(items, last)
