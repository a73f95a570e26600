"""The load clients of `bench_http.py`: wrk for the closed loop, an open-loop one for fixed rates.

Requests come from a file, one a line: `METHOD<TAB>path<TAB>token<TAB>JSON body or nothing`.
The closed loop is wrk (C, so that the client is not what is measured), given a Lua script that
deals the lines out to its threads and counts the statuses. The open loop sends each request at
its scheduled time (`start + i / rate`) on a free keep-alive connection (opening one when none is
free) and times it from that scheduled time, so that queueing in the server counts; at the rates
it is run at (hundreds a second) asyncio is far from its limit.
"""

from __future__ import annotations

import asyncio
import re
import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

WRK_SCRIPT = r"""
local counter = 0
local threads = {}

function setup(thread)
  thread:set("id", counter)
  counter = counter + 1
  table.insert(threads, thread)
end

function init(args)
  requests = {}
  statuses = {}
  wrapped = 0
  position = 0
  local n = tonumber(args[2])
  local i = 0
  for line in io.lines(args[1]) do
    if i % n == id then
      local m, p, a, b = line:match("^(%u+)\t([^\t]+)\t([^\t]*)\t(.*)$")
      local headers = {["Content-Type"] = "application/json", ["Authorization"] = "Bearer " .. a}
      if b == "" then b = nil end
      table.insert(requests, wrk.format(m, p, headers, b))
    end
    i = i + 1
  end
end

function request()
  position = position + 1
  if position > #requests then
    position = 1
    wrapped = wrapped + 1
  end
  return requests[position]
end

function response(status, headers, body)
  statuses[status] = (statuses[status] or 0) + 1
end

function done(summary, latency, requests)
  local total = {}
  local wraps = 0
  for _, thread in ipairs(threads) do
    for status, count in pairs(thread:get("statuses")) do
      total[status] = (total[status] or 0) + count
    end
    wraps = wraps + thread:get("wrapped")
  end
  for status, count in pairs(total) do
    io.write(string.format("status %d %d\n", status, count))
  end
  io.write(string.format("wrapped %d\n", wraps))
  io.write(string.format("p50us %d\np99us %d\n", latency:percentile(50), latency:percentile(99)))
end
"""


@dataclass
class Run:
    """What one load run saw: the rate answered, latencies (ms) and the statuses."""

    rate: float
    p50: float
    p99: float
    statuses: dict[int, int] = field(default_factory=dict)
    note: str = ""

    def failures(self) -> int:
        return sum(count for status, count in self.statuses.items() if status >= 400)

    def describe(self) -> str:
        shown = " ".join(f"{s}:{c}" for s, c in sorted(self.statuses.items()))
        return f"{self.rate:8,.0f}/s  p50 {self.p50:7.1f} ms  p99 {self.p99:7.1f} ms  [{shown}]" + (
            f"  {self.note}" if self.note else ""
        )


def wrk_path() -> str | None:
    """wrk, installed with apt-get when it is missing and this process may install packages."""
    found = shutil.which("wrk")
    if found:
        return found
    if shutil.which("apt-get") and _is_root():
        subprocess.run(
            ["apt-get", "install", "-y", "-qq", "wrk"],
            check=False,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
    return shutil.which("wrk")


def _is_root() -> bool:
    import os

    return os.geteuid() == 0


def closed_loop(
    wrk: str, url: str, requests: Path, seconds: float, connections: int, threads: int = 2
) -> Run:
    """wrk at full speed for `seconds` with `connections` connections."""
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
        script.write(WRK_SCRIPT)
    answer = subprocess.run(
        [
            wrk,
            f"-t{threads}",
            f"-c{connections}",
            f"-d{max(1, round(seconds))}s",
            "--timeout",
            "30s",
            "-s",
            script.name,
            url,
            "--",
            str(requests),
            str(threads),
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    Path(script.name).unlink()
    out = answer.stdout
    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    statuses = {int(s): int(c) for s, c in re.findall(r"^status (\d+) (\d+)$", out, re.M)}
    wraps = int(re.search(r"^wrapped (\d+)$", out, re.M).group(1))  # type: ignore[union-attr]
    p50 = int(re.search(r"^p50us (\d+)$", out, re.M).group(1)) / 1000  # type: ignore[union-attr]
    p99 = int(re.search(r"^p99us (\d+)$", out, re.M).group(1)) / 1000  # type: ignore[union-attr]
    errors = re.search(r"Socket errors: (.*)", out)
    note = ("requests reused: " + str(wraps) + " rounds" if wraps else "") + (
        f" socket errors: {errors.group(1)}" if errors else ""
    )
    return Run(rate, p50, p99, statuses, note.strip())


@dataclass(frozen=True)
class Line:
    method: str
    path: str
    token: str
    body: str


def read_lines(requests: Path) -> list[Line]:
    lines = []
    for raw in requests.read_text(encoding="utf-8").splitlines():
        method, path, token, body = raw.split("\t", 3)
        lines.append(Line(method, path, token, body))
    return lines


class _Connections:
    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port
        self.idle: list[tuple[asyncio.StreamReader, asyncio.StreamWriter]] = []
        self.opened = 0

    async def take(self) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        if self.idle:
            return self.idle.pop()
        self.opened += 1
        return await asyncio.open_connection(self.host, self.port)

    def give(self, connection: tuple[asyncio.StreamReader, asyncio.StreamWriter]) -> None:
        self.idle.append(connection)

    def close(self) -> None:
        for _, writer in self.idle:
            writer.close()


async def _send(
    connections: _Connections, line: Line, host: str
) -> int:  # the status; the connection goes back when the answer is read whole
    reader, writer = await connections.take()
    body = line.body.encode()
    head = (
        f"{line.method} {line.path} HTTP/1.1\r\nHost: {host}\r\n"
        f"Authorization: Bearer {line.token}\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    ).encode()
    writer.write(head + body)
    status_line = await reader.readline()
    length = 0
    while True:
        header = await reader.readline()
        if header in (b"\r\n", b""):
            break
        name, _, value = header.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value)
    await reader.readexactly(length)
    connections.give((reader, writer))
    return int(status_line.split()[1])


async def open_loop(url: str, lines: list[Line], rate: float, seconds: float) -> Run:
    """`rate` requests a second for `seconds`, each timed from when it was due to be sent."""
    host, port = url.removeprefix("http://").split(":")
    connections = _Connections(host, int(port))
    count = min(len(lines), int(rate * seconds))
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    pending: set[asyncio.Task[None]] = set()
    start = time.perf_counter() + 0.05

    async def one(line: Line, due: float) -> None:
        try:
            status = await _send(connections, line, f"{host}:{port}")
        except (OSError, asyncio.IncompleteReadError, IndexError, ValueError):
            status = 599
        latencies.append((time.perf_counter() - due) * 1000)
        statuses[status] = statuses.get(status, 0) + 1

    for index in range(count):
        due = start + index / rate
        wait = due - time.perf_counter()
        if wait > 0:
            await asyncio.sleep(wait)
        task = asyncio.create_task(one(lines[index], due))
        pending.add(task)
        task.add_done_callback(pending.discard)
    if pending:
        await asyncio.wait(pending)
    elapsed = time.perf_counter() - start
    connections.close()
    latencies.sort()
    return Run(
        count / elapsed,
        latencies[len(latencies) // 2],
        latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))],
        statuses,
        f"{connections.opened} connections",
    )
