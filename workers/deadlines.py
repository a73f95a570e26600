"""The deadline engine's worker: PostgreSQL says what must happen, Redis only when.

- `schedule_due_steps` (once a minute, one worker of the fleet): every pending step due within
  the next few minutes becomes an arq job deferred to its instant, with a deterministic id
  (task, schedule version, step), so enqueueing twice queues it once.
- `deadline_step` (the job): the step handler (`services.handlers.deadlines.perform_step`)
  re-reads the task and records the step if it still applies, under a deterministic
  idempotency key.
- `reconcile` (once a minute): performs due steps not yet recorded, whatever happened to their
  jobs (Redis lost, a job expired, a worker killed): a step is late by a minute at most.
"""

from __future__ import annotations

import asyncio
import time
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

import asyncpg
import structlog
from prometheus_client import Counter, Histogram

import events.domain  # noqa: F401 - registers every domain event
from events.store import EventStore
from projections import deadline_steps
from services.handlers.deadlines import perform_step
from workers import queue

log = structlog.get_logger(__name__)

LOOKAHEAD = timedelta(minutes=5)
GRACE = timedelta(seconds=20)
"""A due step is left to its job for this long before the reconciler performs it."""
RECONCILE_BATCH = 2000
RECONCILE_CONCURRENCY = 8

JOBS = Counter("campaign_worker_jobs_total", "Jobs run by the worker", ["job", "outcome"])
STEPS = Counter(
    "campaign_deadline_steps_total",
    "Deadline steps handled, by how they ended",
    ["action", "outcome"],
)
STEP_SECONDS = Histogram("campaign_deadline_step_seconds", "Time to handle one deadline step")


def job_id(assignment_id: UUID, schedule_version: int, step: str) -> str:
    return f"deadline-step:{assignment_id}:{schedule_version}:{step}"


async def handle(
    store: EventStore, assignment_id: UUID, schedule_version: int, step: str, now: datetime
) -> int:
    """One step: the number of events recorded by this call (0 or 1)."""
    started = time.perf_counter()
    answer = await perform_step(store, assignment_id, schedule_version, step, now)
    STEP_SECONDS.observe(time.perf_counter() - started)
    STEPS.labels("step", "recorded" if answer.events else "nothing").inc()
    return len(answer.events)


async def schedule_due_steps(ctx: dict[str, Any]) -> int:
    """Queue the steps due within LOOKAHEAD, each deferred to its instant (older ones are
    the reconciler's)."""
    now: datetime = ctx["clock"]()
    limit = asyncio.Semaphore(64)  # a wave of 10,000 steps is queued in about a second

    async def one(row: asyncpg.Record) -> bool:
        async with limit:
            return await queue.enqueue_at(
                ctx["redis"],
                "deadline_step",
                job_id(row["assignment_id"], row["schedule_version"], row["step"]),
                max(row["at"], now),
                str(row["assignment_id"]),
                row["schedule_version"],
                row["step"],
            )

    rows = await deadline_steps.pending(ctx["pool"], now + LOOKAHEAD, 100_000, since=now - GRACE)
    queued = sum(await asyncio.gather(*(one(row) for row in rows)))
    JOBS.labels("schedule_due_steps", "ok").inc()
    if queued:
        log.info("deadline steps queued", queued=queued)
    return queued


async def deadline_step(
    ctx: dict[str, Any], assignment_id: str, schedule_version: int, step: str
) -> int:
    try:
        recorded = await handle(
            ctx["store"], UUID(assignment_id), schedule_version, step, ctx["clock"]()
        )
    except Exception:
        JOBS.labels("deadline_step", "failed").inc()
        raise
    JOBS.labels("deadline_step", "ok").inc()
    return recorded


async def reconcile(ctx: dict[str, Any], grace: timedelta = GRACE) -> int:
    """Perform every step due for more than `grace` and still pending (without Redis, the
    worker's fallback performs them as they fall due: `grace` 0)."""
    store: EventStore = ctx["store"]
    now: datetime = ctx["clock"]()
    rows = await deadline_steps.pending(store.pool, now - grace, RECONCILE_BATCH)
    limit = asyncio.Semaphore(RECONCILE_CONCURRENCY)

    async def one(row: asyncpg.Record) -> int:
        async with limit:
            return await handle(
                store, row["assignment_id"], row["schedule_version"], row["step"], now
            )

    recorded = sum(await asyncio.gather(*(one(r) for r in rows)))
    JOBS.labels("reconcile", "ok").inc()
    if rows:
        log.info("reconciled due deadline steps", due=len(rows), recorded=recorded)
    return recorded
