"""A PostgreSQL cluster of a test's own, to stop, kill and start again: initdb from the local
binaries (`/usr/local/bin`, else `pg_config --bindir`), a spare TCP port on 127.0.0.1, trust
authentication, data in a temporary folder. Run as root, the server runs as the `postgres`
system user (PostgreSQL refuses root); the folder is handed to it.

    with Cluster.create() as cluster:
        dsn = cluster.dsn("campaign")      # after cluster.create_database("campaign")
        cluster.stop()                     # pg_ctl stop -m fast
        cluster.start()
"""

from __future__ import annotations

import contextlib
import os
import pwd
import shutil
import signal
import subprocess
import tempfile
import time
from pathlib import Path
from types import TracebackType

from tests.servers import spare_port

SUPERUSER = "postgres"
RUN_AS = "postgres"


def bindir() -> Path:
    for candidate in (Path("/usr/local/bin"),):
        if (candidate / "initdb").exists() and (candidate / "pg_ctl").exists():
            return candidate
    found = shutil.which("pg_config")
    if found:
        out = subprocess.run([found, "--bindir"], capture_output=True, text=True, check=True)
        folder = Path(out.stdout.strip())
        if (folder / "initdb").exists():
            return folder
    raise RuntimeError("no PostgreSQL binaries (initdb, pg_ctl) on this machine")


def available() -> bool:
    try:
        bindir()
    except RuntimeError:
        return False
    if os.geteuid() == 0:
        try:
            pwd.getpwnam(RUN_AS)
        except KeyError:
            return False
    return True


class Cluster:
    def __init__(self, folder: Path, port: int) -> None:
        self.folder = folder
        self.pgdata = folder / "pgdata"
        self.log_file = folder / "postgres.log"
        self.port = port
        self.bin = bindir()
        self._user = RUN_AS if os.geteuid() == 0 else None

    @classmethod
    def create(cls, *settings: str) -> Cluster:
        """initdb and start a cluster in a folder of its own (extra `settings`: `name=value`).
        Not under pytest's temporary folder: another pytest session started as the same user
        makes that tree 0700 again, and the server's own user can no longer reach its data."""
        folder = Path(tempfile.mkdtemp(prefix="campaign-pg-"))
        cluster = cls(folder, spare_port())
        cluster._settings = settings
        cluster._initdb()
        cluster.start()
        return cluster

    _settings: tuple[str, ...] = ()

    def __enter__(self) -> Cluster:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.destroy()

    def _run(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[bytes]:
        done = subprocess.run(
            [str(self.bin / args[0]), *args[1:]],
            check=False,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            user=self._user,
            cwd=self.folder,
        )
        if check and done.returncode != 0:
            tail = (
                self.log_file.read_text(errors="replace")[-2000:] if self.log_file.exists() else ""
            )
            raise RuntimeError(
                f"{' '.join(args[:1])} failed ({done.returncode}): "
                f"{done.stdout.decode(errors='replace')}\nserver log:\n{tail}"
            )
        return done

    def _initdb(self) -> None:
        if self._user is not None:
            entry = pwd.getpwnam(self._user)
            for path in (self.folder, *self.folder.parents):
                with contextlib.suppress(OSError):
                    path.chmod(path.stat().st_mode | 0o011)  # let the server's user pass
            os.chown(self.folder, entry.pw_uid, entry.pw_gid)
        self._run(
            "initdb",
            "-D",
            str(self.pgdata),
            "--auth=trust",
            "--encoding=UTF8",
            "--locale=C.UTF-8",
            "--no-sync",
            "-U",
            SUPERUSER,
        )

    def dsn(self, database: str = "postgres") -> str:
        return f"postgresql://{SUPERUSER}@127.0.0.1:{self.port}/{database}"

    def start(self) -> None:
        options = [
            "-h 127.0.0.1",
            f"-p {self.port}",
            f"-k {self.folder}",
            "-c max_connections=100",
            "-c fsync=off",
            "-c synchronous_commit=off",
            "-c full_page_writes=off",
            *(f"-c {setting}" for setting in self._settings),
        ]
        for attempt in (1, 2, 3):
            try:
                self._run(
                    "pg_ctl",
                    "-D",
                    str(self.pgdata),
                    "-l",
                    str(self.log_file),
                    "-o",
                    " ".join(options),
                    "-w",
                    "-t",
                    "60",
                    "start",
                )
                return
            except RuntimeError:
                if attempt == 3 or self.running():
                    raise
                time.sleep(1.0)  # a busy machine: let the last server's traces go, again

    def stop(self, mode: str = "fast") -> None:
        """`pg_ctl stop -m MODE` (fast: every session is cut at once; immediate: a crash)."""
        self._run("pg_ctl", "-D", str(self.pgdata), "-m", mode, "-w", "-t", "60", "stop")

    def running(self) -> bool:
        return self._run("pg_ctl", "-D", str(self.pgdata), "status", check=False).returncode == 0

    def _pid(self) -> int | None:
        try:
            return int((self.pgdata / "postmaster.pid").read_text().splitlines()[0])
        except (OSError, ValueError, IndexError):
            return None

    def destroy(self) -> None:
        if self.running():
            result = self._run(
                "pg_ctl", "-D", str(self.pgdata), "-m", "immediate", "stop", check=False
            )
            pid = self._pid()
            if result.returncode != 0 and pid is not None:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
        shutil.rmtree(self.folder, ignore_errors=True)

    def create_database(self, name: str) -> str:
        """CREATE DATABASE with the `createdb` binary; returns the new database's DSN."""
        createdb = self.bin / "createdb"
        if not createdb.exists():
            createdb = Path(shutil.which("createdb") or "createdb")
        subprocess.run(
            [str(createdb), "-h", "127.0.0.1", "-p", str(self.port), "-U", SUPERUSER, name],
            check=True,
            capture_output=True,
        )
        return self.dsn(name)
