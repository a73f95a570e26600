"""`campaign`: one command for every role and every operator task."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import sys
import uuid
from collections.abc import AsyncIterator, Iterator
from typing import TYPE_CHECKING, Any

import structlog

from services.runtime.config import ConfigError, Settings, load_settings
from services.runtime.database_wait import wait_for_database
from services.runtime.logging import configure_logging

if TYPE_CHECKING:
    from events.store import EventStore

log = structlog.get_logger(__name__)


@contextlib.asynccontextmanager
async def _opened_store(settings: Settings, max_size: int = 3) -> AsyncIterator[EventStore]:
    """The event store on a small pool of its own, closed when the command is done."""
    import events.domain  # noqa: F401 - registers every domain event
    from events.store import EventStore, create_pool

    pool = await create_pool(settings.require_database(), min_size=1, max_size=max_size)
    store = EventStore(pool)
    try:
        yield store
    finally:
        await store.close()
        await pool.close()


def _leave_quietly_on_sigterm() -> None:
    """A long-running role told to stop while it is still starting (nothing in flight yet)
    exits 0, as it would once running; its own handlers replace this one when it is up."""
    import signal

    def leave(*_: Any) -> None:
        raise SystemExit(0)

    signal.signal(signal.SIGTERM, leave)


def _stop_on_signals() -> asyncio.Event:
    """Set by SIGINT or SIGTERM: long-running commands finish what they do and return."""
    import signal

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    return stop


async def _probes(settings: Settings, role: str, ready: Any) -> Any:
    """The role's probes and metrics on METRICS_PORT, when set."""
    from services.runtime.probes import ProbeServer

    if settings.metrics_port is None:
        return None
    server = ProbeServer(settings.host, settings.metrics_port, role, ready)
    await server.start()
    return server


def _probe(settings: Settings, args: argparse.Namespace) -> int:
    """The image's HEALTHCHECK: with no --port, METRICS_PORT (projector, worker) and, when
    nothing listens there, HTTP_PORT (the API); so one image probes every role."""
    import urllib.error
    import urllib.request

    path = f"/health/{'ready' if args.ready else 'live'}"
    ports = [args.port] if args.port else [p for p in (settings.metrics_port, settings.port) if p]
    for port in ports:
        url = f"http://127.0.0.1:{port}{path}"
        try:
            with urllib.request.urlopen(url, timeout=3) as answer:
                return 0 if answer.status == 200 else 1
        except urllib.error.HTTPError as error:
            print(f"{url}: {error}", file=sys.stderr)
            return 1
        except (urllib.error.URLError, OSError) as error:
            print(f"{url}: {error}", file=sys.stderr)
    return 1


def _serve(settings: Settings, _: argparse.Namespace) -> int:
    _leave_quietly_on_sigterm()
    import signal

    import uvicorn

    settings.require_database()
    processes = settings.api_processes()
    # uvicorn stops gracefully on SIGTERM, then raises the signal again once it has restored
    # the handler it found: with this one in place, a graceful stop exits 0.
    signal.signal(signal.SIGTERM, lambda *_: None)
    served = dict(
        host=settings.host,
        port=settings.port,
        log_config=None,
        timeout_graceful_shutdown=20,
        lifespan="on",
    )
    if processes == 1:
        from services.api.app import create_app

        uvicorn.run(create_app(settings), **served)  # type: ignore[arg-type]
        return 0
    with _shared_metrics_folder():
        log.info("serving", processes=processes, port=settings.port)
        uvicorn.run("services.api.app:from_environment", factory=True, workers=processes, **served)  # type: ignore[arg-type]
    return 0


@contextlib.contextmanager
def _shared_metrics_folder() -> Iterator[None]:
    """Several API processes write their metrics in one folder, which /metrics reads whole
    (prometheus_client's multiprocess mode): any process answers for all of them."""
    import shutil
    import tempfile

    folder = tempfile.mkdtemp(prefix="campaign-metrics-")
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = folder
    try:
        yield
    finally:
        os.environ.pop("PROMETHEUS_MULTIPROC_DIR", None)
        shutil.rmtree(folder, ignore_errors=True)


