"""arq behind one module (it is maintenance-only upstream): connection settings, msgpack
serialisation (ids as arguments, never pickles), enqueueing with deterministic job ids, and
the worker's construction. Nothing else imports arq."""

from __future__ import annotations

import functools
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import msgspec
import structlog
from arq import cron
from arq.connections import ArqRedis, RedisSettings, create_pool
from arq.cron import CronJob
from arq.jobs import Job, JobStatus
from arq.worker import Worker, async_check_health, func

JOB_TIMEOUT = 30
"""Seconds: a crashed worker's job is retried after the longest timeout + 10 s, so keep it short."""
HEALTH_INTERVAL = 30


def logged(coroutine: Any) -> Any:
    """The job with its arq job id bound to every log line it writes (as correlation id)."""

    @functools.wraps(coroutine)
    async def job(ctx: dict[str, Any], *args: Any) -> Any:
        with structlog.contextvars.bound_contextvars(
            job_id=ctx.get("job_id"), correlation_id=ctx.get("job_id")
        ):
            return await coroutine(ctx, *args)

    return job


def serialize(value: dict[str, Any]) -> bytes:
    return msgspec.msgpack.encode(value)


def deserialize(raw: bytes) -> dict[str, Any]:
    value: dict[str, Any] = msgspec.msgpack.decode(raw)
    return value


def settings(redis_url: str) -> RedisSettings:
    return RedisSettings.from_dsn(redis_url)


async def connect(redis_url: str) -> ArqRedis:
    return await create_pool(
        settings(redis_url), job_serializer=serialize, job_deserializer=deserialize
    )


async def enqueue_at(
    redis: ArqRedis, function: str, job_id: str, when: datetime, *args: Any
) -> bool:
    """Enqueue once per job id (a job already queued or kept is not queued again)."""
    job = await redis.enqueue_job(function, *args, _job_id=job_id, _defer_until=when)
    return job is not None


async def enqueue(redis: ArqRedis, function: str, job_id: str, *args: Any) -> bool:
    """Enqueue now, once per job id while the job is queued or running."""
    job = await redis.enqueue_job(function, *args, _job_id=job_id)
    return job is not None


async def finished(redis: ArqRedis, job_id: str) -> bool:
    """Whether the job ran to its end (its result is kept for a minute)."""
    status = await Job(job_id, redis, _deserializer=deserialize).status()
    return status == JobStatus.complete


def health_key(name: str) -> str:
    return f"campaign:worker:{name}:health"


def every(coroutine: Any, seconds: int, *, offset: int = 0) -> CronJob:
    """A cron job run every `seconds` (a divisor of 60) by one worker of the fleet (arq's
    `unique`), at `offset` seconds past each period."""
    if seconds <= 0 or 60 % seconds:
        raise ValueError(f"a period of {seconds} s does not divide a minute")
    marks = {(offset + k * seconds) % 60 for k in range(60 // seconds)}
    return cron(
        logged(coroutine),
        second=marks,
        unique=True,
        timeout=max(1, seconds - 1),
        run_at_startup=True,
    )


def worker(
    redis_url: str,
    name: str,
    functions: Sequence[Any],
    cron_jobs: Sequence[CronJob],
    *,
    on_startup: Any,
    on_shutdown: Any,
    completion_wait: int = 20,
    unkept: Sequence[Any] = (),
) -> Worker:
    """`unkept`: functions whose results are not kept, so that a job id can be queued again as
    soon as its job ended."""
    built = Worker(
        [func(logged(f), timeout=JOB_TIMEOUT, max_tries=5) for f in functions]
        + [func(logged(f), timeout=JOB_TIMEOUT, max_tries=5, keep_result=0) for f in unkept],
        cron_jobs=list(cron_jobs),
        redis_settings=settings(redis_url),
        on_startup=on_startup,
        on_shutdown=on_shutdown,
        job_serializer=serialize,
        job_deserializer=deserialize,
        health_check_key=health_key(name),
        health_check_interval=HEALTH_INTERVAL,
        job_completion_wait=completion_wait,
        keep_result=60,
        max_jobs=20,
        handle_signals=True,
    )
    # Long jobs look at this to hand over what is left once a signal asked the worker to stop.
    built.ctx["stopping"] = lambda: not built.allow_pick_jobs
    return built


async def healthy(redis_url: str, name: str) -> bool:
    """Whether the named worker wrote its health key within the last interval (+ slack)."""
    code: int = await async_check_health(settings(redis_url), health_key(name))
    return code == 0
