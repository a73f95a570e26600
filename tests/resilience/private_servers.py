"""A PostgreSQL cluster and a redis-server of a test's own, on spare ports, that the test may
stop, kill and restart without disturbing anyone else's (the shared servers of tests/servers.py
stay up)."""

from __future__ import annotations

from tests.resilience.cluster import Cluster
from tests.servers import PrivateRedis

__all__ = ["PrivatePostgres", "PrivateRedis", "migrated"]


class PrivatePostgres:
    """A cluster of the test's own (`tests/resilience/cluster.py`, started), and the URL of its
    `postgres` database."""

    def __init__(self) -> None:
        self.cluster = Cluster.create()

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


def migrated(server: PrivatePostgres) -> str:
    """The cluster migrated (as `campaign migrate` does); its URL."""
    import asyncio

    from services.ops.migrate import migrate_and_rebuild

    server.start()
    asyncio.run(migrate_and_rebuild(server.url))
    return server.url
