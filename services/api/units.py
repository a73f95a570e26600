"""Routes of the organisation tree: /units."""

from __future__ import annotations

from typing import Annotated, Any, Literal
from uuid import UUID

import msgspec
from litestar import Request, Response, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath, FromQuery, JSONBody, QueryParameter

from events.organisation import UnitKind
from events.page_token import decode_page, encode_page
from projections import unit_directory
from services.api.bodies import BODY_TYPES, JSON
from services.api.commanding import Commands, new_id
from services.api.dependencies import Injected, Pool
from services.api.problems import Problem
from services.domain.unit import (
    DissolveUnit,
    ImportedUnit,
    MergeUnit,
    MoveUnit,
    RegisterUnit,
    RenameUnit,
    SplitUnit,
    UnitCommand,
)
from services.handlers import units
from services.handlers.auth import Actor
from services.handlers.command_path import Handler

Text = Annotated[str, msgspec.Meta(min_length=1, max_length=300)]
Code = Annotated[str, msgspec.Meta(min_length=1, max_length=64)]
Reason = Annotated[str, msgspec.Meta(max_length=2000)]


class RegisterUnitRequest(msgspec.Struct, forbid_unknown_fields=True):
    name: Text
    short_code: Code
    kind: UnitKind = "other"
    parent_id: UUID | None = None
    id: UUID | None = None


class RenameUnitRequest(msgspec.Struct, forbid_unknown_fields=True):
    name: Text
    short_code: Code | None = None
    reason: Reason | None = None


class MoveUnitRequest(msgspec.Struct, forbid_unknown_fields=True):
    parent_id: UUID
    reason: Reason | None = None


class MergeUnitRequest(msgspec.Struct, forbid_unknown_fields=True):
    successor_id: UUID
    reason: Reason | None = None


class TaskAllocationRequest(msgspec.Struct, forbid_unknown_fields=True):
    assignment_id: UUID
    successor_id: UUID


class SplitUnitRequest(msgspec.Struct, forbid_unknown_fields=True):
    successor_ids: Annotated[list[UUID], msgspec.Meta(min_length=2, max_length=50)]
    default_successor_id: UUID
    allocations: Annotated[list[TaskAllocationRequest], msgspec.Meta(max_length=10_000)] = []
    reason: Reason | None = None


class DissolveUnitRequest(msgspec.Struct, forbid_unknown_fields=True):
    successor_id: UUID | None = None
    reason: Reason | None = None


class UnitView(msgspec.Struct):
    id: UUID
    name: str
    short_code: str
    kind: str
    parent_id: UUID | None
    status: str
    successor_id: UUID | None
    version: int


class UnitList(msgspec.Struct):
    items: list[UnitView]
    next: str | None


def _view(row: Any) -> UnitView:
    return UnitView(
        row["unit_id"],
        row["name"],
        row["short_code"],
        row["kind"],
        row["parent_id"],
        row["status"],
        row["successor_id"],
        row["version"],
    )


def _handler(command: UnitCommand, commands: Commands, pool: Pool) -> Handler:
    return units.handler(command, commands.actor, pool, commands.now)


@post("/units", status_code=201)
async def register_unit(
    commands: Injected[Commands], pool: Injected[Pool], data: JSONBody[RegisterUnitRequest]
) -> Response[Any]:
    command = RegisterUnit(new_id(data.id), data.name, data.short_code, data.kind, data.parent_id)
    return await commands.run(_handler(command, commands, pool))


@post("/units/import", status_code=201, opt={BODY_TYPES: (JSON, "text/csv")})
async def import_units(
    request: Request[Any, Any, Any], commands: Injected[Commands]
) -> Response[Any]:
    """A whole tree in one append: JSON `{"units": [...]}` or CSV with a header row
    `ref,name,short_code,kind,parent[,id]`; `parent` is a ref of the file or a unit id."""
    body = await request.body()
    media_type = request.headers.get("content-type", "application/json").split(";")[0].strip()

    def rows() -> list[ImportedUnit]:
        if media_type == "text/csv":
            try:
                text = body.decode("utf-8-sig")
            except UnicodeDecodeError:
                raise Problem(
                    400, "invalid-import", "Invalid import", "the CSV file is not UTF-8"
                ) from None
            return units.rows_from_csv(text)
        if media_type == "application/json":
            return units.rows_from_json(body)
        raise Problem(
            415,
            "unsupported-media-type",
            "Unsupported media type",
            "send application/json or text/csv",
        )

    return await commands.run(units.import_handler(rows, commands.actor))


