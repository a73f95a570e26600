"""Users and their roles. A user's personal data is not part of the aggregate: events name
users by id, and the mutable users table holds name, e-mail and phone."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from uuid import UUID

from events.catalog import Event
from events.organisation import Role, RoleGranted, RoleRevoked, UserRegistered
from services.domain import refusal_codes as codes
from services.domain.refusal import Decision, Refused
from services.domain.unit import Unit


@dataclass(frozen=True)
class Grant:
    role: Role
    unit_id: UUID | None


@dataclass(frozen=True)
class User:
    id: UUID
    registered: bool = False
    roles: dict[UUID, Grant] = field(default_factory=dict)


def initial(user_id: UUID) -> User:
    """A user before any event: not registered."""
    return User(user_id)


def evolve(state: User, event: Event) -> User:
    match event:
        case UserRegistered():
            return User(event.user_id, registered=True)
        case RoleGranted():
            return replace(
                state, roles={**state.roles, event.role_id: Grant(event.role, event.unit_id)}
            )
        case RoleRevoked():
            return replace(
                state, roles={k: v for k, v in state.roles.items() if k != event.role_id}
            )
    return state


@dataclass(frozen=True)
class RegisterUser:
    user_id: UUID


@dataclass(frozen=True)
class GrantRole:
    user_id: UUID
    role_id: UUID
    role: Role
    unit_id: UUID | None


@dataclass(frozen=True)
class RevokeRole:
    user_id: UUID
    role_id: UUID
    reason: str | None = None


UserCommand = RegisterUser | GrantRole | RevokeRole


@dataclass(frozen=True)
class Context:
    """What a user decision needs of others, loaded by the shell: the unit a role is granted
    for (grant)."""

    unit: Unit | None = None
    erased: bool = False
    """Whether the user's personal data was erased (grant): an erased user takes no new role."""


def decide(command: UserCommand, state: User, context: Context = Context()) -> Decision:
    match command:
        case RegisterUser():
            return _register(command, state)
        case GrantRole():
            return _grant(command, state, context)
        case RevokeRole():
            return _revoke(command, state)


def _register(command: RegisterUser, user: User) -> Decision:
    if user.registered:
        raise Refused(codes.USER_EXISTS, f"user {user.id} is already registered")
    return Decision([UserRegistered(user_id=command.user_id)])


def _grant(command: GrantRole, user: User, context: Context) -> Decision:
    unit = context.unit
    if not user.registered:
        raise Refused(codes.UNKNOWN_USER, f"user {user.id} does not exist")
    if context.erased:
        raise Refused(codes.USER_ERASED, f"user {user.id} was erased: no new role")
    if command.role == "admin" and command.unit_id is not None:
        raise Refused(codes.INVALID_ROLE, "admin reaches everywhere: name no unit")
    if command.role != "admin":
        if command.unit_id is None:
            raise Refused(codes.INVALID_ROLE, f"a {command.role} acts for a unit: name it")
        if unit is None or unit.status == "unknown":
            raise Refused(codes.UNKNOWN_ROLE_UNIT, f"unit {command.unit_id} does not exist")
        if not unit.active:
            raise Refused(codes.ROLE_UNIT_INACTIVE, f"unit {command.unit_id} is {unit.status}")
    grant = Grant(command.role, command.unit_id)
    if grant in user.roles.values():
        raise Refused(codes.ROLE_ALREADY_GRANTED, f"user {user.id} is already {command.role} there")
    return Decision(
        [
            RoleGranted(
                user_id=user.id,
                role_id=command.role_id,
                role=command.role,
                unit_id=command.unit_id,
            )
        ]
    )


def _revoke(command: RevokeRole, user: User) -> Decision:
    if not user.registered:
        raise Refused(codes.UNKNOWN_USER, f"user {user.id} does not exist")
    if command.role_id not in user.roles:
        raise Refused(codes.UNKNOWN_ROLE, f"user {user.id} holds no role {command.role_id}")
    return Decision([RoleRevoked(user_id=user.id, role_id=command.role_id, reason=command.reason)])
