"""`campaign dev`: every role on one machine, on embedded servers when no URL is configured.

The supervisor starts the servers it needs, migrates, runs each role as a child process, and on
Ctrl-C (or SIGTERM, or a role dying) stops the roles, then the servers, leaving no process and
no stale pid, lock or socket file behind. A start after a crash cleans up after the dead run.
"""

from __future__ import annotations

import asyncio
import fcntl
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import IO

import structlog

from services.ops.demo import demo_id
from services.ops.embedded import EmbeddedPostgres, EmbeddedRedis
from services.ops.migrate import migrate_and_rebuild
from services.runtime.config import Settings

log = structlog.get_logger(__name__)

ROLES = {
    "api": ["serve"],
    "projector": ["project"],
    "worker": ["worker", "--name", "dev"],
}
"""Role name -> `campaign` arguments."""
METRICS_OFFSET = {"projector": 1, "worker": 2}
"""The projector and the worker serve probes and metrics on HTTP_PORT + this."""


def _die_with(parent: int) -> Callable[[], None]:
    """Linux: a role gets SIGTERM if the supervisor is killed, so no orphan keeps the port."""

    def arrange() -> None:
        if sys.platform.startswith("linux"):
            import ctypes

            pr_set_pdeathsig = 1
            ctypes.CDLL("libc.so.6", use_errno=True).prctl(pr_set_pdeathsig, signal.SIGTERM)
        if os.getppid() != parent:  # the supervisor died before the signal was arranged
            os._exit(1)

    return arrange


class AlreadyRunning(Exception):
    pass


@dataclass
class Supervisor:
    settings: Settings
    postgres: EmbeddedPostgres | None = None
    redis: EmbeddedRedis | None = None
    children: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)
    lock: IO[str] | None = None

    @property
    def pid_file(self) -> Path:
        return self.settings.data_dir / "dev.pid"

    def claim(self) -> None:
        """Hold an exclusive lock on dev.pid for the whole run: a second `campaign dev` on the
        same data stops at once, and a crashed run's lock dies with it."""
        self.settings.data_dir.mkdir(parents=True, exist_ok=True)
        lock = open(self.pid_file, "a+")  # noqa: SIM115 - held until the run ends
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            lock.seek(0)
            holder = lock.read().strip() or "?"
            lock.close()
            raise AlreadyRunning(f"campaign dev is already running (pid {holder})") from None
        lock.seek(0)
        if lock.read().strip():
            log.warning("cleaning up after a previous run that did not stop")
        lock.seek(0)
        lock.truncate()
        lock.write(f"{os.getpid()}\n")
        lock.flush()
        self.lock = lock

    def start_servers(self) -> tuple[str, str]:
        database_url = self.settings.database_url
        redis_url = self.settings.redis_url
        if database_url is None:
            self.postgres = EmbeddedPostgres(self.settings.data_dir)
            database_url = self.postgres.start()
        if redis_url is None:
            self.redis = EmbeddedRedis(self.settings.data_dir)
            redis_url = self.redis.start()
        return database_url, redis_url

    def start_roles(self, database_url: str, redis_url: str) -> None:
        env = dict(os.environ)
        env.update(
            DATABASE_URL=database_url,
            REDIS_URL=redis_url,
            LOG_FORMAT=self.settings.log_format,
            HTTP_HOST=self.settings.host,
            HTTP_PORT=str(self.settings.port),
        )
        for role, args in ROLES.items():
            role_env = dict(env)
            if role in METRICS_OFFSET:
                role_env["METRICS_PORT"] = str(self.settings.port + METRICS_OFFSET[role])
            self.children[role] = subprocess.Popen(
                [sys.executable, "-m", "services.ops.cli", *args],
                env=role_env,
                start_new_session=True,
                preexec_fn=_die_with(os.getpid()),
            )
            log.info("role started", role=role, pid=self.children[role].pid)

    def stop(self) -> None:
        for role, child in self.children.items():
            if child.poll() is None:
                child.send_signal(signal.SIGTERM)
                log.info("stopping role", role=role, pid=child.pid)
        deadline = time.monotonic() + 15
        for child in self.children.values():
            remaining = max(0.1, deadline - time.monotonic())
            try:
                child.wait(remaining)
            except subprocess.TimeoutExpired:
                child.kill()
                child.wait()
        if self.redis is not None:
            self.redis.stop()
        if self.postgres is not None:
            self.postgres.stop()
        self.pid_file.unlink(missing_ok=True)
        if self.lock is not None:
            self.lock.close()
        log.info("campaign dev stopped")


