"""Fair use: how many commands a token may send a minute, and how many live connections
(`GET /events/live`) a user may hold at once. Both are counted where every API process sees
them, in Redis when REDIS_URL is set (else in this process only), and answered with 429
`too-many-requests` and `Retry-After` beyond the limit.

Commands are counted in fixed windows of a minute per token (the key is a prefix of the token's
sha256, never the token). Live connections are leases per user, each renewed while its stream
flows (a keep-alive at least every 15 s) and expiring `LEASE_SECONDS` after the last renewal,
so a process that dies leaves no connection counted for long. When Redis cannot be reached the
limits are not enforced (logged): fair use never takes the API down.
"""

from __future__ import annotations

import math
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any, Protocol
from uuid import UUID

import anyio
import structlog
from redis.asyncio import Redis
from redis.exceptions import RedisError

from services.api.problems import Problem
from services.runtime.config import Settings

log = structlog.get_logger(__name__)

WINDOW_SECONDS = 60
LEASE_SECONDS = 60.0
RENEW_SECONDS = 15.0
LIVE_RETRY_AFTER_SECONDS = 15
PREFIX = "campaign:fair-use:"

_HIT = """
local n = redis.call('INCR', KEYS[1])
local ttl = redis.call('PTTL', KEYS[1])
if ttl < 0 then
  redis.call('PEXPIRE', KEYS[1], ARGV[1])
  ttl = tonumber(ARGV[1])
end
return {n, ttl}
"""

_ACQUIRE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[1]) then
  return 0
end
redis.call('ZADD', KEYS[1], now + tonumber(ARGV[2]), ARGV[3])
redis.call('PEXPIRE', KEYS[1], tonumber(ARGV[2]) * 2)
return 1
"""

_RENEW = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('ZADD', KEYS[1], 'XX', now + tonumber(ARGV[1]), ARGV[2])
redis.call('PEXPIRE', KEYS[1], tonumber(ARGV[1]) * 2)
return 1
"""


class Counters(Protocol):
    async def hit(self, key: str, window_ms: int) -> tuple[int, int]:
        """Count one more in `key`'s window: (count in the window, milliseconds it has left)."""

    async def acquire(self, key: str, limit: int, member: str, lease_ms: int) -> bool:
        """Take one of `limit` leases on `key` for `member` (False: all taken)."""

    async def renew(self, key: str, member: str, lease_ms: int) -> None: ...

    async def release(self, key: str, member: str) -> None: ...

    async def close(self) -> None: ...


@dataclass
class LocalCounters:
    """This process's counts (no REDIS_URL: one API process)."""

    windows: dict[str, tuple[int, float]] = field(default_factory=dict)
    leases: dict[str, dict[str, float]] = field(default_factory=dict)

    async def hit(self, key: str, window_ms: int) -> tuple[int, int]:
        now = time.monotonic()
        count, ends = self.windows.get(key, (0, 0.0))
        if ends <= now:
            count, ends = 0, now + window_ms / 1000
            self._forget_ended(now)
        self.windows[key] = (count + 1, ends)
        return count + 1, math.ceil((ends - now) * 1000)

    def _forget_ended(self, now: float) -> None:
        if len(self.windows) > 10_000:
            self.windows = {k: v for k, v in self.windows.items() if v[1] > now}

    async def acquire(self, key: str, limit: int, member: str, lease_ms: int) -> bool:
        now = time.monotonic()
        held = {m: t for m, t in self.leases.get(key, {}).items() if t > now}
        if len(held) >= limit:
            self.leases[key] = held
            return False
        held[member] = now + lease_ms / 1000
        self.leases[key] = held
        return True

    async def renew(self, key: str, member: str, lease_ms: int) -> None:
        held = self.leases.get(key, {})
        if member in held:
            held[member] = time.monotonic() + lease_ms / 1000

    async def release(self, key: str, member: str) -> None:
        held = self.leases.get(key, {})
        held.pop(member, None)
        if not held:
            self.leases.pop(key, None)

    async def close(self) -> None:
        return None


