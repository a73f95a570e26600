"""`campaign users ...` and `campaign units import`: the operator's commands, sent through the
same command path as HTTP requests, as the operator (an admin named by the command line)."""

from __future__ import annotations

import argparse
import asyncio
import sys
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, get_args
from uuid import UUID

import asyncpg

import events.domain  # noqa: F401 - registers every domain event
from events.organisation import Role
from events.store import EventStore, create_pool
from projections import party_terms, unit_directory
from services.domain.refusal import Refused
from services.handlers import units, users
from services.handlers.auth import OPERATOR
from services.handlers.command_path import Busy, CommandContext, Handler, StaleVersion, execute
from services.runtime.config import Settings

ROLES: tuple[str, ...] = get_args(Role)


class CliError(Exception):
    pass


async def _unit_id(pool: asyncpg.Pool[Any], text: str) -> UUID:
    """A unit by id, or by its short code when that names exactly one active unit."""
    try:
        return UUID(text)
    except ValueError:
        pass
    rows = await unit_directory.active_by_short_code(pool, text.strip())
    if not rows:
        raise CliError(f"{text!r} names 0 active units; pass the unit id")
    if len(rows) > 1:
        candidates = "; ".join(f"{r['name']} ({r['unit_id']})" for r in rows)
        raise CliError(f"{text!r} is the short code of {len(rows)} units: {candidates}")
    unit_id: UUID = rows[0]["unit_id"]
    return unit_id


def _user_id(text: str) -> UUID:
    try:
        return UUID(text)
    except ValueError:
        raise CliError(f"{text!r} is not a user id") from None


async def _command(store: EventStore, handler: Handler) -> str:
    context = CommandContext(OPERATOR, datetime.now(UTC), correlation_id=str(uuid.uuid4()))
    answer = await execute(store, context, handler)
    return answer.id


async def users_add(store: EventStore, args: argparse.Namespace) -> None:
    pool = store.pool
    roles: list[tuple[Role, UUID | None]] = []
    if args.role:
        if args.role != "admin" and not args.unit:
            raise CliError(f"a {args.role} acts for a unit: pass --unit")
        unit = await _unit_id(pool, args.unit) if args.unit else None
        roles.append((args.role, unit))
    now = datetime.now(UTC)
    user_id = uuid.UUID(
        await _command(
            store,
            users.register_handler(
                uuid.uuid4(),
                users.PersonalData(args.name, args.email, args.phone),
                roles,
                OPERATOR,
                now,
            ),
        )
    )
    _, token, expires_at = await users.new_token(
        pool, OPERATOR, user_id, now, days=args.days, label="cli"
    )
    print(f"user {user_id} ({args.name}) registered" + (f" as {args.role}" if roles else ""))
    print(f"token expires {expires_at:%Y-%m-%d}; it is shown once, on the next line")
    print(token)


async def users_grant(store: EventStore, args: argparse.Namespace) -> None:
    unit = await _unit_id(store.pool, args.unit) if args.unit else None
    role_id = await _command(
        store, users.grant_handler(_user_id(args.user), args.role, unit, OPERATOR)
    )
    print(f"granted {args.role} (role id {role_id})")


async def users_revoke(store: EventStore, args: argparse.Namespace) -> None:
    await _command(
        store, users.revoke_handler(_user_id(args.user), _user_id(args.role_id), OPERATOR)
    )
    print(f"revoked role {args.role_id}")


async def users_list(store: EventStore, _: argparse.Namespace) -> None:
    for user in await users.users_of(store.pool, OPERATOR, limit=10_000):
        roles = ", ".join(f"{r['role']}@{r['unit_id'] or '*'} ({r['role_id']})" for r in user.roles)
        name = "(erased)" if user.erased else user.name
        print(f"{user.id}  {name}  {roles or '-'}")


async def users_erase(store: EventStore, args: argparse.Namespace) -> None:
    if not await users.erase_person(store.pool, OPERATOR, _user_id(args.user), datetime.now(UTC)):
        raise CliError(f"no user {args.user}")
    print(f"erased the personal data of {args.user}; tokens revoked; events kept")


async def users_token(store: EventStore, args: argparse.Namespace) -> None:
    user_id = _user_id(args.user)
    _, token, expires_at = await users.new_token(
        store.pool, OPERATOR, user_id, datetime.now(UTC), days=args.days, label="cli"
    )
    print(f"token expires {expires_at:%Y-%m-%d}; it is shown once, on the next line")
    print(token)


async def units_import(store: EventStore, args: argparse.Namespace) -> None:
    path = Path(args.file)
    try:
        body = await asyncio.to_thread(path.read_bytes)
    except OSError as error:
        raise CliError(f"cannot read {path}: {error.strerror}") from None
    csv_format = args.format == "csv" or (args.format is None and path.suffix.lower() == ".csv")
    if csv_format:
        try:
            text = body.decode("utf-8-sig")
        except UnicodeDecodeError:
            raise CliError(f"{path} is not UTF-8 (save the CSV as UTF-8)") from None
        rows = units.rows_from_csv(text)
    else:
        rows = units.rows_from_json(body)
    await _command(store, units.import_handler(rows, OPERATOR))
    print(f"imported {len(rows)} units in one append")