def _migrate(settings: Settings, _: argparse.Namespace) -> int:
    from services.ops.migrate import migrate_and_rebuild

    report = asyncio.run(migrate_and_rebuild(settings.require_database()))
    print(
        f"applied {len(report.applied)} migration(s)"
        + (": " + ", ".join(report.applied) if report.applied else "; the schema is up to date")
    )
    if report.rebuilds:
        print(f"rebuilt from the events, as the migrations ask: {', '.join(report.rebuilds)}")
    if report.new_epoch:
        print(
            f"the store was {report.new_epoch_reason}: a new store epoch was opened; "
            "consumers' old cursors now answer 410"
        )
    return 0


def _verify(settings: Settings, args: argparse.Namespace) -> int:
    from events.store import create_pool
    from events.verify import verify

    anchors = _read_seals(args.seal) if args.seal else []
    if args.seal and not anchors:
        print(f"error: {args.seal} holds no exported seal", file=sys.stderr)
        return 1

    async def run() -> int:
        from events import sealing

        pool = await create_pool(settings.require_database(), min_size=1, max_size=2)
        try:
            report = await verify(pool, streams=args.stream or None)
            findings = await sealing.check(pool, anchors[-1], also=anchors[:-1]) if anchors else []
        finally:
            await pool.close()
        code = 0
        if report.ok:
            print(f"ok: {report.events} events in {report.streams} streams, every chain intact")
        else:
            first = report.first_break
            assert first is not None
            print(f"BROKEN: {first.describe()}")
            for other in report.breaks:
                if other is not first:
                    print(f"  also: {other.describe()}")
            print(f"{len(report.breaks)} broken link(s) in {report.events} events")
            code = 2
        if anchors:
            anchor = anchors[-1]
            if not findings:
                print(
                    f"ok: the log matches seal {anchor.seq}: {anchor.total} events up to "
                    f"position {anchor.last[1]}, none missing, moved or rewritten"
                )
            else:
                print(f"TAMPERED: the log differs from seal {anchor.seq}:")
                for finding in findings:
                    print(f"  {finding.describe()}")
                code = 2
        return code

    return asyncio.run(run())


def _read_seals(path: str) -> list[Any]:
    """The seals exported to a file, one JSON line each, in seal order (the last is the
    anchor); a file of appended exports names more."""
    from events.seal import InvalidSeal, parse_export

    seals = []
    try:
        with open(path, encoding="utf-8") as file:
            lines = [line.strip() for line in file if line.strip()]
    except OSError as error:
        raise SystemExit(f"error: {error}") from None
    for number, line in enumerate(lines, 1):
        try:
            seals.append(parse_export(line))
        except InvalidSeal as error:
            raise SystemExit(f"error: {path} line {number}: {error}") from None
    return sorted({seal.seq: seal for seal in seals}.values(), key=lambda seal: seal.seq)


def _seal(settings: Settings, args: argparse.Namespace) -> int:
    from events import sealing
    from events.store import create_pool

    async def run() -> int:
        pool = await create_pool(settings.require_database(), min_size=1, max_size=2)
        try:
            if args.export:
                latest = await sealing.latest(pool)
                if latest is None:
                    print("error: no seal yet (`campaign seal` makes one)", file=sys.stderr)
                    return 1
                epoch = await sealing.current_epoch(pool)
                sys.stdout.write(latest.export_line(epoch).decode() + "\n")
                return 0
            made = await sealing.seal_now(pool)
            latest = made[-1] if made else await sealing.latest(pool)
        finally:
            await pool.close()
        if made:
            print(
                f"sealed {sum(s.count for s in made)} event(s) in {len(made)} seal(s); "
                f"seal {made[-1].seq} covers {made[-1].total} events up to position "
                f"{made[-1].last[1]}"
            )
        elif latest is not None:
            print(f"nothing new to seal: seal {latest.seq} covers {latest.total} events")
        else:
            print("nothing to seal: no event is visible yet")
        return 0

    return asyncio.run(run())


