"""Webhook delivery: batches of events in feed order, signed, POSTed to each subscription's URL.

- `deliver_webhooks` (the arq job, one subscription): takes the subscription's lease in
  PostgreSQL (one delivery in flight per subscription, whichever worker runs it), reads the
  next page of what the owner may see after the subscription's cursor, POSTs it, and moves the
  cursor only after a 2xx; pages follow one another for a few seconds, then the job hands over
  to a fresh one. A failure is retried after an exponential, jittered delay; after
  WEBHOOK_MAX_FAILURES in a row the subscription is parked (an event, with the reason).
- The dispatcher (a task in every worker process): on each wake-up of the store, and every
  few seconds regardless, queues a job for every active subscription that is due and not
  leased. Job ids carry the subscription's claim count, so two dispatchers queue it once.

At least once: a worker killed mid-delivery leaves the cursor where it was; the lease runs out
and the batch goes again. Receivers de-duplicate by `event_id`.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

import asyncpg
import httpx
import structlog
from prometheus_client import Counter

from events.cursor import Cursor
from events.envelope import Page
from events.errors import CursorFromAnotherEpoch, InvalidCursor
from events.store import EventStore
from events.wakeup import WakeUpListener
from events.wire import page_json
from projections import subscriptions as subscription_rows
from services.domain.delivery import (
    Advance,
    Delivered,
    Failed,
    Park,
    RetryLater,
    RetryPolicy,
    after_attempt,
    answered,
    no_answer,
)
from services.handlers import subscriptions
from services.handlers.webhooks import (
    AllowList,
    TargetRefused,
    TargetUnresolved,
    resolve_and_check,
    signature,
)
from services.runtime.config import Settings
from workers import queue

log = structlog.get_logger(__name__)

JOB = "deliver_webhooks"
JOB_BUDGET = 10.0
"""Seconds a job keeps delivering pages before handing over to a fresh job."""
SWEEP_SECONDS = 2.0
"""The dispatcher looks for due subscriptions at least this often, wake-ups or not."""
MIN_DISPATCH_INTERVAL = 0.1
RECONFIRM_SECONDS = 1.0
"""A POST more than this long after the lease was last confirmed renews it first."""
USER_AGENT = "campaign-ledger-webhooks/1"

DELIVERIES = Counter(
    "campaign_webhook_deliveries_total", "Webhook delivery attempts, by outcome", ["outcome"]
)
EVENTS_DELIVERED = Counter(
    "campaign_webhook_events_delivered_total", "Events delivered to webhooks (2xx answers)"
)


@dataclass(frozen=True)
class DeliveryConfig:
    allowed: AllowList
    policy: RetryPolicy
    timeout: float
    batch: int

    @property
    def lease_seconds(self) -> float:
        """Confirmed before each POST: longer than one POST (its whole timeout) and the reads
        around it."""
        return self.timeout + 10.0

    @classmethod
    def from_settings(cls, settings: Settings) -> DeliveryConfig:
        return cls(
            AllowList.parse(settings.webhook_allowed_targets),
            RetryPolicy(
                settings.webhook_backoff_seconds,
                settings.webhook_backoff_max_seconds,
                settings.webhook_max_failures,
            ),
            settings.webhook_timeout_seconds,
            settings.webhook_batch,
        )


class Clients:
    """HTTP clients for deliveries, one per receiver (scheme, host name, port). A delivery
    connects to an address it checked, so a pooled connection is known by that address: kept
    apart per name, a connection made (and its certificate checked) for one name is never
    reused for another name that happens to share the address."""

    def __init__(self, timeout: float) -> None:
        self.timeout = timeout
        self._clients: dict[tuple[str, str, int | None], httpx.AsyncClient] = {}

    def for_target(self, target: httpx.URL) -> httpx.AsyncClient:
        key = (target.scheme, target.host, target.port)
        client = self._clients.get(key)
        if client is None:
            client = httpx.AsyncClient(
                follow_redirects=False,
                timeout=httpx.Timeout(self.timeout),
                limits=httpx.Limits(max_connections=10, max_keepalive_connections=2),
                trust_env=False,
            )
            self._clients[key] = client
        return client

    async def aclose(self) -> None:
        clients, self._clients = list(self._clients.values()), {}
        for client in clients:
            await client.aclose()

    async def __aenter__(self) -> Clients:
        return self

    async def __aexit__(self, *_: object) -> None:
        await self.aclose()


def job_id(subscription_id: UUID, claims: int) -> str:
    return f"webhook:{subscription_id}:{claims}"


# -- one attempt -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Batch:
    """One page of a subscription's events, encoded, to be signed and POSTed."""

    subscription_id: UUID
    url: str
    secret: str
    body: bytes
    events: int
    next_cursor: str