def add_parsers(sub: Any, run: Callable[[Callable[..., Awaitable[None]]], Any]) -> None:
    users_parser = sub.add_parser("users", help="users, roles and tokens")
    users_sub = users_parser.add_subparsers(dest="users_command", required=True)
    add = users_sub.add_parser("add", help="register a user; prints the token on the last line")
    add.add_argument("name")
    add.add_argument("--role", choices=ROLES)
    add.add_argument("--unit", help="unit id, or a short code naming one active unit")
    add.add_argument("--email")
    add.add_argument("--phone")
    add.add_argument("--days", type=int, default=90, help="token lifetime (default 90)")
    add.set_defaults(run=run(users_add))
    grant = users_sub.add_parser("grant", help="grant a role")
    grant.add_argument("user")
    grant.add_argument("--role", choices=ROLES, required=True)
    grant.add_argument("--unit")
    grant.set_defaults(run=run(users_grant))
    revoke = users_sub.add_parser("revoke", help="revoke a role by its id (see list)")
    revoke.add_argument("user")
    revoke.add_argument("role_id")
    revoke.set_defaults(run=run(users_revoke))
    users_sub.add_parser("list", help="users and their roles").set_defaults(run=run(users_list))
    erase = users_sub.add_parser("erase", help="erase a user's personal data (events stay)")
    erase.add_argument("user")
    erase.set_defaults(run=run(users_erase))
    token = users_sub.add_parser("token", help="issue a new token for a user")
    token.add_argument("user")
    token.add_argument("--days", type=int, default=90)
    token.set_defaults(run=run(users_token))

    units_parser = sub.add_parser("units", help="the organisation tree")
    units_sub = units_parser.add_subparsers(dest="units_command", required=True)
    load = units_sub.add_parser("import", help="import a tree (JSON or CSV) in one append")
    load.add_argument("file")
    load.add_argument("--format", choices=("json", "csv"))
    load.set_defaults(run=run(units_import))


def runner(action: Callable[[EventStore, argparse.Namespace], Awaitable[None]]) -> Any:
    """Wrap an admin action: open the store, run, print refusals plainly, exit non-zero."""

    def run(settings: Settings, args: argparse.Namespace) -> int:
        async def main() -> int:
            pool = await create_pool(settings.require_database(), min_size=1, max_size=4)
            store = EventStore(pool)
            try:
                await action(store, args)
            except (CliError, Refused, StaleVersion, Busy) as error:
                code = f"[{error.code}] " if isinstance(error, Refused) else ""
                print(f"error: {code}{error}", file=sys.stderr)
                return 1
            finally:
                await store.close()
                await pool.close()
            return 0

        return asyncio.run(main())

    return run


async def terms_set(store: EventStore, args: argparse.Namespace) -> None:
    from datetime import date

    unit = await _unit_id(store.pool, args.unit)
    try:
        starts, ends = date.fromisoformat(args.starts_on), date.fromisoformat(args.ends_on)
    except ValueError as error:
        raise CliError(f"dates are YYYY-MM-DD: {error}") from None
    if ends <= starts:
        raise CliError("a term ends after it starts")
    label = args.label or f"{starts.year}-{ends.year}"
    try:
        await party_terms.put(store.pool, unit, starts, ends, label)
    except party_terms.TermOverlaps as overlap:
        raise CliError(str(overlap)) from None
    print(f"term {label} of {unit}: {starts} to {ends}")


async def terms_list(store: EventStore, _: argparse.Namespace) -> None:
    rows = await party_terms.listing(store.pool)
    for row in rows:
        print(
            f"{row['unit_id']}  {row['short_code'] or '?'}  {row['label']}  "
            f"{row['starts_on']} to {row['ends_on']}"
        )
    if not rows:
        print("no terms set: every unit uses five-year terms (2020-2025, 2025-2030, ...)")


def add_term_parsers(sub: Any, run: Callable[[Callable[..., Awaitable[None]]], Any]) -> None:
    terms_parser = sub.add_parser("terms", help="Party committee terms that restart numbering")
    terms_sub = terms_parser.add_subparsers(dest="terms_command", required=True)
    setting = terms_sub.add_parser("set", help="set a unit's term (dates YYYY-MM-DD, end excl.)")
    setting.add_argument("unit")
    setting.add_argument("starts_on")
    setting.add_argument("ends_on")
    setting.add_argument("--label")
    setting.set_defaults(run=run(terms_set))
    terms_sub.add_parser("list", help="terms set by operators").set_defaults(run=run(terms_list))
