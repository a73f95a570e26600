"""Numbered plain .sql migrations, applied in order under an advisory lock, each recorded once.

A migration that has landed is never edited: its checksum is recorded, and a changed file
stops `campaign migrate` rather than leaving the schema in doubt.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from importlib import resources
from typing import Any

import asyncpg
import structlog

log = structlog.get_logger(__name__)

_LOCK_KEY = 7_346_190_254  # any constant shared by every `campaign migrate`
_NAME = re.compile(r"^(\d{4})_([a-z0-9_]+)\.sql$")
_REBUILD = re.compile(r"^-- rebuild: ([a-z_]+)\s*$", re.MULTILINE)


class MigrationError(Exception):
    pass


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    sql: str

    @property
    def checksum(self) -> str:
        return hashlib.sha256(self.sql.encode()).hexdigest()


def available() -> list[Migration]:
    found = []
    for entry in resources.files("events.migrations").iterdir():
        match = _NAME.match(entry.name)
        if match:
            found.append(Migration(int(match[1]), match[2], entry.read_text(encoding="utf-8")))
    found.sort(key=lambda m: m.version)
    versions = [m.version for m in found]
    if len(set(versions)) != len(versions):
        raise MigrationError(f"two migrations share a number: {versions}")
    return found


@dataclass(frozen=True)
class MigrationReport:
    applied: list[str]
    new_epoch_reason: str | None
    rebuilds: list[str] = field(default_factory=list)
    """Read models that applied migrations ask to be rebuilt (`-- rebuild: NAME` lines): a new
    read model table starts empty, and only the events can fill it."""

    @property
    def new_epoch(self) -> bool:
        return self.new_epoch_reason is not None


async def migrate(dsn: str) -> MigrationReport:
    connection: asyncpg.Connection[Any] = await asyncpg.connect(dsn)
    try:
        await connection.execute("SELECT pg_advisory_lock($1)", _LOCK_KEY)
        try:
            return await _migrate_locked(connection)
        finally:
            await connection.execute("SELECT pg_advisory_unlock($1)", _LOCK_KEY)
    finally:
        await connection.close()


async def _migrate_locked(connection: asyncpg.Connection[Any]) -> MigrationReport:
    await connection.execute(
        """CREATE TABLE IF NOT EXISTS schema_migrations (
               version    integer PRIMARY KEY,
               name       text NOT NULL,
               checksum   text NOT NULL,
               applied_at timestamptz NOT NULL DEFAULT now())"""
    )
    done = {
        row["version"]: row
        for row in await connection.fetch("SELECT version, name, checksum FROM schema_migrations")
    }
    applied: list[str] = []
    rebuilds: list[str] = []
    for migration in available():
        landed = done.get(migration.version)
        if landed is not None:
            if landed["checksum"] != migration.checksum:
                raise MigrationError(
                    f"migration {migration.version:04d}_{migration.name} was edited after it "
                    "was applied; add a new migration instead"
                )
            continue
        async with connection.transaction():
            await connection.execute(migration.sql)
            await connection.execute(
                "INSERT INTO schema_migrations (version, name, checksum) VALUES ($1, $2, $3)",
                migration.version,
                migration.name,
                migration.checksum,
            )
        label = f"{migration.version:04d}_{migration.name}"
        log.info("migration applied", migration=label)
        applied.append(label)
        rebuilds.extend(r for r in _REBUILD.findall(migration.sql) if r not in rebuilds)
    reason = await connection.fetchval("SELECT store_open_epoch_if_needed()")
    if reason is not None:
        log.warning("opened a new store epoch; old cursors now answer 410", reason=reason)
    return MigrationReport(applied, reason, rebuilds)
