"""Where tests find PostgreSQL and Redis: TEST_DATABASE_URL / TEST_REDIS_URL, else the local
servers when they answer (127.0.0.1:5432 as root, 127.0.0.1:6379), else embedded ones."""

from __future__ import annotations

import os
import socket
import tempfile
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from services.ops.embedded import EmbeddedPostgres, EmbeddedRedis


def reachable(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=0.5):
            return True
    except OSError:
        return False


def with_database(dsn: str, name: str) -> str:
    parts = urlsplit(dsn)
    return urlunsplit((parts.scheme, parts.netloc, "/" + name, parts.query, parts.fragment))


class Servers:
    def __init__(self) -> None:
        self._embedded_pg: EmbeddedPostgres | None = None
        self._embedded_redis: EmbeddedRedis | None = None
        self._tmp: Path | None = None

    def _data_dir(self) -> Path:
        if self._tmp is None:
            self._tmp = Path(tempfile.mkdtemp(prefix="campaign-test-"))
        return self._tmp

    def postgres(self) -> str:
        if url := os.environ.get("TEST_DATABASE_URL"):
            return url
        if reachable("127.0.0.1", 5432):
            return "postgresql://root@127.0.0.1:5432/postgres"
        self._embedded_pg = EmbeddedPostgres(self._data_dir())
        return self._embedded_pg.start()

    def redis(self) -> str:
        if url := os.environ.get("TEST_REDIS_URL"):
            return url
        if reachable("127.0.0.1", 6379):
            return "redis://127.0.0.1:6379/0"
        self._embedded_redis = EmbeddedRedis(self._data_dir())
        return self._embedded_redis.start()

    def stop(self) -> None:
        if self._embedded_redis is not None:
            self._embedded_redis.stop()
        if self._embedded_pg is not None:
            self._embedded_pg.stop()