def _rebuild(settings: Settings, args: argparse.Namespace) -> int:
    from projections import registry
    from projections.projected import ProjectedModel
    from projections.rebuild import RebuildRunning, rebuild_beside
    from services.runtime.progress import ProgressBar

    async def run() -> int:
        async with _opened_store(settings) as store:
            if args.list:
                _print_standing(await registry.standing(store))
                return 0
            try:
                models = registry.named(args.projection)
            except registry.UnknownReadModel as unknown:
                print(f"error: {unknown}", file=sys.stderr)
                return 2
            for model in models:
                if not isinstance(model, ProjectedModel):
                    applied = await registry.rebuild(model, store)
                    print(f"rebuilt {model.name} ({model.summary}) from {applied:,} events")
                    continue
                bar = ProgressBar(model.name)
                try:
                    done = await rebuild_beside(model, store, progress=bar)
                except RebuildRunning as running:
                    bar.finish_line()
                    print(f"error: {running}", file=sys.stderr)
                    return 1
                bar.finish_line()
                print(
                    f"rebuilt the {model.name.replace('_', ' ')}: {done.rows:,} "
                    f"{model.rows_are} from {done.events:,} events "
                    f"in {done.seconds:.1f} s ({done.rate:,.0f} events/s)"
                )
        return 0

    return asyncio.run(run())


def _print_standing(standing: list[Any]) -> None:
    rows = [("read model", "mode", "rows", "lag", "tables", "holds")]
    rows += [
        (s.name, s.mode, f"{s.rows:,}", f"{s.lag:,}", ", ".join(s.tables), s.summary)
        for s in standing
    ]
    widths = [max(len(row[i]) for row in rows) for i in range(5)]
    for row in rows:
        cells = [cell.ljust(width) for cell, width in zip(row, widths, strict=False)]
        print("  ".join([*cells, row[5]]))


def _project(settings: Settings, args: argparse.Namespace) -> int:
    _leave_quietly_on_sigterm()
    import time

    from events.wakeup import WakeUpListener
    from projections.projector import Projector
    from projections.registry import PROJECTED

    async def run() -> int:
        dsn = settings.require_database()
        await wait_for_database(dsn, "projector")
        async with _opened_store(settings, max_size=4) as store:
            listener = WakeUpListener(dsn)
            await listener.start()
            projectors = [
                Projector(
                    store,
                    model,
                    owner=args.owner,
                    stale_after=args.stale_after,
                    batch=args.batch,
                    lock_dsn=dsn,
                )
                for model in PROJECTED
            ]

            async def ready() -> tuple[bool, dict[str, Any]]:
                """Ready when PostgreSQL answers; the lag of each projection is a detail."""
                await store.ping()
                lag = {}
                for p in projectors:
                    active = p.owner_epoch is not None
                    backlog = await p.model.backlog(store, p.position if active else None)
                    oldest = backlog.oldest_at
                    lag[p.name] = {
                        "active": active,
                        "events": backlog.events,
                        "seconds": 0.0
                        if oldest is None
                        else round(max(0.0, time.time() - oldest.timestamp()), 3),
                    }
                return True, {
                    "active": any(p.owner_epoch is not None for p in projectors),
                    "waiting_for_database": any(p.waiting_for_database for p in projectors),
                    "lag": lag,
                }

            probes = await _probes(settings, "projector", ready)
            try:
                stop = _stop_on_signals()
                await asyncio.gather(*(p.run(stop, listener) for p in projectors))
            finally:
                if probes is not None:
                    await probes.close()
                await listener.close()
        return 0

    return asyncio.run(run())


