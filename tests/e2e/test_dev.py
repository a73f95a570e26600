"""`campaign dev` on a machine with nothing configured: embedded servers, a ready API, and
nothing left behind after Ctrl-C, even when the previous run was killed."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import psutil
import pytest

pytestmark = pytest.mark.slow


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def start_dev(data_dir: Path, port: int) -> subprocess.Popen[bytes]:
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")}
    env.update(DATA_DIR=str(data_dir), HTTP_PORT=str(port), LOG_FORMAT="console")
    return subprocess.Popen(
        [sys.executable, "-m", "services.cli", "dev"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def wait_ready(port: int, process: subprocess.Popen[bytes], seconds: float = 120) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        assert process.poll() is None, "campaign dev exited before it was ready"
        try:
            if httpx.get(f"http://127.0.0.1:{port}/health/ready", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    raise AssertionError(f"not ready within {seconds} s")


def port_answers(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) == 0


def leftovers(data_dir: Path, pids: list[int]) -> list[str]:
    found = []
    for pid in pids:
        if psutil.pid_exists(pid) and psutil.Process(pid).status() != psutil.STATUS_ZOMBIE:
            found.append(f"process {pid}")
    for proc in psutil.process_iter(["pid", "cmdline"]):
        if any(str(data_dir) in part for part in proc.info["cmdline"] or []):
            found.append(f"process {proc.info['pid']}: {' '.join(proc.info['cmdline'])}")
    for stale in (
        "dev.pid",
        "postgres/postmaster.pid",
        "redis/redis.pid",
        "run/redis.sock",
        "run/.s.PGSQL.5432",
    ):
        if (data_dir / stale).exists():
            found.append(f"file {stale}")
    return found


def family(pid: int) -> list[int]:
    return [child.pid for child in psutil.Process(pid).children(recursive=True)]


def ctrl_c_leaves_nothing(dev: subprocess.Popen[bytes], data_dir: Path) -> None:
    """Interrupt a ready `campaign dev` and check that it, its roles and servers are gone."""
    pids = [dev.pid, *family(dev.pid)]
    dev.send_signal(signal.SIGINT)
    assert dev.wait(timeout=60) == 0
    deadline = time.monotonic() + 20
    while leftovers(data_dir, pids) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert leftovers(data_dir, pids) == []


def test_dev_serves_on_embedded_servers_and_stops_cleanly_on_ctrl_c(tmp_path: Path) -> None:
    data_dir, port = tmp_path / "data", free_port()
    dev = start_dev(data_dir, port)
    try:
        wait_ready(port, dev)
        ctrl_c_leaves_nothing(dev, data_dir)
        assert (data_dir / "postgres" / "PG_VERSION").exists(), "data is kept across runs"
    finally:
        if dev.poll() is None:
            dev.kill()


def test_a_start_after_a_killed_run_cleans_up_and_serves(tmp_path: Path) -> None:
    data_dir, port = tmp_path / "data", free_port()
    crashed = start_dev(data_dir, port)
    wait_ready(port, crashed)
    crashed.kill()  # SIGKILL: no clean-up ran; the servers it started are still up
    crashed.wait(timeout=10)
    deadline = time.monotonic() + 20  # its API notices the supervisor died and exits
    while port_answers(port) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not port_answers(port)

    again = start_dev(data_dir, port)
    try:
        wait_ready(port, again)
        ctrl_c_leaves_nothing(again, data_dir)
    finally:
        if again.poll() is None:
            again.kill()


def test_a_second_dev_on_the_same_data_refuses_to_start(tmp_path: Path) -> None:
    data_dir, port = tmp_path / "data", free_port()
    first = start_dev(data_dir, port)
    try:
        wait_ready(port, first)
        env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")}
        env.update(DATA_DIR=str(data_dir), HTTP_PORT=str(free_port()))
        second = subprocess.run(
            [sys.executable, "-m", "services.cli", "dev"],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert second.returncode == 1
        assert "already running" in second.stderr
        assert httpx.get(f"http://127.0.0.1:{port}/health/ready", timeout=5).status_code == 200
        ctrl_c_leaves_nothing(first, data_dir)
    finally:
        if first.poll() is None:
            first.kill()
