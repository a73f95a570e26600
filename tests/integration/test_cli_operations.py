"""The operator's one-shot commands and what they print: demo, migrate, verify, seal, rebuild,
probe and worker --check, including the answers that exit non-zero."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from tests.cli import campaign

NO_DATABASE = "postgresql://root@127.0.0.1:1/unused"
"""For the commands that never open the database."""


def test_the_demo_loads_once_and_its_chains_verify(dsn: str) -> None:
    migrated = campaign(dsn, "migrate")
    assert migrated.returncode == 0, migrated.stderr
    assert migrated.stdout.strip() == "applied 0 migration(s); the schema is up to date"
    nothing = campaign(dsn, "seal")
    assert nothing.stdout.strip() == "nothing to seal: no event is visible yet"
    no_seal = campaign(dsn, "seal", "--export")
    assert no_seal.returncode == 1 and "no seal yet" in no_seal.stderr

    loaded = campaign(dsn, "demo")
    assert loaded.returncode == 0, loaded.stderr
    assert loaded.stdout.startswith("loaded the five seed campaigns: ")
    again = campaign(dsn, "demo")
    assert again.stdout.strip() == "the demo is already loaded: nothing appended"
    verified = campaign(dsn, "verify")
    assert verified.returncode == 0, verified.stderr
    assert verified.stdout.startswith("ok: ") and "every chain intact" in verified.stdout


def test_a_seal_file_that_holds_no_seal_is_refused(dsn: str, tmp_path: Path) -> None:
    empty = tmp_path / "empty.jsonl"
    empty.write_text("\n", encoding="utf-8")
    garbage = tmp_path / "garbage.jsonl"
    garbage.write_text("{not a seal}\n", encoding="utf-8")
    answers = {
        "empty": campaign(dsn, "verify", "--seal", str(empty)),
        "garbage": campaign(dsn, "verify", "--seal", str(garbage)),
        "missing": campaign(dsn, "verify", "--seal", str(tmp_path / "nowhere.jsonl")),
    }
    assert {name: a.returncode for name, a in answers.items()} == dict.fromkeys(answers, 1)
    assert f"{empty} holds no exported seal" in answers["empty"].stderr
    assert f"{garbage} line 1:" in answers["garbage"].stderr
    assert "No such file" in answers["missing"].stderr
    assert not any("Traceback" in a.stderr for a in answers.values())


def test_rebuilding_a_read_model_that_does_not_exist_names_the_ones_that_do(dsn: str) -> None:
    unknown = campaign(dsn, "rebuild", "task_fact")
    assert unknown.returncode == 2 and unknown.stderr.startswith("error: ")
    assert "task_facts" in unknown.stderr


def test_a_worker_that_never_reported_is_not_healthy(dsn: str, redis_url: str) -> None:
    checked = campaign(dsn, "worker", "--check", "--name", "nobody", env={"REDIS_URL": redis_url})
    assert checked.returncode == 1
    assert checked.stdout.strip() == "worker nobody: no recent health report"


class _Health(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        self.send_response(200 if self.path == "/health/live" else 503)
        self.end_headers()

    def log_message(self, *_: object) -> None:
        pass


@pytest.fixture
def health_port() -> Iterator[int]:
    """A server that is live and not ready."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Health)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server.server_address[1]
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def test_the_probe_exits_zero_only_when_the_role_answers_200(health_port: int) -> None:
    live = campaign(NO_DATABASE, "probe", "--port", str(health_port))
    assert live.returncode == 0, live.stderr
    ready = campaign(NO_DATABASE, "probe", "--ready", "--port", str(health_port))
    assert ready.returncode == 1 and "/health/ready: HTTP Error 503" in ready.stderr
    # METRICS_PORT first (nothing listens there), then HTTP_PORT: the API's probe.
    env = {"METRICS_PORT": "1", "HTTP_PORT": str(health_port)}
    fallback = campaign(NO_DATABASE, "probe", env=env)
    assert fallback.returncode == 0, fallback.stderr
    assert "127.0.0.1:1/health/live" in fallback.stderr
    nobody = campaign(NO_DATABASE, "probe", env={"METRICS_PORT": "1", "HTTP_PORT": "1"})
    assert nobody.returncode == 1 and "Connection refused" in nobody.stderr
