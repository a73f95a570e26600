"""`campaign dev` on a machine with nothing configured: embedded servers, a ready API, and
nothing left behind after Ctrl-C, even when the previous run was killed."""

from __future__ import annotations

import contextlib
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

from services.ops.demo import demo_id

pytestmark = pytest.mark.slow


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def free_port_with_neighbours() -> int:
    """A free port whose next two are free too (the dev projector's and worker's probes)."""
    for _ in range(50):
        port = free_port()
        if port < 65000 and not any(port_answers(port + n) for n in (1, 2)):
            with socket.socket() as one, socket.socket() as two:
                try:
                    one.bind(("127.0.0.1", port + 1))
                    two.bind(("127.0.0.1", port + 2))
                except OSError:
                    continue
            return port
    raise AssertionError("no three free ports in a row")


LOGS: dict[int, Path] = {}
"""Each `campaign dev` process's output, by pid."""


def start_dev(data_dir: Path, port: int) -> subprocess.Popen[bytes]:
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")}
    env.update(DATA_DIR=str(data_dir), HTTP_PORT=str(port), LOG_FORMAT="console")
    data_dir.parent.mkdir(parents=True, exist_ok=True)
    log = data_dir.parent / "dev.log"
    with log.open("ab") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "services.ops.cli", "dev"],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    LOGS[process.pid] = log  # shown when it fails
    return process


def wait_ready(port: int, process: subprocess.Popen[bytes], seconds: float = 120) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            said = LOGS[process.pid].read_text(errors="replace")[-4000:]
            raise AssertionError(f"campaign dev exited before it was ready:\n{said}")
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


def metric(text: str, name: str) -> float:
    """The sum of a metric's samples in a Prometheus scrape."""
    return sum(
        float(line.rsplit(" ", 1)[1])
        for line in text.splitlines()
        if line.startswith(name) and line[len(name)] in " {"
    )


def test_dev_runs_every_role_on_embedded_servers_keeps_its_data_and_stops_cleanly(
    tmp_path: Path,
) -> None:
    data_dir, port = tmp_path / "data", free_port_with_neighbours()
    base = f"http://127.0.0.1:{port}"
    plan = "/plans/" + str(demo_id("plan:334"))
    dev = start_dev(data_dir, port)
    try:
        wait_ready(port, dev)
        auth = {"Authorization": f"Bearer {(data_dir / 'admin-token').read_text().strip()}"}
        # The demo is readable over HTTP.
        shown = httpx.get(base + plan, headers=auth, timeout=10)
        assert shown.status_code == 200 and shown.json()["issued"]["number"] == "334-KH/CB"
        created = httpx.post(
            base + "/units",
            headers=auth,
            json={"name": "Chi bộ Hậu Giang", "short_code": "CBHG", "kind": "party_cell"},
            timeout=10,
        )
        assert created.status_code == 201
        # The worker records the deadline steps the demo left due (misses, escalations).
        deadline = time.monotonic() + 90
        while True:
            steps = httpx.get(
                base + "/events",
                headers=auth,
                params={"type": ["DeadlineMissed", "EscalationRaised"], "limit": 1000},
                timeout=10,
            ).json()["events"]
            if steps or time.monotonic() > deadline:
                break
            time.sleep(0.5)
        assert steps and {e["metadata"]["actor"]["user"] for e in steps} == {"deadline-worker"}
        # A scrape of each role: appends, jobs and deadline steps above zero, a lag gauge.
        api = httpx.get(base + "/metrics", timeout=10).text
        projector = httpx.get(f"http://127.0.0.1:{port + 1}/metrics", timeout=10).text
        worker = httpx.get(f"http://127.0.0.1:{port + 2}/metrics", timeout=10).text
        assert metric(api, "campaign_store_events_appended_total") > 0
        assert metric(worker, "campaign_worker_jobs_total") > 0
        assert metric(worker, "campaign_deadline_steps_total") > 0
        assert "campaign_projector_lag_events" in projector
        for role_port in (port + 1, port + 2):
            ready = httpx.get(f"http://127.0.0.1:{role_port}/health/ready", timeout=10)
            assert ready.status_code == 200, ready.text
        # The image's HEALTHCHECK: `campaign probe` asks a role's port.
        for probe_port, code in ((port, 0), (port + 1, 0), (port + 2, 0), (free_port(), 1)):
            probe = subprocess.run(
                [
                    sys.executable,
                    "-m",
                    "services.ops.cli",
                    "probe",
                    "--ready",
                    "--port",
                    str(probe_port),
                ],
                capture_output=True,
                timeout=30,
                check=False,
            )
            assert probe.returncode == code, (probe_port, probe.stderr)
        events_before = len(
            httpx.get(base + "/events", headers=auth, params={"limit": 10000}, timeout=30).json()[
                "events"
            ]
        )
        ctrl_c_leaves_nothing(dev, data_dir)
        assert (data_dir / "postgres" / "PG_VERSION").exists(), "data is kept across runs"

        # A second start reuses the data: same token, the unit made before, the demo once.
        dev = start_dev(data_dir, port)
        wait_ready(port, dev)
        units = httpx.get(
            base + "/units", headers=auth, params={"q": "Hậu Giang"}, timeout=10
        ).json()["items"]
        assert [u["short_code"] for u in units] == ["CBHG"]
        again = httpx.get(base + "/events", headers=auth, params={"limit": 10000}, timeout=30)
        assert len(again.json()["events"]) >= events_before
        plans = httpx.get(base + "/plans", headers=auth, params={"number": "334-KH/CB"}, timeout=10)
        assert len(plans.json()["items"]) == 1
        ctrl_c_leaves_nothing(dev, data_dir)
    finally:
        if dev.poll() is None:
            dev.kill()


def test_a_start_after_a_killed_run_cleans_up_and_serves(tmp_path: Path) -> None:
    data_dir, port = tmp_path / "data", free_port_with_neighbours()
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


def test_a_start_after_the_whole_group_was_killed_recovers(tmp_path: Path) -> None:
    data_dir, port = tmp_path / "data", free_port_with_neighbours()
    crashed = start_dev(data_dir, port)
    wait_ready(port, crashed)
    everyone = [crashed.pid, *family(crashed.pid)]
    for pid in everyone:  # SIGKILL to every process: the servers leave their pid files behind
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    crashed.wait(timeout=10)
    again = start_dev(data_dir, port)
    try:
        wait_ready(port, again)
        auth = {"Authorization": f"Bearer {(data_dir / 'admin-token').read_text().strip()}"}
        plan = f"http://127.0.0.1:{port}/plans/{demo_id('plan:334')}"
        assert httpx.get(plan, headers=auth, timeout=10).status_code == 200
        ctrl_c_leaves_nothing(again, data_dir)
    finally:
        if again.poll() is None:
            again.kill()


def test_a_second_dev_on_the_same_data_refuses_to_start(tmp_path: Path) -> None:
    data_dir, port = tmp_path / "data", free_port_with_neighbours()
    first = start_dev(data_dir, port)
    try:
        wait_ready(port, first)
        env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")}
        env.update(DATA_DIR=str(data_dir), HTTP_PORT=str(free_port()))
        second = subprocess.run(
            [sys.executable, "-m", "services.ops.cli", "dev"],
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