class RedisCounters:
    """Counts every API process shares; each operation is one script, atomic in Redis."""

    def __init__(self, url: str) -> None:
        self.redis: Redis = Redis.from_url(url, socket_timeout=2.0, socket_connect_timeout=2.0)
        self._hit = self.redis.register_script(_HIT)
        self._acquire = self.redis.register_script(_ACQUIRE)
        self._renew = self.redis.register_script(_RENEW)

    async def hit(self, key: str, window_ms: int) -> tuple[int, int]:
        count, left = await self._hit(keys=[key], args=[window_ms])
        return int(count), int(left)

    async def acquire(self, key: str, limit: int, member: str, lease_ms: int) -> bool:
        return bool(await self._acquire(keys=[key], args=[limit, lease_ms, member]))

    async def renew(self, key: str, member: str, lease_ms: int) -> None:
        await self._renew(keys=[key], args=[lease_ms, member])

    async def release(self, key: str, member: str) -> None:
        await self.redis.zrem(key, member)

    async def close(self) -> None:
        await self.redis.aclose()


def too_many(detail: str, retry_after: int) -> Problem:
    return Problem(
        429,
        "too-many-requests",
        "Too many requests",
        detail,
        headers={"Retry-After": str(retry_after)},
    )


class FairUse:
    def __init__(self, settings: Settings, counters: Counters | None = None) -> None:
        self.commands_per_minute = settings.commands_per_minute
        self.live_per_user = settings.live_connections_per_user
        self.counters: Counters = counters or (
            RedisCounters(settings.redis_url) if settings.redis_url else LocalCounters()
        )

    async def close(self) -> None:
        await self.counters.close()

    async def command(self, token_hash: bytes) -> None:
        """Count a command of the token; 429 beyond COMMANDS_PER_MINUTE in the window."""
        if not self.commands_per_minute:
            return
        key = f"{PREFIX}commands:{token_hash.hex()[:32]}"
        try:
            count, left_ms = await self.counters.hit(key, WINDOW_SECONDS * 1000)
        except (RedisError, OSError) as error:
            log.warning("command rate not counted", error=f"{type(error).__name__}: {error}")
            return
        if count > self.commands_per_minute:
            raise too_many(
                f"at most {self.commands_per_minute} commands a minute per token",
                max(1, math.ceil(left_ms / 1000)),
            )

    async def live(self, user: UUID | str) -> Lease:
        """A lease on one of the user's LIVE_CONNECTIONS_PER_USER live connections; 429 when all
        are held."""
        lease = Lease(self.counters, f"{PREFIX}live:{user}", uuid.uuid4().hex)
        try:
            taken = await self.counters.acquire(
                lease.key, self.live_per_user, lease.member, int(LEASE_SECONDS * 1000)
            )
        except (RedisError, OSError) as error:
            log.warning("live connection not counted", error=f"{type(error).__name__}: {error}")
            lease.counted = False
            return lease
        if not taken:
            raise too_many(
                f"at most {self.live_per_user} live connections per user at once",
                LIVE_RETRY_AFTER_SECONDS,
            )
        return lease


@dataclass
class Lease:
    counters: Counters
    key: str
    member: str
    counted: bool = True
    renewed: float = field(default_factory=time.monotonic)

    async def renew_if_due(self) -> None:
        if not self.counted or time.monotonic() - self.renewed < RENEW_SECONDS:
            return
        self.renewed = time.monotonic()
        try:
            await self.counters.renew(self.key, self.member, int(LEASE_SECONDS * 1000))
        except (RedisError, OSError) as error:
            log.warning("live connection not renewed", error=f"{type(error).__name__}: {error}")

    async def release(self) -> None:
        if not self.counted:
            return
        self.counted = False
        try:
            await self.counters.release(self.key, self.member)
        except (RedisError, OSError) as error:
            log.warning("live connection not released", error=f"{type(error).__name__}: {error}")


async def leased(lease: Lease, stream: AsyncIterator[bytes]) -> AsyncIterator[bytes]:
    """The stream, renewing its lease as it flows and releasing it when it ends."""
    try:
        async for chunk in stream:
            yield chunk
            await lease.renew_if_due()
    finally:
        # A client that goes away cancels the response's task group (level-triggered, in
        # anyio): without a shield, the release's I/O would be cancelled too.
        with anyio.CancelScope(shield=True):
            try:
                aclose: Any = getattr(stream, "aclose", None)
                if aclose is not None:
                    await aclose()
            finally:
                await lease.release()
