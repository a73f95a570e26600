"""The working-day calendar's tables (`calendar_versions`, `calendar_days`): the current
version stored once by `campaign migrate`, and a stored version loaded back. The calendar itself
and its arithmetic are pure: `services/domain/calendar.py`."""

from __future__ import annotations

from datetime import date
from typing import Any

from services.domain import calendar
from services.domain.calendar import Calendar, CalendarDay


async def store_current(connection: Any) -> str | None:
    """Store the current version's days unless stored already; the version if it was new."""
    version, rows = calendar.materialise()
    async with connection.transaction():
        created = await connection.fetchval(
            "INSERT INTO calendar_versions (version, first_day, last_day) VALUES ($1, $2, $3) "
            "ON CONFLICT DO NOTHING RETURNING version",
            version,
            date(calendar.FIRST_YEAR, 1, 1),
            date(calendar.LAST_YEAR, 12, 31),
        )
        if created is None:
            return None
        await connection.copy_records_to_table(
            "calendar_days",
            records=[(version, r.day, r.working, r.reason) for r in rows],
            columns=("version", "day", "working", "reason"),
        )
    return version


async def latest_version(connection: Any) -> str:
    version: str | None = await connection.fetchval(
        "SELECT version FROM calendar_versions ORDER BY loaded_at DESC, version DESC LIMIT 1"
    )
    if version is None:
        raise LookupError("no working-day calendar is stored: run `campaign migrate`")
    return version


async def load(connection: Any, version: str | None = None) -> Calendar:
    """A stored version, the latest loaded when none is named."""
    if version is None:
        version = await latest_version(connection)
    rows = await connection.fetch(
        "SELECT day, working, reason FROM calendar_days WHERE version = $1", version
    )
    if not rows and not await connection.fetchval(
        "SELECT 1 FROM calendar_versions WHERE version = $1", version
    ):
        raise LookupError(f"calendar version {version} is not stored")
    return calendar.from_rows(
        version, [CalendarDay(r["day"], r["working"], r["reason"]) for r in rows]
    )
