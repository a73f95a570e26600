"""What litestar injects into the routes by name: the store, the pool, the instant of the
request, the actor sending it, the webhook allow-list, and `commands` (the command path bound
to the request). A route names what it needs; nothing reads `request.app.state` but this module
and the application's lifespan.

    store: Injected[EventStore]      pool: Injected[Pool]          now: Injected[datetime]
    actor: NamedDependency[Actor]    commands: Injected[Commands]  targets: Injected[AllowList]
    fair_use: Injected[FairUse]
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING, Any, TypeAlias, TypeVar

import asyncpg
from litestar import Request
from litestar.datastructures import State
from litestar.di import NamedDependency, Provide
from litestar.params import SkipValidation

from events.store import EventStore
from services.api.commanding import Commands
from services.api.fair_use import FairUse
from services.handlers.auth import Actor, authenticate, hash_token
from services.handlers.webhooks import AllowList

T = TypeVar("T")

Injected = NamedDependency[SkipValidation[T]]
"""A route parameter litestar fills from the dependency of the same name (as it is: the
store, pool and clock are the application's own, not input to validate)."""

if TYPE_CHECKING:
    Pool: TypeAlias = asyncpg.Pool[Any]
else:
    Pool = asyncpg.Pool  # not subscriptable at run time


def provide_store(state: State) -> EventStore:
    store: EventStore = state.store
    return store


def provide_pool(state: State) -> Pool:
    pool: Pool = state.pool
    return pool


def provide_now(state: State) -> datetime:
    """The request's instant, read once from the application's clock."""
    clock: Callable[[], datetime] = state.clock
    return clock()


def provide_targets(state: State) -> AllowList:
    targets: AllowList = state.webhook_targets
    return targets


SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


async def provide_actor(
    request: Request[Any, Any, Any], pool: Injected[Pool], now: Injected[datetime]
) -> Actor:
    """The user behind the bearer token (401 problem otherwise); a command (any other method
    than GET, HEAD, OPTIONS) is counted against the token's COMMANDS_PER_MINUTE (429 beyond).
    The user's id is kept for the access log."""
    authorization = request.headers.get("authorization")
    actor = await authenticate(pool, authorization, now, request.app.state.token_cache)
    request.scope.setdefault("state", {})["user_id"] = str(actor.user_id)
    if request.method not in SAFE_METHODS and authorization:
        fair_use: FairUse = request.app.state.fair_use
        await fair_use.command(hash_token(authorization.partition(" ")[2].strip()))
    return actor


def provide_fair_use(state: State) -> FairUse:
    fair_use: FairUse = state.fair_use
    return fair_use


def provide_commands(
    request: Request[Any, Any, Any],
    store: Injected[EventStore],
    actor: Injected[Actor],
    now: Injected[datetime],
) -> Commands:
    return Commands(request, store, actor, now)


DEPENDENCIES = {
    "store": Provide(provide_store, sync_to_thread=False),
    "pool": Provide(provide_pool, sync_to_thread=False),
    "now": Provide(provide_now, sync_to_thread=False),
    "targets": Provide(provide_targets, sync_to_thread=False),
    "actor": Provide(provide_actor),
    "commands": Provide(provide_commands, sync_to_thread=False),
    "fair_use": Provide(provide_fair_use, sync_to_thread=False),
}
