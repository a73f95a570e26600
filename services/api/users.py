"""Routes for users, their roles and tokens: /users (admins only)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any
from uuid import UUID

import msgspec
from litestar import Request, Response, delete, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath, JSONBody

from events.organisation import Role
from services.api.commanding import Commands, forget_tokens, new_id
from services.api.dependencies import Injected, Pool
from services.api.problems import Problem
from services.handlers import users
from services.handlers.auth import Actor


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


@post("/users", status_code=201)
async def register_user(
    commands: Injected[Commands], data: JSONBody[RegisterUserRequest]
) -> Response[Any]:
    handler = users.register_handler(
        new_id(data.id),
        users.PersonalData(data.name, data.email, data.phone),
        [(r.role, r.unit_id) for r in data.roles],
        commands.actor,
        commands.now,
    )
    return await commands.run(handler)


@get("/users")
async def list_users(pool: Injected[Pool], actor: NamedDependency[Actor]) -> UserList:
    return UserList([_view(u) for u in await users.users_of(pool, actor)])


@get("/users/{user_id:uuid}")
async def get_user(
    pool: Injected[Pool], actor: NamedDependency[Actor], user_id: FromPath[UUID]
) -> UserView:
    found = await users.user_of(pool, actor, user_id)
    if found is None:
        raise Problem(404, "unknown-user", "Unknown user", f"user {user_id} does not exist")
    return _view(found)


@post("/users/{user_id:uuid}/roles", status_code=201)
async def grant_role(
    commands: Injected[Commands], user_id: FromPath[UUID], data: JSONBody[RoleRequest]
) -> Response[Any]:
    return await commands.run(users.grant_handler(user_id, data.role, data.unit_id, commands.actor))


@delete("/users/{user_id:uuid}/roles/{role_id:uuid}", status_code=200)
async def revoke_role(
    commands: Injected[Commands], user_id: FromPath[UUID], role_id: FromPath[UUID]
) -> Response[Any]:
    return await commands.run(users.revoke_handler(user_id, role_id, commands.actor))


@post("/users/{user_id:uuid}/tokens", status_code=201)
async def create_token(
    request: Request[Any, Any, Any],
    pool: Injected[Pool],
    actor: NamedDependency[Actor],
    now: Injected[datetime],
    user_id: FromPath[UUID],
    data: JSONBody[TokenRequest],
) -> TokenView:
    token_id, token, expires_at = await users.new_token(
        pool, actor, user_id, now, days=data.days, label=data.label
    )
    forget_tokens(request)
    return TokenView(token_id, token, expires_at)


@delete("/users/{user_id:uuid}/tokens/{token_id:uuid}", status_code=200)
async def revoke_token(
    request: Request[Any, Any, Any],
    pool: Injected[Pool],
    actor: NamedDependency[Actor],
    now: Injected[datetime],
    user_id: FromPath[UUID],
    token_id: FromPath[UUID],
) -> dict[str, str]:
    if not await users.withdraw_token(pool, actor, user_id, token_id, now):
        raise Problem(404, "unknown-token", "Unknown token", f"user {user_id} has no such token")
    forget_tokens(request)
    return {"id": str(token_id), "status": "revoked"}


@delete("/users/{user_id:uuid}/personal-data", status_code=200)
async def erase_user(
    request: Request[Any, Any, Any],
    pool: Injected[Pool],
    actor: NamedDependency[Actor],
    now: Injected[datetime],
    user_id: FromPath[UUID],
) -> dict[str, str]:
    if not await users.erase_person(pool, actor, user_id, now):
        raise Problem(404, "unknown-user", "Unknown user", f"user {user_id} does not exist")
    forget_tokens(request)
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
