"""Commands over HTTP against a bare litestar app doing one INSERT a request, in the same run.

    python tests/benchmarks/bench_http.py            # 1,000,000 events, 10,000 units, 3 rounds
    python tests/benchmarks/bench_http.py --smoke    # seconds, for CI

Both apps run as `campaign serve` would (uvicorn with uvloop and httptools, HTTP_WORKERS
processes, default 2) on one database; the ledger with Redis (a server of its own, or the
database of TEST_REDIS_URL, left as it is) counting its rate limits. The store is first filled
with synthetic task histories (`--events`) and a country-shaped tree of units (`--units`).

Per round, alternating the two apps:
- closed loop (wrk, `--connections`, `--seconds`): the bare app's INSERT; the ledger's progress
  reports on open tasks; the ledger's realistic mix (progress 45%, submissions 15%, reviews 10%,
  task issues 10%, unit registrations 10%, plan drafts 5%, plan issues 5%);
- open loop at each of `--rates`: the same three, each request timed from when it was due.
Every round is printed, then the medians and the ratios to the bare app. Every request of the
mix is one a clerk could send (a fresh task for each report, a pending report for each review);
when the prepared ones run out, progress reports stand in, and the count is printed.
Asserts nothing.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import random
import signal
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

import events.domain  # noqa: F401 - registers every domain event
from events.store import EventStore, create_pool
from services.ops.migrate import migrate_and_rebuild
from tests.benchmarks import bare_app
from tests.benchmarks.bench_projections import generate, load
from tests.benchmarks.load_client import Line, Run, closed_loop, open_loop, wrk_path
from tests.benchmarks.scratch import scratch_database
from tests.org import make_user
from tests.servers import spare_port

ROOT = Path(__file__).resolve().parents[2]
DUE = (datetime.now(UTC) + timedelta(days=120)).isoformat()
MIX = (
    ("progress", 45),
    ("submission", 15),
    ("review", 10),
    ("task", 10),
    ("unit", 10),
    ("draft", 5),
    ("issue", 5),
)


@dataclass
class Area:
    """Where the mix works: a district that issues plans to its communes."""

    issuer: str
    issuer_code: str
    chief: str
    officer: str
    leads: list[str]
    lead_officers: dict[str, str]
    plan: str
    admin: str
    parents: list[str]
    progress: list[tuple[str, str]] = field(default_factory=list)  # (task, token)
    fresh: list[tuple[str, str]] = field(default_factory=list)  # tasks with nothing filed
    pending: list[tuple[str, str]] = field(default_factory=list)  # (task, report) to review
    drafts: list[str] = field(default_factory=list)


async def start(argv: list[str], env: dict[str, str], url: str) -> asyncio.subprocess.Process:
    process = await asyncio.create_subprocess_exec(
        *argv, env=env, cwd=ROOT, stdout=asyncio.subprocess.DEVNULL
    )
    async with httpx.AsyncClient(base_url=url) as client:
        for _ in range(600):
            try:
                await client.get("/health/live")
                return process
            except httpx.TransportError:
                await asyncio.sleep(0.1)
    raise RuntimeError(f"{argv} did not start")


async def stop(process: asyncio.subprocess.Process) -> None:
    if process.returncode is None:
        process.send_signal(signal.SIGTERM)
        await asyncio.wait_for(process.wait(), 60)


def post(client: httpx.AsyncClient, token: str, path: str, body: Any) -> Any:
    return client.post(path, json=body, headers={"Authorization": f"Bearer {token}"})


async def ok(response: Any) -> Any:
    answer = await response
    if answer.status_code >= 300:
        raise RuntimeError(f"{answer.request.url}: {answer.status_code} {answer.text}")
    return answer.json()


async def import_units(client: httpx.AsyncClient, admin: str, total: int) -> list[dict[str, Any]]:
    """A tree like the country's: 34 provinces, each with districts, each with communes."""
    per_province = max(3, total // 34)
    districts = max(1, round((per_province - 1) / 29))
    communes = max(1, (per_province - 1 - districts) // districts)
    provinces = []
    for p in range(min(34, max(1, total // per_province))):
        rows = [{"ref": "p", "name": f"Tỉnh {p}", "short_code": f"T{p}", "kind": "party_committee"}]
        for d in range(districts):
            rows.append(
                {
                    "ref": f"d{d}",
                    "name": f"Huyện {p}.{d}",
                    "short_code": f"H{d}",
                    "kind": "district",
                    "parent": "p",
                }
            )
            rows += [
                {
                    "ref": f"c{d}.{c}",
                    "name": f"Xã {p}.{d}.{c}",
                    "short_code": f"X{c}",
                    "kind": "commune",
                    "parent": f"d{d}",
                }
                for c in range(communes)
            ]
        answer = await ok(post(client, admin, "/units/import", {"units": rows}))
        provinces.append(answer["units"])
    return provinces


async def prepare(
    client: httpx.AsyncClient, store: EventStore, units: int, budget: dict[str, int]
) -> Area:
    _, admin = await make_user(store, "admin")
    provinces = await import_units(client, admin, units)
    tree = provinces[0]
    issuer = tree["d0"]
    leads = [unit_id for ref, unit_id in tree.items() if ref.startswith("c0.")][:28]
    _, chief = await make_user(store, "chief", uuid.UUID(issuer))
    _, officer = await make_user(store, "officer", uuid.UUID(issuer))
    lead_officers = {
        lead: (await make_user(store, "officer", uuid.UUID(lead)))[1] for lead in leads
    }
    plan = await draft_and_issue(client, chief, officer, issuer, 1)
    area = Area(
        issuer=issuer,
        issuer_code="H0",
        chief=chief,
        officer=officer,
        leads=leads,
        lead_officers=lead_officers,
        plan=plan,
        admin=admin,
        parents=[unit for t in provinces for ref, unit in t.items() if ref.startswith("d")],
    )
    area.progress = await issue_tasks(client, area, max(200, 20 * len(leads)))
    area.fresh = await issue_tasks(client, area, budget["submission"])
    to_review = await issue_tasks(client, area, budget["review"])
    area.pending = await file_reports(client, area, to_review)
    area.drafts = [
        (await ok(post(client, officer, "/plans", draft_body(issuer, n))))["id"]
        for n in range(budget["issue"])
    ]
    return area


def draft_body(issuer: str, n: int) -> dict[str, Any]:
    return {"kind": "KH", "issuer_unit_id": issuer, "title": f"Kế hoạch tuyên truyền số {n}"}


def issue_body(number: int, code: str) -> dict[str, Any]:
    return {
        "number": f"{number}/KH-{code}",
        "place": "Cần Thơ",
        "signer": {"name": "Nguyễn Văn A", "title": "Bí thư", "authority": "TM"},
    }


async def draft_and_issue(
    client: httpx.AsyncClient, chief: str, officer: str, issuer: str, number: int
) -> str:
    plan = (await ok(post(client, officer, "/plans", draft_body(issuer, number))))["id"]
    await ok(post(client, chief, f"/plans/{plan}/issue", issue_body(number, "H0")))
    return str(plan)


async def issue_tasks(client: httpx.AsyncClient, area: Area, count: int) -> list[tuple[str, str]]:
    """`count` tasks, the leads in turn, issued all leads at once per call."""
    tasks: list[tuple[str, str]] = []
    item = 0
    while len(tasks) < count:
        item += 1
        leads = area.leads[: min(len(area.leads), count - len(tasks))]
        answer = await ok(
            post(
                client,
                area.officer,
                f"/plans/{area.plan}/assignments",
                {
                    "item": f"{random.randrange(10**9)}",
                    "text": "Báo cáo kết quả",
                    "lead_unit_ids": leads,
                    "due": DUE,
                },
            )
        )
        tasks += [(answer["assignments"][lead], area.lead_officers[lead]) for lead in leads]
    return tasks


async def file_reports(
    client: httpx.AsyncClient, area: Area, tasks: list[tuple[str, str]]
) -> list[tuple[str, str]]:
    pending: list[tuple[str, str]] = []
    gate = asyncio.Semaphore(8)

    async def one(task: str, token: str) -> None:
        async with gate:
            answer = await ok(
                post(client, token, f"/assignments/{task}/submissions", {"text": "Đã thực hiện"})
            )
        pending.append((task, answer["id"]))

    await asyncio.gather(*(one(task, token) for task, token in tasks))
    return pending


def progress_line(area: Area, rng: random.Random) -> str:
    task, token = rng.choice(area.progress)
    body = {"note": "Đã triển khai đến các chi bộ", "percent": rng.randrange(100)}
    return f"POST\t/assignments/{task}/progress\t{token}\t{json.dumps(body)}"


class Mix:
    """Request lines for the mix, consuming the prepared tasks, reports and drafts."""

    def __init__(self, area: Area, seed: int) -> None:
        self.area = area
        self.rng = random.Random(seed)
        self.kinds = [kind for kind, share in MIX for _ in range(share)]
        self.stand_ins = 0
        self.numbers = iter(range(1000, 10**7))
        self.units = 0

    def line(self) -> str:
        area, rng = self.area, self.rng
        kind = rng.choice(self.kinds)
        if kind == "submission" and area.fresh:
            task, token = area.fresh.pop()
            body = {"text": "Báo cáo kết quả thực hiện", "metrics": {"works": 3}}
            return f"POST\t/assignments/{task}/submissions\t{token}\t{json.dumps(body)}"
        if kind == "review" and area.pending:
            task, report = area.pending.pop()
            body = {"step": "approval", "outcome": "approved"}
            path = f"/assignments/{task}/submissions/{report}/review"
            return f"POST\t{path}\t{area.chief}\t{json.dumps(body)}"
        if kind == "task":
            body = {
                "item": str(rng.randrange(10**9)),
                "text": "Tổ chức tuyên truyền",
                "lead_unit_ids": [rng.choice(area.leads)],
                "due": DUE,
            }
            return f"POST\t/plans/{area.plan}/assignments\t{area.officer}\t{json.dumps(body)}"
        if kind == "unit":
            self.units += 1
            code = f"BM{uuid.uuid4().hex[:10].upper()}"
            body = {
                "name": f"Ban mới {code}",
                "short_code": code,
                "kind": "office",
                "parent_id": rng.choice(area.parents),
            }
            return f"POST\t/units\t{area.admin}\t{json.dumps(body)}"
        if kind == "draft":
            body = draft_body(area.issuer, rng.randrange(10**6))
            return f"POST\t/plans\t{area.officer}\t{json.dumps(body)}"
        if kind == "issue" and area.drafts:
            plan = area.drafts.pop()
            body = issue_body(next(self.numbers), area.issuer_code)
            return f"POST\t/plans/{plan}/issue\t{area.chief}\t{json.dumps(body)}"
        if kind != "progress":
            self.stand_ins += 1
        return progress_line(area, rng)


def write_lines(lines: Iterator[str], count: int) -> Path:
    with tempfile.NamedTemporaryFile("w", suffix=".tsv", delete=False, encoding="utf-8") as out:
        for _ in range(count):
            out.write(next(lines) + "\n")
    return Path(out.name)


def endless(make: Any) -> Iterator[str]:
    while True:
        yield make()


def parse(path: Path) -> list[Line]:
    from tests.benchmarks.load_client import read_lines

    return read_lines(path)


@dataclass
class Figures:
    runs: dict[str, list[Run]] = field(default_factory=dict)

    def add(self, label: str, run: Run) -> None:
        self.runs.setdefault(label, []).append(run)
        print(f"  {label:<34} {run.describe()}", flush=True)

    def median(self, label: str, what: str) -> float:
        return statistics.median(getattr(r, what) for r in self.runs[label])


async def bench(args: argparse.Namespace, dsn: str, redis_url: str) -> None:
    wrk = wrk_path()
    bare_port, ledger_port = spare_port(), spare_port()
    bare_url, ledger_url = f"http://127.0.0.1:{bare_port}", f"http://127.0.0.1:{ledger_port}"
    env = {
        **os.environ,
        "DATABASE_URL": dsn,
        "REDIS_URL": redis_url,
        "HTTP_PORT": str(ledger_port),
        "HTTP_WORKERS": str(args.workers),
        "COMMANDS_PER_MINUTE": "1000000",
        "LOG_FORMAT": "json",
        "LOG_LEVEL": "warning",
        "BARE_DATABASE_URL": dsn,
    }
    pool = await create_pool(dsn, min_size=2, max_size=8)
    store = EventStore(pool)
    await pool.execute(bare_app.CREATE)
    print(f"filling the store with about {args.events:,} events ...", flush=True)
    started = time.perf_counter()
    appended = await load(store, generate(args.events, 7), 2000)
    print(f"  {appended:,} events in {time.perf_counter() - started:.0f} s", flush=True)
    ledger = await start([sys.executable, "-m", "services.ops.cli", "serve"], env, ledger_url)
    bare = await start(
        [
            sys.executable,
            "-m",
            "uvicorn",
            "tests.benchmarks.bare_app:app",
            "--port",
            str(bare_port),
            "--workers",
            str(args.workers),
            "--loop",
            "uvloop",
            "--http",
            "httptools",
            "--no-access-log",
            "--log-level",
            "warning",
        ],
        env,
        bare_url,
    )
    try:
        expected = args.rounds * (args.seconds * 1500 + sum(args.rates) * args.seconds)
        budget = {kind: int(expected * share / 100) + 10 for kind, share in MIX}
        started = time.perf_counter()
        async with httpx.AsyncClient(base_url=ledger_url, timeout=120) as client:
            area = await prepare(client, store, args.units, budget)
        units = await pool.fetchval("SELECT count(*) FROM unit_directory")
        events = await pool.fetchval("SELECT count(*) FROM events")
        print(
            f"prepared in {time.perf_counter() - started:.0f} s: {events:,} events, "
            f"{units:,} units; {len(area.fresh):,} tasks to report on, {len(area.pending):,} "
            f"reports to review, {len(area.drafts):,} drafts to issue",
            flush=True,
        )
        await pool.execute("VACUUM ANALYZE")
        rng = random.Random(5)
        mix = Mix(area, 11)
        figures = Figures()
        size = int(args.seconds * 4000)
        bare_body = json.dumps({"note": "Đã triển khai đến các chi bộ", "percent": 40})
        bare_lines = endless(lambda: f"POST\t/assignments/{uuid.uuid4()}/progress\tx\t{bare_body}")
        progress_lines = endless(lambda: progress_line(area, rng))
        mix_lines = endless(mix.line)
        if wrk is None:
            print("wrk is not installed and could not be: the closed loop is skipped")
        for round_number in range(1, args.rounds + 1):
            print(f"round {round_number}", flush=True)
            if wrk is not None:
                for label, url, lines, count in (
                    ("closed: bare INSERT", bare_url, bare_lines, size),
                    ("closed: ledger progress", ledger_url, progress_lines, size),
                    ("closed: ledger mix", ledger_url, mix_lines, int(args.seconds * 1500)),
                ):
                    path = write_lines(lines, count)
                    figures.add(label, closed_loop(wrk, url, path, args.seconds, args.connections))
                    path.unlink()
            for rate in args.rates:
                for label, url, lines in (
                    (f"open {rate}/s: bare INSERT", bare_url, bare_lines),
                    (f"open {rate}/s: ledger progress", ledger_url, progress_lines),
                    (f"open {rate}/s: ledger mix", ledger_url, mix_lines),
                ):
                    path = write_lines(lines, int(rate * args.seconds))
                    figures.add(label, await open_loop(url, parse(path), rate, args.seconds))
                    path.unlink()
        report(figures, args, wrk is not None, mix.stand_ins)
    finally:
        await stop(ledger)
        await stop(bare)
        await store.close()
        await pool.close()


def report(figures: Figures, args: argparse.Namespace, closed: bool, stand_ins: int) -> None:
    print(f"medians of {args.rounds} round(s):")
    if closed:
        bare = figures.median("closed: bare INSERT", "rate")
        for label in ("closed: ledger progress", "closed: ledger mix"):
            rate = figures.median(label, "rate")
            goal = "   (goal: >= 0.7)" if label.endswith("progress") else ""
            print(f"  {label:<34} {rate:8,.0f}/s  ratio to bare {rate / bare:.2f}{goal}")
        print(f"  {'closed: bare INSERT':<34} {bare:8,.0f}/s")
    for rate in args.rates:
        for label in ("bare INSERT", "ledger progress", "ledger mix"):
            key = f"open {rate}/s: {label}"
            print(
                f"  {key:<34} p50 {figures.median(key, 'p50'):7.1f} ms   "
                f"p99 {figures.median(key, 'p99'):7.1f} ms"
                + (
                    "   (goal: p99 < 50 ms at 500/s)"
                    if rate == 500 and label != "bare INSERT"
                    else ""
                )
            )
    print(f"  mix requests that stood in as progress (prepared work ran out): {stand_ins:,}")


async def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--smoke", action="store_true", help="seconds, for CI")
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--units", type=int, default=10_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=10.0, help="per load run")
    parser.add_argument("--connections", type=int, default=64, help="wrk's, closed loop")
    parser.add_argument("--rates", type=int, nargs="*", default=[250, 500])
    parser.add_argument("--workers", type=int, default=2, help="processes of each app")
    args = parser.parse_args()
    if args.smoke:
        args.events, args.units, args.rounds, args.seconds = 2_000, 120, 1, 2.0
        args.rates, args.connections = [100], 16
    async with scratch_database(migrate_and_rebuild) as (dsn, servers):
        redis_url = servers.redis()
        try:
            await bench(args, dsn, redis_url)
        finally:
            if servers.owns_redis:
                from redis.asyncio import Redis

                redis = Redis.from_url(redis_url)
                await redis.flushdb()
                await redis.aclose()


if __name__ == "__main__":
    os.environ.setdefault("LOG_FORMAT", "console")
    logging.getLogger("httpx").setLevel(logging.WARNING)
    asyncio.run(main())