async def post(clients: Clients, config: DeliveryConfig, batch: Batch) -> Delivered | Failed:
    """POST one signed batch, within WEBHOOK_TIMEOUT_SECONDS in all (resolving the host,
    connecting, sending, reading the answer); what the answer means for the cursor."""
    try:
        async with asyncio.timeout(config.timeout) as deadline:
            return await _post(clients, config, batch, deadline)
    except TimeoutError:
        log.info("webhook delivery got no answer in time", subscription=str(batch.subscription_id))
        return Failed(no_answer(config.timeout))
    except Exception:  # whatever went wrong, it is this attempt's failure
        log.exception("webhook delivery failed unexpectedly")
        return Failed(no_answer(config.timeout))


async def _post(
    clients: Clients, config: DeliveryConfig, batch: Batch, deadline: asyncio.Timeout
) -> Delivered | Failed:
    try:
        addresses = await resolve_and_check(batch.url, config.allowed)
        target = httpx.URL(batch.url)
    except TargetUnresolved as unresolved:
        return Failed(str(unresolved))
    except TargetRefused as refused:
        return Failed(f"target refused: {refused}", curable=False)
    except httpx.InvalidURL as invalid:
        return Failed(f"target refused: {invalid}", curable=False)
    headers = {
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        "Campaign-Signature": signature(batch.secret.encode(), int(time.time()), batch.body),
        "Campaign-Subscription": str(batch.subscription_id),
        "Campaign-Delivery": str(uuid.uuid4()),
        # The connection goes to an address checked above, never to what the name resolves
        # to a moment later; the Host header and TLS (SNI, certificate) keep the name.
        "Host": target.netloc.decode("ascii"),
    }
    extensions = (
        {"sni_hostname": target.raw_host.decode("ascii")} if target.scheme == "https" else {}
    )
    # IPv4 first (an IPv6 route that drops packets is common), each address a share of the
    # time to connect, the next one tried when one cannot be reached.
    ordered = sorted(addresses, key=lambda a: a.version)
    timeout = httpx.Timeout(config.timeout, connect=max(1.0, config.timeout / (len(ordered) + 1)))
    client = clients.for_target(target)
    failed: Failed | None = None
    for address in ordered:
        try:
            async with client.stream(
                "POST",
                target.copy_with(host=str(address)),
                content=batch.body,
                headers=headers,
                extensions=extensions,
                timeout=timeout,
            ) as response:
                # The answer is in: its status stands, whatever reading its body takes.
                deadline.reschedule(None)
                return await _answer(response, batch.events, batch.next_cursor)
        except (httpx.ConnectError, httpx.ConnectTimeout) as error:
            # The cause (refused, unreachable, TLS) is for the operator's log, not the owner.
            _transport_failure(batch, error)
            failed = Failed(no_answer(config.timeout))
        except (httpx.HTTPError, httpx.InvalidURL) as error:
            _transport_failure(batch, error)
            return Failed(no_answer(config.timeout))
    assert failed is not None
    return failed


DRAIN_LIMIT = 64 * 1024
"""Bytes of an answer's body read (and dropped) so that its connection can be reused."""
DRAIN_SECONDS = 1.0


async def _drain(response: httpx.Response) -> None:
    """Read a short answer to its end, within a second; a long, slow or broken one is left
    (its connection is closed), and the answer's status stands either way."""
    read = 0
    with contextlib.suppress(httpx.HTTPError, TimeoutError):
        async with asyncio.timeout(DRAIN_SECONDS):
            async for chunk in response.aiter_raw():
                read += len(chunk)
                if read > DRAIN_LIMIT:
                    return


