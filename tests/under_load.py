"""Run the test suite with the machine loaded, as CI's busy runner is: CPU hogs on every core
and, in another database of the same PostgreSQL cluster, a write transaction held open for the
whole run (the feed's visibility horizon must not depend on it). Repeats the run and stops at
the first failure.

    python -m tests.under_load --runs 3 [--hogs 2] [-- pytest arguments]
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import os
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import asyncpg

from tests.servers import Servers, with_database


def burn() -> None:
    while True:
        pass


@asynccontextmanager
async def open_write_transaction(admin_dsn: str) -> AsyncIterator[None]:
    """A database of its own with a transaction that has written and neither commits nor ends."""
    name = f"cl_load_{uuid.uuid4().hex[:8]}"
    admin = await asyncpg.connect(admin_dsn)
    await admin.execute(f'CREATE DATABASE "{name}"')
    holder = await asyncpg.connect(with_database(admin_dsn, name))
    try:
        await holder.execute("CREATE TABLE held (n int)")
        await holder.execute("BEGIN")
        await holder.execute("INSERT INTO held VALUES (1)")
        yield
    finally:
        await holder.close()
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


async def run(runs: int, hogs: int, pytest_args: list[str]) -> int:
    servers = Servers()
    burners = [multiprocessing.Process(target=burn, daemon=True) for _ in range(hogs)]
    for burner in burners:
        burner.start()
    try:
        async with open_write_transaction(servers.postgres()):
            for number in range(1, runs + 1):
                started = time.monotonic()
                print(f"== run {number}/{runs}: {hogs} CPU hogs, a write transaction held open")
                done = await asyncio.to_thread(
                    subprocess.run, [sys.executable, "-m", "pytest", "-q", *pytest_args]
                )
                seconds = time.monotonic() - started
                print(f"== run {number}/{runs}: exit {done.returncode} in {seconds:.0f} s")
                if done.returncode != 0:
                    return done.returncode
        return 0
    finally:
        for burner in burners:
            burner.kill()
        servers.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--hogs", type=int, default=os.cpu_count() or 2)
    parser.add_argument("pytest_args", nargs="*")
    args = parser.parse_args()
    sys.exit(asyncio.run(run(args.runs, args.hogs, args.pytest_args)))


if __name__ == "__main__":
    main()