def _wait_for_stop(supervisor: Supervisor) -> int:
    """Until Ctrl-C or SIGTERM (both raise KeyboardInterrupt here) or a role exits (then 1)."""
    while True:
        for role, child in supervisor.children.items():
            if child.poll() is not None:
                log.error("role exited; stopping everything", role=role, code=child.returncode)
                return 1
        time.sleep(0.5)


async def dev_admin_token(database_url: str, data_dir: Path) -> str:
    """The dev admin's token: made on the first run, kept in DATA_DIR/admin-token (0600)."""
    import events.domain  # noqa: F401 - registers every domain event
    from events.store import EventStore, create_pool
    from projections import user_roles
    from services.handlers import users
    from services.handlers.auth import OPERATOR, hash_token, issue_token
    from services.handlers.command_path import CommandContext, execute

    saved = data_dir / "admin-token"
    pool = await create_pool(database_url, min_size=1, max_size=2)
    store = EventStore(pool)
    try:
        if saved.exists():
            token = saved.read_text().strip()
            if await user_roles.token_is_live(pool, hash_token(token), datetime.now(UTC)):
                return token
        now = datetime.now(UTC)
        user_id = uuid.uuid4()
        await execute(
            store,
            CommandContext(OPERATOR, now),
            users.register_handler(
                user_id,
                users.PersonalData("Quản trị viên (dev)"),
                [("admin", None)],
                OPERATOR,
                now,
            ),
        )
        _, token, _ = await issue_token(pool, user_id, now, days=365, label="campaign dev")
        saved.write_text(token + "\n")
        saved.chmod(0o600)
        return token
    finally:
        await store.close()
        await pool.close()


async def load_demo_once(database_url: str) -> None:
    """The five seed campaigns, so a newcomer sees a real campaign at once (idempotent)."""
    import events.domain  # noqa: F401 - registers every domain event
    from events.store import EventStore, create_pool
    from services.ops.demo import load_demo

    pool = await create_pool(database_url, min_size=1, max_size=2)
    store = EventStore(pool)
    try:
        await load_demo(store)
    finally:
        await store.close()
        await pool.close()


def run_dev(settings: Settings) -> int:
    supervisor = Supervisor(settings)
    try:
        supervisor.claim()
    except AlreadyRunning as error:
        print(str(error), file=sys.stderr)
        return 1
    # SIGTERM acts like Ctrl-C, during start-up too: what was started is stopped.
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    code = 0
    try:
        database_url, redis_url = supervisor.start_servers()
        report = asyncio.run(migrate_and_rebuild(database_url))
        log.info("database ready", applied=report.applied)
        token = asyncio.run(dev_admin_token(database_url, settings.data_dir))
        asyncio.run(load_demo_once(database_url))
        supervisor.start_roles(database_url, redis_url)
        url = f"http://{settings.host}:{settings.port}"
        auth = f'-H "Authorization: Bearer {token}"'
        print(
            f"\nCampaign Ledger is starting at {url}  (Ctrl-C stops everything)\n"
            f"  admin token: {token}\n"
            f"  curl {url}/health/ready\n"
            f"  curl {auth} '{url}/units?q=can%20tho'\n"
            f"  curl {auth} {url}/plans/{demo_id('plan:334')}\n"
            f"  curl {auth} -H 'Content-Type: application/json' "
            f'-d \'{{"name": "Thành ủy Hậu Giang", "short_code": "TUHG", '
            f'"kind": "party_committee"}}\' {url}/units\n'
            f"  curl {url}/metrics   (the API's; the projector's and the worker's: "
            f"http://{settings.host}:{settings.port + 1}/metrics, "
            f"http://{settings.host}:{settings.port + 2}/metrics)\n"
            f"  DATABASE_URL='{database_url}' campaign users list\n",
            flush=True,
        )
        code = _wait_for_stop(supervisor)
    except KeyboardInterrupt:
        pass
    finally:
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        supervisor.stop()
    return code
