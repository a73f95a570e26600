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
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

import asyncpg
import httpx
import structlog
from prometheus_client import Counter

from events.errors import CursorFromAnotherEpoch
from events.store import EventStore
from events.wakeup import WakeUpListener
from events.wire import page_json
from services import subscriptions
from services.auth import actor_of
from services.config import Settings
from services.domain.delivery import (
    Advance,
    Delivered,
    Failed,
    Park,
    RetryLater,
    RetryPolicy,
    after_attempt,
)
from services.reach import shown_units
from services.webhooks import AllowList, TargetRefused, resolve_and_check, signature
from workers import queue

log = structlog.get_logger(__name__)

JOB = "deliver_webhooks"
JOB_BUDGET = 10.0
"""Seconds a job keeps delivering pages before handing over to a fresh job."""
SWEEP_SECONDS = 2.0
"""The dispatcher looks for due subscriptions at least this often, wake-ups or not."""
MIN_DISPATCH_INTERVAL = 0.1
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
        """Longer than any job can hold it: its budget plus one more POST and some slack."""
        return JOB_BUDGET + self.timeout + 5.0

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


def job_id(subscription_id: UUID, claims: int) -> str:
    return f"webhook:{subscription_id}:{claims}"


# -- the subscription's delivery state -------------------------------------------------------

_CLAIM = """
UPDATE subscriptions
SET lease_token = $2, lease_until = now() + make_interval(secs => $3), attempts = attempts + 1
WHERE subscription_id = $1 AND status = 'active' AND next_attempt_at <= now()
  AND (lease_until IS NULL OR lease_until < now())
RETURNING owner_user_id, url, secret, types, categories, streams, plan_id, units, cursor,
          failures, attempts
"""

_ADVANCE = """
UPDATE subscriptions
SET cursor = $3, delivered = delivered + $4, failures = 0, next_attempt_at = '-infinity',
    last_attempt_at = now(), last_delivered_at = now(), last_error = NULL,
    lease_until = now() + make_interval(secs => $5)
WHERE subscription_id = $1 AND lease_token = $2
"""

_RETRY_LATER = """
UPDATE subscriptions
SET failures = $3, next_attempt_at = now() + make_interval(secs => $4), last_error = $5,
    last_attempt_at = now(), lease_token = NULL, lease_until = NULL
WHERE subscription_id = $1 AND lease_token = $2
RETURNING next_attempt_at, attempts
"""

_RELEASE = """
UPDATE subscriptions SET lease_token = NULL, lease_until = NULL
WHERE subscription_id = $1 AND lease_token = $2
RETURNING attempts
"""

_DUE = """
SELECT subscription_id, attempts FROM subscriptions
WHERE status = 'active' AND next_attempt_at <= now()
  AND (lease_until IS NULL OR lease_until < now())
"""


# -- one attempt -------------------------------------------------------------------------------


async def post(
    client: httpx.AsyncClient,
    config: DeliveryConfig,
    subscription_id: UUID,
    url: str,
    secret: str,
    body: bytes,
    events: int,
    next_cursor: str,
) -> Delivered | Failed:
    """POST one signed batch; what the receiver's answer means for the cursor."""
    try:
        await resolve_and_check(url, config.allowed)
    except TargetRefused as refused:
        return Failed(f"target refused: {refused}", curable=False)
    headers = {
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        "Campaign-Signature": signature(secret.encode(), int(time.time()), body),
        "Campaign-Subscription": str(subscription_id),
        "Campaign-Delivery": str(uuid.uuid4()),
    }
    try:
        async with client.stream("POST", url, content=body, headers=headers) as response:
            status = response.status_code
            if 200 <= status < 300:
                return Delivered(next_cursor, events)
            if 300 <= status < 400:
                where = response.headers.get("location", "")[:200]
                return Failed(f"answered {status} (redirect to {where!r} not followed)")
            told = b""
            async for chunk in response.aiter_bytes():
                told += chunk
                if len(told) >= 300:
                    break
            said = told[:300].decode("utf-8", "replace").strip()
            return Failed(f"answered {status}" + (f": {said}" if said else ""))
    except httpx.TimeoutException:
        return Failed(f"no answer within {config.timeout:g} s")
    except httpx.HTTPError as error:
        return Failed(f"could not deliver: {type(error).__name__}: {error}"[:500])


