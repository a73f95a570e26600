"""A real webhook receiver on loopback for the tests: an HTTP server in a thread of its own that
records every delivery and answers as told (2xx by default, a scripted status, or not at all
until released)."""

from __future__ import annotations

import json
import re
import threading
import time
from collections import deque
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

README = Path(__file__).resolve().parents[1] / "README.md"


def readme_verify() -> Any:
    """The verification snippet of the README, run as a receiver would run it."""
    text = README.read_text(encoding="utf-8")
    (snippet,) = [
        block for block in re.findall(r"```python\n(.*?)```", text, re.S) if "def verify(" in block
    ]
    scope: dict[str, Any] = {}
    exec(compile(snippet, "README.md", "exec"), scope)
    return scope["verify"]


@dataclass
class Delivery:
    headers: dict[str, str]
    body: bytes
    status: int

    @property
    def events(self) -> list[dict[str, Any]]:
        events: list[dict[str, Any]] = json.loads(self.body)["events"]
        return events


RECEIVERS = "127.0.0.1:9,127.0.0.1:1024-65535"
"""The allow-list (WEBHOOK_ALLOWED_TARGETS) for test receivers: loopback, on the discard port
and the ports the system hands out to listeners, which the list must name (80 and 443 aside)."""


class Receiver:
    def __init__(self, host: str = "127.0.0.1", port: int = 0, *, keep_alive: bool = False) -> None:
        self.host = host
        """The name URLs use for it (it listens on 127.0.0.1, on `port` or one the system
        hands out)."""
        self.deliveries: list[Delivery] = []
        self.answers: deque[int] = deque()
        """Statuses to answer next, in order; when empty, 204 (200 with `answer_body` or
        `answer_stalls`)."""
        self.held = threading.Event()
        self.held.set()
        """Cleared: requests wait (unanswered) until it is set again."""
        self.arrived = threading.Event()
        self.delay = 0.0
        """Seconds each request takes to be answered."""
        self.in_flight = 0
        self.most_in_flight = 0
        self.connections = 0
        """Connections accepted (with `keep_alive`, one serves many deliveries)."""
        self.answer_body = b""
        """The body of 2xx answers."""
        self.answer_stalls = False
        """Set: a 2xx answer sends its headers and then stalls, its body never ends."""
        self._lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1" if keep_alive else "HTTP/1.0"

            def setup(self) -> None:
                super().setup()
                with receiver._lock:
                    receiver.connections += 1

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("content-length", "0")))
                with receiver._lock:
                    receiver.in_flight += 1
                    receiver.most_in_flight = max(receiver.most_in_flight, receiver.in_flight)
                receiver.arrived.set()
                receiver.held.wait(60)
                time.sleep(receiver.delay)
                with receiver._lock:
                    receiver.in_flight -= 1
                    status = (
                        receiver.answers.popleft()
                        if receiver.answers
                        else 200
                        if receiver.answer_body or receiver.answer_stalls
                        else 204
                    )
                    receiver.deliveries.append(Delivery(dict(self.headers), body, status))
                self.send_response(status)
                if status >= 300:
                    payload = b"receiver says no"
                    self.send_header("Content-Length", str(len(payload)))
                    if 300 <= status < 400:
                        self.send_header("Location", "http://example.org/elsewhere")
                    self.end_headers()
                    self.wfile.write(payload)
                elif receiver.answer_stalls:
                    self.send_header("Content-Length", "1000")
                    self.end_headers()
                    self.wfile.write(b"{")
                    self.wfile.flush()
                    time.sleep(5)
                    self.close_connection = True
                else:
                    self.send_header("Content-Length", str(len(receiver.answer_body)))
                    self.end_headers()
                    self.wfile.write(receiver.answer_body)

            def log_message(self, *_: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.server.server_address[1]}/hooks/campaign"

    def __enter__(self) -> Receiver:
        self.thread.start()
        return self

    @property
    def port(self) -> int:
        return int(self.server.server_address[1])

    def __exit__(self, *_: Any) -> None:
        self.held.set()
        self.server.shutdown()
        self.server.server_close()

    def accepted(self) -> list[Delivery]:
        with self._lock:
            return [d for d in self.deliveries if 200 <= d.status < 300]

    def accepted_events(self) -> list[dict[str, Any]]:
        """Events of every 2xx-answered delivery, first copies only, in arrival order (what a
        receiver de-duplicating by event_id keeps)."""
        seen: set[str] = set()
        kept = []
        for delivery in self.accepted():
            for event in delivery.events:
                if event["event_id"] not in seen:
                    seen.add(event["event_id"])
                    kept.append(event)
        return kept