def _transport_failure(batch: Batch, error: Exception) -> None:
    log.info(
        "webhook delivery got no HTTP answer",
        subscription=str(batch.subscription_id),
        error=type(error).__name__,
    )


async def _answer(response: httpx.Response, events: int, next_cursor: str) -> Delivered | Failed:
    """The answer's status decides; its body and headers are the receiver's and are not kept.
    A short body is read to its end so that the connection is kept for the next batch (httpx
    closes a connection whose answer was left unread); a longer one is not read further and its
    connection is closed."""
    status = response.status_code
    await _drain(response)
    if 200 <= status < 300:
        return Delivered(next_cursor, events)
    return Failed(answered(status))


async def deliver(
    store: EventStore,
    clients: Clients,
    config: DeliveryConfig,
    subscription_id: UUID,
    stopping: Callable[[], bool] = lambda: False,
) -> tuple[int, int | None]:
    """Deliver what is due for one subscription: (events delivered, claim count to queue the
    next job under when more is waiting now, else None). Pages follow one another until the
    job's budget is spent or the worker is `stopping`; then the rest is handed to a new job.
    Each POST follows a statement that confirmed the lease: the claim, the advance past the
    batch before (which also tells whether the owner paused meanwhile), or a renewal when that
    was more than RECONFIRM_SECONDS ago. So a delivery stops within one batch of a pause or
    reset, and at most one POST is in flight per subscription."""
    pool = store.pool
    token = uuid.uuid4()
    row = await subscription_rows.claim(pool, subscription_id, token, config.lease_seconds)
    if row is None:
        return 0, None
    started = time.monotonic()
    cursor, failures, delivered = row["cursor"], row["failures"], 0
    confirmed: float | None = time.monotonic()
    eyes: subscriptions.Eyes | None = None
    ahead = Ahead()
    try:
        while True:
            try:
                if eyes is None:  # whose eyes the job reads with, looked up once per job
                    eyes = await subscriptions.eyes_of(pool, row)
                attempt = await _attempt(
                    store,
                    clients,
                    config,
                    subscription_id,
                    row,
                    cursor,
                    token,
                    eyes,
                    ahead,
                    confirmed,
                )
            except (asyncpg.PostgresError, OSError, asyncpg.InterfaceError) as error:
                # Not the receiver's fault: try again after the first backoff, failures kept.
                log.warning("webhook delivery could not read its events", error=str(error))
                with contextlib.suppress(asyncpg.PostgresError, OSError, asyncpg.InterfaceError):
                    await subscription_rows.retry_later(
                        pool,
                        subscription_id,
                        token,
                        failures,
                        config.policy.base_seconds,
                        f"could not read the events to send: {type(error).__name__}",
                    )
                return delivered, None
            if attempt is None:
                return delivered, None  # nothing more to send, or the lease is no longer ours
            result, events = attempt
            decided = after_attempt(config.policy, failures, result, random.random())
            match decided:
                case Advance():
                    active = await subscription_rows.advance(
                        pool,
                        subscription_id,
                        token,
                        decided.cursor,
                        decided.events,
                        config.lease_seconds,
                    )
                    if active is None:
                        return delivered, None  # reset meanwhile: the new cursor stands
                    confirmed = time.monotonic() if active else None
                    DELIVERIES.labels("delivered").inc()
                    EVENTS_DELIVERED.inc(decided.events)
                    cursor, failures = decided.cursor, 0
                    delivered += decided.events
                    if events < config.batch:
                        return delivered, None
                    if time.monotonic() - started > JOB_BUDGET or stopping():
                        claims = await subscription_rows.release(pool, subscription_id, token)
                        return delivered, claims
                case RetryLater():
                    DELIVERIES.labels("failed").inc()
                    log.info(
                        "webhook delivery failed; will retry",
                        failures=decided.failures,
                        reason=decided.reason,
                        retry_in=round(decided.delay, 2),
                    )
                    await subscription_rows.retry_later(
                        pool,
                        subscription_id,
                        token,
                        decided.failures,
                        decided.delay,
                        decided.reason,
                    )
                    return delivered, None
                case Park():
                    log.warning(
                        "webhook subscription parked",
                        failures=decided.failures,
                        reason=decided.reason,
                    )
                    with contextlib.suppress(subscriptions.LeaseLost):
                        await subscriptions.park(
                            store,
                            subscription_id,
                            decided.failures,
                            decided.reason,
                            cursor,
                            datetime.now(UTC),
                            lease_token=token,
                        )
                        DELIVERIES.labels("parked").inc()
                    return delivered, None
    finally:
        await ahead.drop()
        with contextlib.suppress(asyncpg.PostgresError, OSError, asyncpg.InterfaceError):
            await subscription_rows.release(pool, subscription_id, token)