def _worker(settings: Settings, args: argparse.Namespace) -> int:
    _leave_quietly_on_sigterm()
    import socket

    from workers import app, queue

    name = args.name or f"{socket.gethostname()}"
    redis_url = settings.require_redis()
    if args.check:
        ok = asyncio.run(queue.healthy(redis_url, name))
        print(f"worker {name}: {'healthy' if ok else 'no recent health report'}")
        return 0 if ok else 1

    # Inside the running loop arq registers its SIGINT/SIGTERM handlers (a signal lets running
    # jobs finish for up to 20 s, then stops); an outage of Redis or PostgreSQL does not end
    # the process (workers/app.py: `run`).
    return asyncio.run(app.run(settings, name, tick=args.tick))


def _deadlines_backfill(settings: Settings, _: argparse.Namespace) -> int:
    from datetime import UTC, datetime

    from services.handlers.deadlines import backfill

    async def run() -> int:
        async with _opened_store(settings) as store:
            scheduled = await backfill(store, datetime.now(UTC))
        print(f"scheduled the deadlines of {scheduled} open task(s) that had none")
        return 0

    return asyncio.run(run())


def _tail(settings: Settings, args: argparse.Namespace) -> int:
    import msgspec

    from events.errors import CursorFromAnotherEpoch, InvalidCursor
    from events.follow import follow
    from events.wakeup import WakeUpListener
    from events.wire import wire

    async def run() -> int:
        async with _opened_store(settings, max_size=2) as store:
            listener = WakeUpListener(settings.require_database())
            await listener.start()
            out = sys.stdout.buffer

            async def printing() -> None:
                async for event in follow(
                    store,
                    after=args.after,
                    listener=listener,
                    types=args.type or (),
                    categories=args.category or (),
                    streams=args.stream or (),
                    plan_id=args.plan,
                    units=args.unit or (),
                ):
                    out.write(msgspec.json.encode(wire(event)) + b"\n")
                    out.flush()

            task = asyncio.create_task(printing())
            stopping = asyncio.create_task(_stop_on_signals().wait())
            try:
                await asyncio.wait({task, stopping}, return_when=asyncio.FIRST_COMPLETED)
                if task.done():
                    try:
                        task.result()
                    except (InvalidCursor, CursorFromAnotherEpoch) as error:
                        print(f"error: {error}", file=sys.stderr)
                        return 1
            finally:
                task.cancel()
                stopping.cancel()
                await listener.close()
        return 0

    return asyncio.run(run())


def _demo(settings: Settings, _: argparse.Namespace) -> int:
    from services.ops.demo import load_demo

    async def run() -> int:
        async with _opened_store(settings, max_size=4) as store:
            appended = await load_demo(store)
        if appended:
            print(f"loaded the five seed campaigns: {appended} events appended")
        else:
            print("the demo is already loaded: nothing appended")
        return 0

    return asyncio.run(run())


