"""Instants a client sends, in a body or a query string: with an offset, always."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import overload

from services.api.problems import Problem


@overload
def aware(moment: datetime, name: str) -> datetime: ...
@overload
def aware(moment: datetime | None, name: str) -> datetime | None: ...
def aware(moment: datetime | None, name: str) -> datetime | None:
    """The instant as sent, if it has an offset (422 `naive-time` otherwise): the one check
    for every time a request carries."""
    if moment is not None and moment.tzinfo is None:
        raise Problem(
            422,
            "naive-time",
            "Time without an offset",
            f"{name} needs an offset, such as 2022-10-16T00:00:00+07:00",
        )
    return moment


def instant(moment: datetime | None, name: str) -> datetime | None:
    """A query-string instant: with an offset and within range (422 otherwise)."""
    if aware(moment, name) is None:
        return None
    assert moment is not None
    try:
        moment.astimezone(UTC)
    except OverflowError:
        raise Problem(
            422, "invalid-time", "Time out of range", f"{moment} is out of range"
        ) from None
    return moment
