"""What names things in the store: stream ids and their category, event ids, the chain heads
known here, the store's epoch and the head of the feed."""

from __future__ import annotations

import os
import re
from typing import Any
from uuid import UUID

import asyncpg
from asyncpg.pgproto.pgproto import UUID as FastUUID

from events.catalog import Catalog
from events.cursor import Cursor

STREAM_ID = re.compile(r"^[a-z][a-z0-9_]*-[A-Za-z0-9._:-]{1,200}$")


def category_of(stream_id: str) -> str:
    return stream_id.split("-", 1)[0]


# -- event ids -------------------------------------------------------------------------------


class _RandomBytes:
    """os.urandom read in blocks: one system call per 256 event ids."""

    def __init__(self, block: int = 4096) -> None:
        self._block = block
        self._buffer = b""
        self._offset = 0

    def take(self, size: int) -> bytes:
        if self._offset + size > len(self._buffer):
            self._buffer = os.urandom(max(self._block, size))
            self._offset = 0
        chunk = self._buffer[self._offset : self._offset + size]
        self._offset += size
        return chunk

    def forget(self) -> None:
        self._buffer, self._offset = b"", 0


_random = _RandomBytes()
# A forked child must not hand out the ids its parent's buffer still holds.
os.register_at_fork(after_in_child=_random.forget)
_VERSION_4 = (0x4000 << 64) | (0x8000 << 48)
_VERSION_MASK = ~(0xF000 << 64) & ~(0xC000 << 48)


def new_event_id() -> UUID:
    """A random (version 4) UUID as asyncpg's UUID type, a fast subclass of uuid.UUID."""
    value = (int.from_bytes(_random.take(16)) & _VERSION_MASK) | _VERSION_4
    return FastUUID(value.to_bytes(16))


def new_event_ids(count: int) -> list[UUID]:
    return [new_event_id() for _ in range(count)]


# -- stream heads ----------------------------------------------------------------------------


class StreamHeads:
    """The chain hash of streams at versions seen here, so an append can chain its events in
    the application. Events never change, so a remembered (version, hash) pair stays true; only
    the newest pair of each stream is kept, for at most `limit` streams."""

    def __init__(self, limit: int = 100_000) -> None:
        self._heads: dict[str, tuple[int, bytes]] = {}
        self._limit = limit

    def known(self, stream_id: str, version: int) -> bytes | bool | None:
        """The hash of `stream_id` at `version` if known here; None for a new stream (version
        0); False when not known."""
        if version == 0:
            return None
        known = self._heads.get(stream_id)
        return known[1] if known is not None and known[0] == version else False

    def remember(self, stream_id: str, version: int, digest: bytes) -> None:
        self._heads.pop(stream_id, None)
        self._heads[stream_id] = (version, digest)
        if len(self._heads) > self._limit:
            self._heads.pop(next(iter(self._heads)))

    def forget(self, stream_id: str) -> None:
        self._heads.pop(stream_id, None)


# -- the store's identity --------------------------------------------------------------------


class StoreBase:
    """What every part of the store shares: the pool, the catalogue, the epoch in force and the
    stream heads known here. `EventStore` sets them."""

    pool: asyncpg.Pool[Any]
    catalog: Catalog
    _epoch: str | None
    _heads: StreamHeads

    async def epoch(self, *, refresh: bool = False) -> str:
        if self._epoch is None or refresh:
            self._epoch = await self.pool.fetchval(
                "SELECT token FROM store_epochs ORDER BY id DESC LIMIT 1"
            )
        assert self._epoch is not None
        return self._epoch

    async def epoch_needed(self) -> str | None:
        """Why a new store epoch must be opened before serving (the store was restored or
        copied: `campaign migrate` opens it), or None."""
        reason: str | None = await self.pool.fetchval("SELECT store_epoch_needed()")
        return reason

    async def ping(self) -> None:
        """A round trip to the database (readiness probes)."""
        await self.pool.fetchval("SELECT 1")

    async def head(self) -> str | None:
        """The cursor of the last visible event, or None for an empty store."""
        epoch = await self.epoch()
        row = await self.pool.fetchrow(
            "SELECT tx_id, position FROM events WHERE tx_id < store_visible_horizon() "
            "ORDER BY tx_id DESC, position DESC LIMIT 1"
        )
        return Cursor(epoch, row["tx_id"], row["position"]).encode() if row else None
