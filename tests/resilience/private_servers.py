"""A PostgreSQL cluster and a redis-server of a test's own, on spare ports, that the test may
stop, kill and restart without disturbing anyone else's (the shared servers of tests/servers.py
stay up)."""

from __future__ import annotations

import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path

from tests.resilience.cluster import Cluster, spare_port


def answers(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return True
    except OSError:
        return False


class PrivatePostgres:
    """A cluster of the test's own (`tests/resilience/cluster.py`, started), and the URL of its
    `postgres` database."""

    def __init__(self) -> None:
        self.root = Path(tempfile.mkdtemp(prefix="campaign-pg-"))
        self.cluster = Cluster.create(self.root)

    @property
    def url(self) -> str:
        return self.cluster.dsn()

    def start(self) -> None:
        if not self.cluster.running():
            self.cluster.start()

    def stop(self, mode: str = "fast") -> None:
        """`fast` ends every session (as an operator's restart does), `immediate` is a crash."""
        self.cluster.stop(mode)

    def running(self) -> bool:
        return self.cluster.running()

    def close(self) -> None:
        self.cluster.destroy()
        shutil.rmtree(self.root, ignore_errors=True)


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
        while not answers(self.port):
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


def migrated(server: PrivatePostgres) -> str:
    """The cluster migrated (as `campaign migrate` does); its URL."""
    import asyncio

    from services.ops.migrate import migrate_and_rebuild

    server.start()
    asyncio.run(migrate_and_rebuild(server.url))
    return server.url