def _dev(settings: Settings, _: argparse.Namespace) -> int:
    from services.ops.dev import run_dev

    return run_dev(settings)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="campaign", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("serve", help="run the HTTP API").set_defaults(run=_serve)
    sub.add_parser("migrate", help="apply pending migrations").set_defaults(run=_migrate)
    probe = sub.add_parser(
        "probe",
        help="exit 0 if this process's role answers its health check (the image's HEALTHCHECK)",
    )
    probe.add_argument("--ready", action="store_true", help="readiness, not liveness")
    probe.add_argument("--port", type=int, help="default: METRICS_PORT if set, else HTTP_PORT")
    probe.set_defaults(run=_probe)
    verify = sub.add_parser("verify", help="recompute every hash chain; exit 2 on a broken one")
    verify.add_argument("--stream", action="append", help="only this stream (repeatable)")
    verify.add_argument(
        "--seal",
        metavar="FILE",
        help="also check the whole log against the seal(s) exported to FILE (one JSON line "
        "each, from `campaign seal --export`): name what is missing, moved or rewritten",
    )
    verify.set_defaults(run=_verify)
    seal = sub.add_parser("seal", help="seal the log now (what the feed shows, in feed order)")
    seal.add_argument(
        "--export",
        action="store_true",
        help="print the latest seal as one JSON line, to keep outside the database",
    )
    seal.set_defaults(run=_seal)
    sub.add_parser("demo", help="load the five seed campaigns (idempotent)").set_defaults(run=_demo)
    project = sub.add_parser("project", help="run the projector (one active, the others stand by)")
    project.add_argument("--owner", help="a name for this projector in logs and the checkpoint")
    project.add_argument(
        "--stale-after",
        type=float,
        default=15.0,
        help="seconds without a heartbeat after which a standby takes over (default 15)",
    )
    project.add_argument(
        "--batch", type=int, default=500, help="events applied per transaction (default 500)"
    )
    project.set_defaults(run=_project)
    rebuild = sub.add_parser(
        "rebuild",
        help="rebuild read models from the events, or list them (--list)",
    )
    rebuild.add_argument(
        "projection",
        nargs="?",
        default="all",
        help="which read model (default: all; `directory` is the unit directory, roles, models "
        "and plan list); inline ones are rebuilt in one transaction, projected ones beside the "
        "live table and swapped in",
    )
    rebuild.add_argument(
        "--list",
        action="store_true",
        help="show every read model with its mode (inline or projector), rows and lag",
    )
    rebuild.set_defaults(run=_rebuild)
    worker = sub.add_parser(
        "worker",
        help="the worker (arq, on Redis): deadline reminders, misses, escalations; webhooks",
    )
    worker.add_argument("--name", help="this worker's name (its health key); default: hostname")
    worker.add_argument(
        "--check", action="store_true", help="exit 0 if the named worker reported health lately"
    )
    worker.add_argument(
        "--tick",
        type=int,
        default=60,
        choices=[1, 2, 3, 4, 5, 6, 10, 12, 15, 20, 30, 60],
        help="seconds between the scheduler's (and the reconciler's) runs (default 60)",
    )
    worker.set_defaults(run=_worker)
    tail = sub.add_parser(
        "tail", help="follow the event feed in a terminal, one JSON event a line (Ctrl-C stops)"
    )
    tail.add_argument("--after", help="start after this cursor (default: the beginning)")
    tail.add_argument("--type", action="append", help="only this event type (repeatable)")
    tail.add_argument("--category", action="append", help="only this category (repeatable)")
    tail.add_argument("--stream", action="append", help="only this stream (repeatable)")
    tail.add_argument("--plan", type=uuid.UUID, help="only events tagged with this plan")
    tail.add_argument(
        "--unit", type=uuid.UUID, action="append", help="only events concerning this unit"
    )
    tail.set_defaults(run=_tail)
    deadlines = sub.add_parser("deadlines", help="the deadline engine's one-time commands")
    deadline_commands = deadlines.add_subparsers(dest="deadlines_command", required=True)
    deadline_commands.add_parser(
        "backfill", help="schedule the open tasks issued before schedules were recorded"
    ).set_defaults(run=_deadlines_backfill)
    sub.add_parser(
        "dev", help="run every role, on embedded PostgreSQL and Redis when no URL is set"
    ).set_defaults(run=_dev)
    from services.ops.cli_admin import add_parsers, add_term_parsers, runner

    add_parsers(sub, runner)
    add_term_parsers(sub, runner)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        settings = load_settings()
    except ConfigError as error:
        print(f"configuration error: {error}", file=sys.stderr)
        return 2
    configure_logging(settings.log_format, settings.log_level)
    # Every line says which role wrote it (containers of every role log to one place).
    structlog.contextvars.bind_contextvars(role=args.command)
    try:
        code: int = args.run(settings, args)
    except ConfigError as error:
        print(f"configuration error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    return code


if __name__ == "__main__":
    sys.exit(main())