class Ahead:
    """The page after the one in flight, read while the receiver answers: a subscription that
    is behind gets its next POST without waiting for the database. Used only if the delivery
    advanced to exactly where it starts."""

    def __init__(self) -> None:
        self.after: str | None = None
        self.task: asyncio.Future[Page] | None = None

    def start(self, after: str, read: Awaitable[Page]) -> None:
        self.after, self.task = after, asyncio.ensure_future(read)

    async def page(self, after: str | None, read: Callable[[], Awaitable[Page]]) -> Page:
        task, self.task = self.task, None
        if task is not None and self.after == after:
            return await task
        if task is not None:
            await _cancelled(task)
        return await read()

    async def drop(self) -> None:
        task, self.task = self.task, None
        if task is not None:
            await _cancelled(task)


async def _cancelled(task: asyncio.Future[Page]) -> None:
    """Cancel the read ahead and wait for it to end, without taking its error (nobody needs
    the page) and without swallowing a cancellation of the caller."""
    task.cancel()
    await asyncio.wait({task})
    if not task.cancelled():
        task.exception()


async def _attempt(
    store: EventStore,
    clients: Clients,
    config: DeliveryConfig,
    subscription_id: UUID,
    row: asyncpg.Record,
    cursor: str | None,
    token: uuid.UUID,
    eyes: subscriptions.Eyes,
    ahead: Ahead,
    confirmed: float | None,
) -> tuple[Delivered | Failed, int] | None:
    """Send the next page after `cursor`: what came of it and how many events it held; None
    when there is nothing to send or the lease was lost (paused, reset, taken over). The lease
    is renewed first unless it was confirmed (`confirmed`, a monotonic time) a moment before,
    judged once the page is in hand. A full page has the one
    after it read while it is sent (`ahead`)."""
    pool = store.pool
    if eyes.owner is None:
        return Failed("the owner's account no longer exists", curable=False), 0
    if eyes.scope.blind:
        failed = "the owner may no longer read the events this subscription asks for"
        return Failed(failed, curable=False), 0
    filters = eyes.filters(row)

    def read(after: str | None) -> Awaitable[Page]:
        return store.read_all(after=after, limit=config.batch, raw=True, **filters)

    try:
        page = await ahead.page(cursor, lambda: read(cursor))
    except CursorFromAnotherEpoch:
        failed = "the cursor is from before the store was restored: reset the subscription"
        return Failed(failed, curable=False), 0
    if not page.rows:
        if page.scanned is not None and _through(page.scanned, cursor, beyond=True):
            # Nothing for this subscription up to the horizon: no need to look there again.
            await subscription_rows.skip(pool, subscription_id, token, page.scanned)
        return None
    fresh = confirmed is not None and time.monotonic() - confirmed < RECONFIRM_SECONDS
    if not fresh and not await subscription_rows.renew(
        pool, subscription_id, token, config.lease_seconds
    ):
        return None
    assert page.next is not None
    batch = Batch(
        subscription_id,
        row["url"],
        row["secret"],
        page_json(page.rows, page.next),
        len(page.rows),
        page.next,
    )
    if len(page.rows) == config.batch:
        ahead.start(page.next, read(page.next))
    return await post(clients, config, batch), batch.events


