"""Routes for users, their roles and tokens: /users (admins only)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any
from uuid import UUID

import msgspec
from litestar import Request, Response, delete, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath, JSONBody

from events.organisation import Role
from services.api.commanding import now, run
from services.api.problems import Problem
from services.handlers import users
from services.handlers.auth import Actor, issue_token, require_admin


class RoleRequest(msgspec.Struct, forbid_unknown_fields=True):
    role: Role
    unit_id: UUID | None = None


class RegisterUserRequest(msgspec.Struct, forbid_unknown_fields=True):
    name: Annotated[str, msgspec.Meta(min_length=1, max_length=200)]
    email: Annotated[str, msgspec.Meta(max_length=254)] | None = None
    phone: Annotated[str, msgspec.Meta(max_length=32)] | None = None
    roles: Annotated[list[RoleRequest], msgspec.Meta(max_length=50)] = []
    id: UUID | None = None


class TokenRequest(msgspec.Struct, forbid_unknown_fields=True):
    days: Annotated[int, msgspec.Meta(ge=1, le=3650)] = 90
    label: Annotated[str, msgspec.Meta(max_length=200)] | None = None


class TokenView(msgspec.Struct):
    token_id: FromPath[UUID]
    token: str
    expires_at: datetime


class UserView(msgspec.Struct):
    id: UUID
    name: str | None
    email: str | None
    phone: str | None
    erased: bool
    roles: list[dict[str, Any]]


class UserList(msgspec.Struct):
    items: list[UserView]
    next: str | None = None


def _view(found: users.UserView) -> UserView:
    return UserView(found.id, found.name, found.email, found.phone, found.erased, found.roles)


async def _existing(request: Request[Any, Any, Any], user_id: FromPath[UUID]) -> users.UserView:
    found = await users.get(request.app.state.pool, user_id)
    if found is None:
        raise Problem(404, "unknown-user", "Unknown user", f"user {user_id} does not exist")
    return found


@post("/users", status_code=201)
async def register_user(
    request: Request[Any, Any, Any],
    actor: NamedDependency[Actor],
    data: JSONBody[RegisterUserRequest],
) -> Response[Any]:
    require_admin(actor)
    handler = users.register_handler(
        data.id or uuid.uuid4(),
        users.PersonalData(data.name, data.email, data.phone),
        [(r.role, r.unit_id) for r in data.roles],
        now(request),
    )
    return await run(request, actor, handler)


@get("/users")
async def list_users(request: Request[Any, Any, Any], actor: NamedDependency[Actor]) -> UserList:
    require_admin(actor)
    return UserList([_view(u) for u in await users.list_users(request.app.state.pool)])


@get("/users/{user_id:uuid}")
async def get_user(
    request: Request[Any, Any, Any], actor: NamedDependency[Actor], user_id: FromPath[UUID]
) -> UserView:
    require_admin(actor)
    return _view(await _existing(request, user_id))


@post("/users/{user_id:uuid}/roles", status_code=201)
async def grant_role(
    request: Request[Any, Any, Any],
    actor: NamedDependency[Actor],
    user_id: FromPath[UUID],
    data: JSONBody[RoleRequest],
) -> Response[Any]:
    require_admin(actor)
    return await run(request, actor, users.grant_handler(user_id, data.role, data.unit_id))


@delete("/users/{user_id:uuid}/roles/{role_id:uuid}", status_code=200)
async def revoke_role(
    request: Request[Any, Any, Any],
    actor: NamedDependency[Actor],
    user_id: FromPath[UUID],
    role_id: FromPath[UUID],
) -> Response[Any]:
    require_admin(actor)
    return await run(request, actor, users.revoke_handler(user_id, role_id))


@post("/users/{user_id:uuid}/tokens", status_code=201)
async def create_token(
    request: Request[Any, Any, Any],
    actor: NamedDependency[Actor],
    user_id: FromPath[UUID],
    data: JSONBody[TokenRequest],
) -> TokenView:
    require_admin(actor)
    found = await _existing(request, user_id)
    if found.erased:
        raise Problem(422, "user-erased", "User erased", f"user {user_id} was erased")
    token_id, token, expires_at = await issue_token(
        request.app.state.pool, user_id, now(request), days=data.days, label=data.label
    )
    return TokenView(token_id, token, expires_at)


@delete("/users/{user_id:uuid}/tokens/{token_id:uuid}", status_code=200)
async def revoke_token(
    request: Request[Any, Any, Any],
    actor: NamedDependency[Actor],
    user_id: FromPath[UUID],
    token_id: FromPath[UUID],
) -> dict[str, str]:
    require_admin(actor)
    if not await users.revoke_token(request.app.state.pool, user_id, token_id, now(request)):
        raise Problem(404, "unknown-token", "Unknown token", f"user {user_id} has no such token")
    return {"id": str(token_id), "status": "revoked"}


@delete("/users/{user_id:uuid}/personal-data", status_code=200)
async def erase_user(
    request: Request[Any, Any, Any], actor: NamedDependency[Actor], user_id: FromPath[UUID]
) -> dict[str, str]:
    require_admin(actor)
    if not await users.erase(request.app.state.pool, user_id, now(request)):
        raise Problem(404, "unknown-user", "Unknown user", f"user {user_id} does not exist")
    return {"id": str(user_id), "status": "erased"}


ROUTES = [
    register_user,
    list_users,
    get_user,
    grant_role,
    revoke_role,
    create_token,
    revoke_token,
    erase_user,
]
