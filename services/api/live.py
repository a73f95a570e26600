"""Live events over Server-Sent Events: `GET /events/live`.

Per process, one hub: one LISTEN connection for the store's wake-ups and one shared tail
reader. Each wake-up, new events are read once, encoded once as SSE frames, and offered to the
clients allowed to see them (the read rule of `services.handlers.reach`; the draft status of an
event's plan is looked up while the plan is a draft, and remembered once it is not). A client
catches up from the store first (from `Last-Event-ID` or `after=`), then follows the hub; one
that falls behind (its queue fills) leaves the hub, catches up from the store on its own, and
comes back. A client waiting for events holds no database connection; keep-alive comments flow
while nothing happens.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Annotated
from uuid import UUID

import msgspec
import structlog
from litestar import get
from litestar.datastructures import State
from litestar.di import NamedDependency
from litestar.params import HeaderParameter, QueryParameter
from litestar.response import Stream
from prometheus_client import Counter, Gauge

from events.cursor import Cursor
from events.envelope import RecordedEvent
from events.follow import follow
from events.store import EventStore
from events.wakeup import WakeUpListener
from events.wire import wire
from projections import plan_list
from services.api.dependencies import Injected, Pool
from services.api.fair_use import FairUse, leased
from services.handlers.auth import Actor
from services.handlers.reach import NOTHING, FeedScope, feed_scope

log = structlog.get_logger(__name__)

OPEN = Gauge("campaign_sse_clients", "Open Server-Sent Events clients", multiprocess_mode="livesum")
CATCHING_UP = Gauge(
    "campaign_sse_clients_catching_up",
    "SSE clients reading from the store",
    multiprocess_mode="livesum",
)
SENT = Counter("campaign_sse_events_sent_total", "Events sent to SSE clients")

QUEUE_FRAMES = 1000
KEEP_ALIVE_SECONDS = 15.0
PAGE = 500


def frame(event: RecordedEvent) -> bytes:
    return (
        b"id: " + event.cursor.encode() + b"\ndata: " + msgspec.json.encode(wire(event)) + b"\n\n"
    )


def key(cursor: str) -> tuple[int, int]:
    decoded = Cursor.decode(cursor)
    return decoded.tx_id, decoded.position


@dataclass(frozen=True)
class Filter:
    types: frozenset[str] = frozenset()
    categories: frozenset[str] = frozenset()
    streams: frozenset[str] = frozenset()
    plan: UUID | None = None
    scope: FeedScope = NOTHING  # what the reader may see

    def admits(self, event: RecordedEvent, draft_issuer: UUID | None) -> bool:
        """`draft_issuer`: the issuer of the event's plan when it is a draft now."""
        return (
            (not self.types or event.type in self.types)
            and (not self.categories or event.tags.category in self.categories)
            and (not self.streams or event.stream_id in self.streams)
            and (self.plan is None or event.tags.plan_id == self.plan)
            and self.scope.admits(event.tags.category, event.tags.units, draft_issuer)
        )


@dataclass(eq=False)
class Subscriber:
    filter: Filter
    queue: asyncio.Queue[tuple[tuple[int, int], bytes]] = field(
        default_factory=lambda: asyncio.Queue(QUEUE_FRAMES)
    )
    behind: bool = False


class Hub:
    """The shared tail: reads each new event once and fans its frame out."""

    def __init__(self, store: EventStore, dsn: str | None, poll_seconds: float = 1.0) -> None:
        self.store = store
        self.dsn = dsn
        self.poll_seconds = poll_seconds if dsn else min(poll_seconds, 0.2)
        self.subscribers: set[Subscriber] = set()
        self.head: str | None = None
        self._task: asyncio.Task[None] | None = None
        self._listener: WakeUpListener | None = None
        self._started = asyncio.Event()
        self._not_drafts: set[UUID] = set()  # plans past their draft (none goes back)

    async def start(self) -> None:
        if self._task is not None:
            await self._started.wait()
            return
        self._task = asyncio.create_task(self._run())
        await self._started.wait()

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        if self._listener is not None:
            await self._listener.close()

    def subscribe(self, subscriber: Subscriber) -> str | None:
        """Join the tail; the hub's head then, from which the subscriber gets every frame."""
        self.subscribers.add(subscriber)
        return self.head

    def leave(self, subscriber: Subscriber) -> None:
        self.subscribers.discard(subscriber)

    async def _run(self) -> None:
        if self.dsn:
            self._listener = WakeUpListener(self.dsn)
            await self._listener.start()
        self.head = await self.store.head()
        self._started.set()
        while True:
            try:
                async for event in follow(
                    self.store,
                    after=self.head,
                    listener=self._listener,
                    poll_seconds=self.poll_seconds,
                    batch=PAGE,
                ):
                    draft = await self._draft_issuer(event) if self.subscribers else None
                    self._offer(event, draft)
                    self.head = event.cursor  # with the offer: a subscriber sees one or other
            except Exception as error:  # the database went away: try again shortly
                log.warning("live tail could not read", error=str(error))
                await asyncio.sleep(1.0)

    async def _draft_issuer(self, event: RecordedEvent) -> UUID | None:
        """The issuer of the event's plan while that plan is a draft, as the feed's SQL reads
        it; a plan seen past its draft is remembered, so each is looked up about once."""
        plan_id = event.tags.plan_id
        if plan_id is None or plan_id in self._not_drafts:
            return None
        found = await plan_list.status_and_issuer(self.store.pool, plan_id)
        if found is None or found[0] != "draft":
            if len(self._not_drafts) >= 100_000:
                self._not_drafts.clear()
            self._not_drafts.add(plan_id)
            return None
        return found[1]

    def _offer(self, event: RecordedEvent, draft_issuer: UUID | None) -> None:
        encoded: bytes | None = None
        position = key(event.cursor)
        for subscriber in list(self.subscribers):
            if subscriber.behind or not subscriber.filter.admits(event, draft_issuer):
                continue
            encoded = encoded or frame(event)
            try:
                subscriber.queue.put_nowait((position, encoded))
            except asyncio.QueueFull:
                subscriber.behind = True  # it leaves the tail and catches up on its own
                self.subscribers.discard(subscriber)