async def deliver(
    store: EventStore,
    client: httpx.AsyncClient,
    config: DeliveryConfig,
    subscription_id: UUID,
    stopping: Callable[[], bool] = lambda: False,
) -> tuple[int, int | None]:
    """Deliver what is due for one subscription: (events delivered, claim count to queue the
    next job under when more is waiting now, else None). Pages follow one another until the
    job's budget is spent or the worker is `stopping`; then the rest is handed to a new job."""
    pool = store.pool
    token = uuid.uuid4()
    row = await pool.fetchrow(_CLAIM, subscription_id, token, config.lease_seconds)
    if row is None:
        return 0, None
    started = time.monotonic()
    cursor, failures, delivered = row["cursor"], row["failures"], 0
    released = False
    try:
        while True:
            owner = await actor_of(pool, row["owner_user_id"])
            shown = await shown_units(pool, owner, list(row["units"])) if owner else []
            result: Delivered | Failed
            events = 0
            if owner is None:
                result = Failed("the owner's account no longer exists", curable=False)
            elif shown == []:
                return delivered, None  # the owner may see nothing (any more)
            else:
                try:
                    page = await store.read_all(
                        after=cursor,
                        limit=config.batch,
                        types=row["types"],
                        categories=row["categories"],
                        streams=row["streams"],
                        plan_id=row["plan_id"],
                        units=shown or (),
                        raw=True,
                    )
                except CursorFromAnotherEpoch:
                    result = Failed(
                        "the cursor is from before the store was restored: reset the subscription",
                        curable=False,
                    )
                else:
                    if not page.rows:
                        return delivered, None
                    events = len(page.rows)
                    assert page.next is not None
                    body = page_json(page.rows, page.epoch, page.next)
                    result = await post(
                        client,
                        config,
                        subscription_id,
                        row["url"],
                        row["secret"],
                        body,
                        events,
                        page.next,
                    )
            decided = after_attempt(config.policy, failures, result, random.random())
            match decided:
                case Advance():
                    moved = await pool.execute(
                        _ADVANCE,
                        subscription_id,
                        token,
                        decided.cursor,
                        decided.events,
                        config.lease_seconds,
                    )
                    if moved != "UPDATE 1":
                        return delivered, None  # reset meanwhile: the new cursor stands
                    DELIVERIES.labels("delivered").inc()
                    EVENTS_DELIVERED.inc(decided.events)
                    cursor, failures = decided.cursor, 0
                    delivered += decided.events
                    if events < config.batch:
                        return delivered, None
                    if time.monotonic() - started > JOB_BUDGET or stopping():
                        claims = await pool.fetchval(_RELEASE, subscription_id, token)
                        released = True
                        return delivered, claims
                case RetryLater():
                    DELIVERIES.labels("failed").inc()
                    log.info(
                        "webhook delivery failed; will retry",
                        subscription=str(subscription_id),
                        failures=decided.failures,
                        reason=decided.reason,
                    )
                    await pool.fetchrow(
                        _RETRY_LATER,
                        subscription_id,
                        token,
                        decided.failures,
                        decided.delay,
                        decided.reason,
                    )
                    released = True
                    return delivered, None
                case Park():
                    DELIVERIES.labels("parked").inc()
                    log.warning(
                        "webhook subscription parked",
                        subscription=str(subscription_id),
                        failures=decided.failures,
                        reason=decided.reason,
                    )
                    await subscriptions.park(
                        store,
                        subscription_id,
                        decided.failures,
                        decided.reason,
                        cursor,
                        datetime.now(UTC),
                    )
                    return delivered, None
    finally:
        if not released:
            with contextlib.suppress(asyncpg.PostgresError, OSError):
                await pool.execute(_RELEASE, subscription_id, token)


# -- the arq side ------------------------------------------------------------------------------


async def deliver_webhooks(ctx: dict[str, Any], subscription_id: str) -> int:
    subscription = UUID(subscription_id)
    with structlog.contextvars.bound_contextvars(
        job_id=ctx.get("job_id"), correlation_id=ctx.get("job_id"), subscription=subscription_id
    ):
        delivered, more = await deliver(
            ctx["store"],
            ctx["webhook_client"],
            ctx["webhook_config"],
            subscription,
            ctx.get("stopping", lambda: False),
        )
    if more is not None:
        await queue.enqueue(ctx["redis"], JOB, job_id(subscription, more), subscription_id)
    return delivered


async def dispatch(pool: asyncpg.Pool[Any], redis: Any) -> int:
    """Queue a delivery job for every active subscription that is due and not leased."""
    rows = await pool.fetch(_DUE)
    queued = 0
    for row in rows:
        queued += await queue.enqueue(
            redis,
            JOB,
            job_id(row["subscription_id"], row["attempts"]),
            str(row["subscription_id"]),
        )
    return queued


async def dispatcher(store: EventStore, redis: Any, listener: WakeUpListener) -> None:
    while True:
        ticket = listener.ticket()
        try:
            await dispatch(store.pool, redis)
            await subscriptions.measure(store)
        except (asyncpg.PostgresError, OSError) as error:
            log.warning("webhook dispatch failed; retrying", error=str(error))
        await listener.wait(ticket, SWEEP_SECONDS)
        await asyncio.sleep(MIN_DISPATCH_INTERVAL)


async def start(ctx: dict[str, Any], database_url: str, config: DeliveryConfig) -> None:
    ctx["webhook_config"] = config
    ctx["webhook_client"] = httpx.AsyncClient(
        follow_redirects=False,
        timeout=httpx.Timeout(config.timeout),
        limits=httpx.Limits(max_connections=100, max_keepalive_connections=20),
        trust_env=False,
    )
    listener = WakeUpListener(database_url)
    await listener.start()
    ctx["webhook_listener"] = listener
    ctx["webhook_dispatcher"] = asyncio.get_running_loop().create_task(
        dispatcher(ctx["store"], ctx["redis"], listener)
    )


async def stop(ctx: dict[str, Any]) -> None:
    task = ctx.get("webhook_dispatcher")
    if task is not None:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
    if "webhook_listener" in ctx:
        await ctx["webhook_listener"].close()
    if "webhook_client" in ctx:
        await ctx["webhook_client"].aclose()
