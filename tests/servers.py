"""Where tests find PostgreSQL and Redis.

PostgreSQL: `TEST_DATABASE_URL`, else the local server when it answers (127.0.0.1:5432 as root),
else an embedded one. Tests only ever drop databases they created themselves.

Redis: `TEST_REDIS_URL` names one database the tests may use: they never empty it, each test
deletes only the keys it made. Without it the tests start a redis-server of their own on a spare
port (the embedded one when no redis-server is installed) and empty its databases freely: a
shared Redis on 6379 is never touched."""

from __future__ import annotations

import contextlib
import os
import random
import shutil
import signal
import socket
import subprocess
import tempfile
import time
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


def spare_port() -> int:
    """A free port below the kernel's ephemeral range: while the server is stopped, a client's
    outgoing connection cannot take its number, so the server can always bind it again."""
    low = 32768
    with contextlib.suppress(OSError, ValueError, IndexError):
        low = int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    rng = random.Random()
    for _ in range(200):
        port = rng.randrange(max(1024, low - 12000), low)
        with socket.socket() as probe:
            try:
                probe.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class PrivateRedis:
    """redis-server on a spare port, nothing persisted: killed, it comes back empty."""

    def __init__(self) -> None:
        self.port = spare_port()
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.process = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no", "--maxmemory-policy", "noeviction"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )  # fmt: skip
        deadline = time.monotonic() + 30
        while not reachable("127.0.0.1", self.port):
            if time.monotonic() > deadline or self.process.poll() is not None:
                raise RuntimeError("redis-server did not start")
            time.sleep(0.05)

    def kill(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(timeout=30)
        self.process = None

    def close(self) -> None:
        self.kill()


class Servers:
    def __init__(self) -> None:
        self._embedded_pg: EmbeddedPostgres | None = None
        self._embedded_redis: EmbeddedRedis | None = None
        self._private_redis: PrivateRedis | None = None
        self._redis_url: str | None = None
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

    @property
    def owns_redis(self) -> bool:
        """True when Redis is a server these tests started (theirs to empty)."""
        return not os.environ.get("TEST_REDIS_URL")

    def redis(self) -> str:
        """The given Redis database, else database 0 of a server of the tests' own."""
        if url := os.environ.get("TEST_REDIS_URL"):
            return url
        if self._redis_url is None:
            if shutil.which("redis-server"):
                self._private_redis = PrivateRedis()
                self._private_redis.start()
                self._redis_url = self._private_redis.url
            else:
                self._embedded_redis = EmbeddedRedis(self._data_dir())
                self._redis_url = self._embedded_redis.start()
        return self._redis_url

    def stop(self) -> None:
        if self._private_redis is not None:
            self._private_redis.close()
        if self._embedded_redis is not None:
            self._embedded_redis.stop()
        if self._embedded_pg is not None:
            self._embedded_pg.stop()
        if self._tmp is not None:
            shutil.rmtree(self._tmp, ignore_errors=True)