def provide_hub(state: State) -> Hub:
    """The `hub` dependency: the process's one hub, made by the application's lifespan (it
    starts following at its first client)."""
    hub: Hub = state.live_hub
    return hub


async def _catch_up(
    store: EventStore, after: str | None, until: str | None, wanted: Filter
) -> AsyncIterator[RecordedEvent]:
    """Events from the store after `after` up to `until` (the hub's head when joining)."""
    limit = key(until) if until else None
    cursor = after
    while limit is None or cursor is None or key(cursor) < limit:
        page = await store.read_all(
            after=cursor,
            limit=PAGE,
            types=sorted(wanted.types),
            categories=sorted(wanted.categories),
            streams=sorted(wanted.streams),
            plan_id=wanted.plan,
            **wanted.scope.store_filters(),
        )
        for event in page.events:
            if limit is not None and key(event.cursor) > limit:
                return
            yield event
        if len(page.events) < PAGE:
            return
        cursor = page.next


@get("/events/live")
async def live_events(
    store: Injected[EventStore],
    pool: Injected[Pool],
    hub: Injected[Hub],
    fair_use: Injected[FairUse],
    actor: NamedDependency[Actor],
    after: Annotated[str | None, QueryParameter(max_length=200)] = None,
    types: Annotated[list[str] | None, QueryParameter(name="type", max_items=50)] = None,
    categories: Annotated[list[str] | None, QueryParameter(name="category", max_items=20)] = None,
    streams: Annotated[list[str] | None, QueryParameter(name="stream", max_items=100)] = None,
    plan: Annotated[UUID | None, QueryParameter()] = None,
    units: Annotated[list[UUID] | None, QueryParameter(name="unit", max_items=100)] = None,
    last_event_id: Annotated[str | None, HeaderParameter(name="Last-Event-ID")] = None,
) -> Stream:
    """Server-Sent Events: catch-up from the cursor first, then live; each event's `id` is its
    cursor, so a client that reconnects with `Last-Event-ID` misses nothing. A user holds at
    most LIVE_CONNECTIONS_PER_USER at once (429 with `Retry-After` beyond)."""
    start = last_event_id or after
    if start is not None:
        key(start)  # a malformed cursor is a 400 problem before the stream opens
        await store.read_all(after=start, limit=1)  # and one from another epoch a 410
    wanted = Filter(
        frozenset(types or ()),
        frozenset(categories or ()),
        frozenset(streams or ()),
        plan,
        await feed_scope(pool, actor, units),
    )
    lease = await fair_use.live(actor.user_id or actor.label)
    try:
        await hub.start()
    except BaseException:
        await lease.release()
        raise
    return Stream(
        leased(lease, _events(store, hub, start, wanted)),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )


async def _events(
    store: EventStore,
    hub: Hub,
    start: str | None,
    wanted: Filter,
) -> AsyncIterator[bytes]:
    OPEN.inc()
    last = start
    subscriber: Subscriber | None = None
    try:
        yield b": connected\n\n"
        if wanted.scope.blind:
            while True:  # nothing this reader may see: keep the line open, quietly
                await asyncio.sleep(KEEP_ALIVE_SECONDS)
                yield b": keep-alive\n\n"
        while True:
            subscriber = Subscriber(wanted)
            head = hub.subscribe(subscriber)
            CATCHING_UP.inc()
            try:
                async for event in _catch_up(store, last, head, wanted):
                    yield frame(event)
                    SENT.inc()
                    last = event.cursor
            finally:
                CATCHING_UP.dec()
            while not subscriber.behind:
                try:
                    async with asyncio.timeout(KEEP_ALIVE_SECONDS):
                        batch = [await subscriber.queue.get()]
                except TimeoutError:
                    yield b": keep-alive\n\n"
                    continue
                # Whatever else is queued goes out in the same write: a busy process sends
                # fewer, larger chunks instead of falling further behind.
                while not subscriber.queue.empty() and len(batch) < 500:
                    batch.append(subscriber.queue.get_nowait())
                floor = key(last) if last is not None else None
                fresh = [(p, e) for p, e in batch if floor is None or p > floor]
                if not fresh:
                    continue  # already sent while catching up
                yield b"".join(e for _, e in fresh)
                SENT.inc(len(fresh))
                last = fresh[-1][1].split(b"\n", 1)[0][4:].decode()
            # Fell behind: drain what is queued, then catch up from the store again.
            while not subscriber.queue.empty():
                position, encoded = subscriber.queue.get_nowait()
                if last is None or position > key(last):
                    yield encoded
                    SENT.inc()
                    last = encoded.split(b"\n", 1)[0][4:].decode()
    finally:
        if subscriber is not None:
            hub.leave(subscriber)
        OPEN.dec()


ROUTES = [live_events]
