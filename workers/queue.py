"""arq behind one module (it is maintenance-only upstream): connection settings, msgpack
serialisation (ids as arguments, never pickles), enqueueing with deterministic job ids, and
the worker's construction. Nothing else imports arq."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import signal
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

import msgspec
import structlog
from arq import cron
from arq.connections import ArqRedis, RedisSettings, create_pool
from arq.cron import CronJob
from arq.jobs import Job, JobStatus
from arq.worker import Worker, async_check_health, func
from redis.asyncio import Redis

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


async def reachable(redis_url: str, timeout: float = 2.0) -> bool:
    """Whether Redis answers a PING now."""
    client = Redis.from_url(redis_url, socket_connect_timeout=timeout, socket_timeout=timeout)
    try:
        return bool(await client.ping())
    except Exception:  # refused, reset, timed out, loading: not reachable
        return False
    finally:
        await client.aclose()


def tell_on_signals(built: Worker, stopped: Callable[[], None]) -> None:
    """arq's own signal handling (running jobs finish, then the worker stops), `stopped` told
    first: a worker that ends on a signal is not restarted."""
    loop = asyncio.get_running_loop()
    handler = (
        built.handle_sig_wait_for_completion if built._job_completion_wait else built.handle_sig
    )

    def on(signum: signal.Signals) -> None:
        stopped()
        handler(signum)

    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, on, signum)


async def close(built: Worker) -> None:
    """Close the worker; with Redis away, what arq cannot do there is left (its health key
    expires by itself) and its pool is dropped."""
    try:
        await built.close()
    except Exception:
        pool, built._pool = built._pool, None
        if pool is not None:
            with contextlib.suppress(Exception):
                await pool.close(close_connection_pool=True)
