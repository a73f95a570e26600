"""The catch-up feed for departments: `GET /events`, pages in feed order with the next cursor.

Events go out in their stored shape: `data` is the stored JSON passed through undecoded. JSON
by default, NDJSON (`Accept: application/x-ndjson`) streamed page by page, MessagePack on
`Accept: application/msgpack`. What a reader sees is the read rule (`services.handlers.reach`),
applied in SQL: the events whose `units` tags meet the reader's reach, a draft plan's only for
its issuer's reach.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Annotated, Any, Literal
from uuid import UUID

import msgspec
from litestar import Request, Response, get
from litestar.di import NamedDependency
from litestar.params import QueryParameter
from litestar.response import Stream

from events.envelope import Page
from events.store import EventStore
from events.wire import ndjson, page_json, wire
from projections import unit_directory
from services.api.dependencies import Injected, Pool
from services.handlers.auth import Actor
from services.handlers.reach import feed_scope

NDJSON = "application/x-ndjson"
MSGPACK = "application/msgpack"
STREAM_PAGE = 2000


@get("/events")
async def events_feed(
    request: Request[Any, Any, Any],
    store: Injected[EventStore],
    pool: Injected[Pool],
    actor: NamedDependency[Actor],
    after: Annotated[str | None, QueryParameter(max_length=200)] = None,
    limit: Annotated[int, QueryParameter(ge=1, le=10_000)] = 500,
    types: Annotated[list[str] | None, QueryParameter(name="type", max_items=50)] = None,
    categories: Annotated[list[str] | None, QueryParameter(name="category", max_items=20)] = None,
    streams: Annotated[list[str] | None, QueryParameter(name="stream", max_items=100)] = None,
    plan: Annotated[UUID | None, QueryParameter()] = None,
    units: Annotated[list[UUID] | None, QueryParameter(name="unit", max_items=100)] = None,
    expand: Annotated[
        Literal["units"] | None,
        QueryParameter(
            description="units: a JSON page also gives, under `units`, the name and short code "
            "of every unit its events concern, by id",
        ),
    ] = None,
) -> Response[Any]:
    """Events after a cursor in feed order (only from finished transactions, so paging never
    skips a late commit), with the cursor to continue from; filters combine with AND, values
    of one filter with OR."""
    scope = await feed_scope(pool, actor, units)
    if scope.blind:
        return _empty(request, after)

    async def page(cursor: str | None, size: int, raw: bool = True) -> Page:
        return await store.read_all(
            after=cursor,
            limit=size,
            types=types or (),
            categories=categories or (),
            streams=streams or (),
            plan_id=plan,
            raw=raw,
            **scope.store_filters(),
        )

    accept = request.headers.get("accept", "")
    if NDJSON in accept:
        return _ndjson(await page(after, min(limit, STREAM_PAGE)), page, limit)
    if MSGPACK in accept:
        return _msgpack(await page(after, limit, raw=False))
    found = await page(after, limit)
    body = page_json(found.rows, found.next)
    if expand == "units":
        body = body[:-1] + b',"units":' + msgspec.json.encode(await _units_of(pool, found)) + b"}"
    return Response(body, media_type="application/json", headers={"Vary": "Accept"})


class _Tags(msgspec.Struct):
    units: list[UUID] = []


class _Tagged(msgspec.Struct):
    tags: _Tags


_tagged = msgspec.json.Decoder(_Tagged)


async def _units_of(pool: Pool, found: Page) -> dict[str, dict[str, str]]:
    """The names and short codes of the units a page's events concern, by id."""
    concerned = (u for row in found.rows for u in _tagged.decode(row["line"]).tags.units)
    names = await unit_directory.names_of(pool, concerned)
    return {str(unit_id): named for unit_id, named in names.items()}


def _msgpack(page: Page) -> Response[Any]:
    # MessagePack cannot carry JSON text as it is: the data is decoded to be re-encoded.
    events = [{**wire(e), "data": msgspec.json.decode(e.raw_data)} for e in page.events]
    return Response(
        msgspec.msgpack.encode({"events": events, "next": page.next}),
        media_type=MSGPACK,
        headers={"Vary": "Accept"},
    )


def _empty(request: Request[Any, Any, Any], after: str | None) -> Response[Any]:
    if NDJSON in request.headers.get("accept", ""):
        return Response(b"", media_type=NDJSON, headers={"Vary": "Accept"})
    if MSGPACK in request.headers.get("accept", ""):
        return _msgpack(Page([], after))
    return Response({"events": [], "next": after}, headers={"Vary": "Accept"})


def _ndjson(first: Page, page: Any, limit: int) -> Stream:
    """One event a line, sent page by page as they are read; a consumer continues from the
    last line's `cursor` (from its own `after` when nothing came)."""

    async def lines() -> AsyncIterator[bytes]:
        current, sent = first, 0
        while current.rows:
            sent += len(current.rows)
            more = len(current.rows) == STREAM_PAGE and sent < limit
            # The next page is read while this one goes out.
            following = (
                asyncio.ensure_future(page(current.next, min(STREAM_PAGE, limit - sent)))
                if more
                else None
            )
            try:
                yield ndjson(current.rows)
            except BaseException:
                if following is not None:
                    following.cancel()
                raise
            if following is None:
                return
            current = await following

    return Stream(lines(), media_type=NDJSON, headers={"Vary": "Accept"})


ROUTES = [events_feed]