# -- the arq side ------------------------------------------------------------------------------


async def deliver_webhooks(ctx: dict[str, Any], subscription_id: str) -> int:
    subscription = UUID(subscription_id)
    with structlog.contextvars.bound_contextvars(subscription=subscription_id):
        delivered, more = await deliver(
            ctx["store"],
            ctx["webhook_clients"],
            ctx["webhook_config"],
            subscription,
            ctx.get("stopping", lambda: False),
        )
    if more is not None:
        await queue.enqueue(ctx["redis"], JOB, job_id(subscription, more), subscription_id)
    return delivered


async def dispatch(store: EventStore, redis: Any) -> int:
    """Queue a delivery job for every active subscription that is due, not leased, and not
    already delivered through the feed's head."""
    head = await store.head()
    queued = 0
    for row in await subscription_rows.due(store.pool):
        if head is None or _through(row["cursor"], head):
            continue
        queued += await queue.enqueue(
            redis,
            JOB,
            job_id(row["subscription_id"], row["attempts"]),
            str(row["subscription_id"]),
        )
    return queued


async def deliver_due(
    store: EventStore,
    clients: Clients,
    config: DeliveryConfig,
    stopping: Callable[[], bool] = lambda: False,
) -> int:
    """Without Redis (the worker's fallback): deliver, in this process, what `dispatch` would
    queue; the lease in PostgreSQL keeps one POST in flight per subscription, whichever worker
    delivers. The events delivered."""
    head = await store.head()
    if head is None:
        return 0
    due = [
        row["subscription_id"]
        for row in await subscription_rows.due(store.pool)
        if not _through(row["cursor"], head)
    ]
    results = await asyncio.gather(
        *(deliver(store, clients, config, subscription, stopping) for subscription in due)
    )
    return sum(delivered for delivered, _ in results)


def _through(cursor: str | None, mark: str | None, *, beyond: bool = False) -> bool:
    """Whether `cursor` is at (or, with `beyond`, strictly past) `mark` in the feed, in one
    epoch; no cursor is before everything, no mark the beginning."""
    if cursor is None:
        return False
    if mark is None:
        return True
    try:
        mine, other = Cursor.decode(cursor), Cursor.decode(mark)
    except InvalidCursor:
        return False
    if mine.epoch != other.epoch:
        return False
    key, mark_key = (mine.tx_id, mine.position), (other.tx_id, other.position)
    return key > mark_key if beyond else key >= mark_key


async def dispatcher(store: EventStore, redis: Any, listener: WakeUpListener) -> None:
    """On each wake-up, and every SWEEP_SECONDS regardless, until cancelled; an error (Redis or
    PostgreSQL away) is logged and the next round tries again."""
    while True:
        ticket = listener.ticket()
        try:
            await dispatch(store, redis)
        except Exception as error:  # the loop must outlive any one failure
            log.warning(
                "webhook dispatch failed; retrying", error=f"{type(error).__name__}: {error}"
            )
        await listener.wait(ticket, SWEEP_SECONDS)
        await asyncio.sleep(MIN_DISPATCH_INTERVAL)


async def start(ctx: dict[str, Any], database_url: str, config: DeliveryConfig) -> None:
    ctx["webhook_config"] = config
    ctx["webhook_clients"] = Clients(config.timeout)
    listener = WakeUpListener(database_url)
    await listener.start()
    ctx["webhook_listener"] = listener
    loop = asyncio.get_running_loop()
    ctx["webhook_tasks"] = [
        loop.create_task(dispatcher(ctx["store"], ctx["redis"], listener)),
    ]


def running(ctx: dict[str, Any]) -> bool:
    """Whether the dispatcher still runs (part of the worker's readiness)."""
    return all(not task.done() for task in ctx.get("webhook_tasks", []))


async def stop(ctx: dict[str, Any]) -> None:
    for task in ctx.get("webhook_tasks", []):
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
    if "webhook_listener" in ctx:
        await ctx["webhook_listener"].close()
    if "webhook_clients" in ctx:
        await ctx["webhook_clients"].aclose()