@post("/units/{unit_id:uuid}/rename")
async def rename_unit(
    commands: Injected[Commands],
    pool: Injected[Pool],
    unit_id: FromPath[UUID],
    data: JSONBody[RenameUnitRequest],
) -> Response[Any]:
    command = RenameUnit(unit_id, data.name, data.short_code, data.reason)
    return await commands.run(_handler(command, commands, pool))


@post("/units/{unit_id:uuid}/move")
async def move_unit(
    commands: Injected[Commands],
    pool: Injected[Pool],
    unit_id: FromPath[UUID],
    data: JSONBody[MoveUnitRequest],
) -> Response[Any]:
    command = MoveUnit(unit_id, data.parent_id, data.reason)
    return await commands.run(_handler(command, commands, pool))


@post("/units/{unit_id:uuid}/merge")
async def merge_unit(
    commands: Injected[Commands],
    pool: Injected[Pool],
    unit_id: FromPath[UUID],
    data: JSONBody[MergeUnitRequest],
) -> Response[Any]:
    command = MergeUnit(unit_id, data.successor_id, data.reason)
    return await commands.run(_handler(command, commands, pool))


@post("/units/{unit_id:uuid}/split")
async def split_unit(
    commands: Injected[Commands],
    pool: Injected[Pool],
    unit_id: FromPath[UUID],
    data: JSONBody[SplitUnitRequest],
) -> Response[Any]:
    command = SplitUnit(
        unit_id,
        tuple(data.successor_ids),
        data.default_successor_id,
        tuple((a.assignment_id, a.successor_id) for a in data.allocations),
        data.reason,
    )
    return await commands.run(_handler(command, commands, pool))


@post("/units/{unit_id:uuid}/dissolve")
async def dissolve_unit(
    commands: Injected[Commands],
    pool: Injected[Pool],
    unit_id: FromPath[UUID],
    data: JSONBody[DissolveUnitRequest],
) -> Response[Any]:
    command = DissolveUnit(unit_id, data.successor_id, data.reason)
    return await commands.run(_handler(command, commands, pool))


@get("/units/{unit_id:uuid}")
async def get_unit(
    pool: Injected[Pool], actor: NamedDependency[Actor], unit_id: FromPath[UUID]
) -> Response[Any]:
    row = await unit_directory.get(pool, unit_id)
    if row is None:
        raise Problem(404, "unknown-unit", "Unknown unit", f"unit {unit_id} does not exist")
    return Response(_view(row), headers={"ETag": f'"{row["version"]}"'})


@get("/units")
async def list_units(
    pool: Injected[Pool],
    actor: NamedDependency[Actor],
    q: Annotated[str | None, QueryParameter(max_length=200)] = None,
    code: Annotated[
        str | None,
        QueryParameter(
            max_length=40,
            description="Every unit with this short code: a document symbol such as TU, which "
            "many units write; the answer lists the candidates",
        ),
    ] = None,
    parent: FromQuery[UUID | None] = None,
    status: FromQuery[Literal["active", "merged", "split", "dissolved"] | None] = None,
    limit: Annotated[int, QueryParameter(ge=1, le=500)] = 100,
    page: Annotated[str | None, QueryParameter(max_length=1000)] = None,
) -> UnitList:
    after = decode_page(page, str, UUID) if page is not None else None
    found = await unit_directory.search(
        pool, q=q, parent=parent, status=status, limit=limit, after=after, code=code
    )
    token = encode_page(found.next[0], str(found.next[1])) if found.next else None
    return UnitList([_view(row) for row in found.items], token)


ROUTES = [
    register_unit,
    import_units,
    rename_unit,
    move_unit,
    merge_unit,
    split_unit,
    dissolve_unit,
    get_unit,
    list_units,
]
