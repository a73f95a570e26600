"""Configuration from environment variables, read once at start-up and validated."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

N = TypeVar("N", int, float)


class ConfigError(Exception):
    pass


@dataclass(frozen=True)
class Settings:
    database_url: str | None
    """PostgreSQL DSN. Unset: `campaign dev` starts an embedded server under DATA_DIR."""
    redis_url: str | None
    """Redis URL (arq only). Unset: `campaign dev` starts an embedded server under DATA_DIR."""
    log_format: str
    """`json` (containers) or `console` (a terminal). Default: console on a TTY, else json."""
    log_level: str
    host: str
    port: int
    data_dir: Path
    max_body_bytes: int
    db_pool_min: int
    db_pool_max: int
    metrics_port: int | None = None
    """Where the projector and the worker serve /health/* and /metrics (the API serves them on
    HTTP_PORT); unset: not served."""
    webhook_allowed_targets: tuple[str, ...] = ()
    """Hosts (`hooks.example.vn`), suffixes (`*.gov.vn`) and networks (`10.0.0.0/8`) webhooks
    may be delivered to, each with the ports beside 80 and 443 it may use (`host:8443`,
    `10.0.0.0/8:9000-9100`); private and loopback addresses only when named here."""
    webhook_timeout_seconds: float = 5.0
    webhook_max_failures: int = 10
    webhook_backoff_seconds: float = 2.0
    webhook_backoff_max_seconds: float = 3600.0
    webhook_batch: int = 100
    seal_every_events: int = 1000
    """The worker seals the log once this many events wait..."""
    seal_every_seconds: int = 60
    """...or once this many seconds have passed since the last seal (events waiting)."""
    live_connections_per_user: int = 20
    """Open `GET /events/live` connections one user may hold at once, across every API process
    (counted in Redis when REDIS_URL is set, else in this process); more: 429."""
    commands_per_minute: int = 1200
    """Commands (POST, PUT, PATCH, DELETE) one token may send in a minute, across every API
    process (counted in Redis when REDIS_URL is set, else in this process); 0: no limit."""
    http_workers: int = 0
    """API processes `campaign serve` runs; 0: one per core when REDIS_URL is set, else one."""
    due_before_inclusive: bool = False
    """"trước ngày X" read as by the end of X (DUE_BEFORE_INCLUSIVE=true), not before X begins."""

    def api_processes(self) -> int:
        """How many API processes to run. Several need Redis: the rate limits and live
        connections are counted there, so that they hold across the processes."""
        if self.http_workers > 1 and not self.redis_url:
            raise ConfigError(
                f"HTTP_WORKERS={self.http_workers} needs REDIS_URL: several API processes "
                "count rate limits and live connections there (or set HTTP_WORKERS=1)"
            )
        if self.http_workers:
            return self.http_workers
        return (os.cpu_count() or 1) if self.redis_url else 1

    def require_database(self) -> str:
        if not self.database_url:
            raise ConfigError("DATABASE_URL is not set (or run `campaign dev`, which embeds one)")
        return self.database_url

    def require_redis(self) -> str:
        if not self.redis_url:
            raise ConfigError("REDIS_URL is not set (or run `campaign dev`, which embeds one)")
        return self.redis_url


def _number(
    env: Mapping[str, str], name: str, default: N, low: N, high: N, kind: Callable[[str], N]
) -> N:
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = kind(raw)
    except ValueError:
        raise ConfigError(
            f"{name}={raw!r} is not {'an integer' if kind is int else 'a number'}"
        ) from None
    if not low <= value <= high:
        raise ConfigError(f"{name}={value} is outside {low}..{high}")
    return value


def _int(env: Mapping[str, str], name: str, default: int, low: int, high: int) -> int:
    return _number(env, name, default, low, high, int)


def _bool(env: Mapping[str, str], name: str, default: bool) -> bool:
    value = (env.get(name) or "").strip().lower()
    if not value:
        return default
    if value not in ("true", "false"):
        raise ConfigError(f"{name}={env[name]!r}: use true or false")
    return value == "true"


def _float(env: Mapping[str, str], name: str, default: float, low: float, high: float) -> float:
    return _number(env, name, default, low, high, float)


def _port_range(text: str) -> bool:
    low, _, high = text.partition("-")
    if not low.isdigit() or not (high.isdigit() or not high):
        return False
    return 1 <= int(low) <= int(high or low) <= 65535


def _targets(env: Mapping[str, str]) -> tuple[str, ...]:
    """WEBHOOK_ALLOWED_TARGETS, each entry's port (`host:8443`, `[fd00::1]:9000-9100`) checked
    here so that a typo stops the process with a line naming it."""
    entries = tuple(
        entry.strip()
        for entry in (env.get("WEBHOOK_ALLOWED_TARGETS") or "").split(",")
        if entry.strip()
    )
    for entry in entries:
        port: str | None = None
        if entry.startswith("["):
            rest = entry.partition("]")[2]
            port = rest[1:] if rest else None
            if rest and not rest.startswith(":"):
                port = ""
        elif entry.count(":") == 1:
            port = entry.partition(":")[2]
        if port is not None and not _port_range(port):
            raise ConfigError(
                f"WEBHOOK_ALLOWED_TARGETS: {entry!r} names no port or range within 1..65535"
            )
    return entries


def load_settings(env: Mapping[str, str] | None = None) -> Settings:
    env = os.environ if env is None else env
    log_format = env.get("LOG_FORMAT") or ("console" if sys.stderr.isatty() else "json")
    if log_format not in ("json", "console"):
        raise ConfigError(f"LOG_FORMAT={log_format!r}: use json or console")
    log_level = (env.get("LOG_LEVEL") or "info").lower()
    if log_level not in ("debug", "info", "warning", "error"):
        raise ConfigError(f"LOG_LEVEL={log_level!r}: use debug, info, warning or error")
    pool_min = _int(env, "DB_POOL_MIN", 2, 1, 100)
    return Settings(
        database_url=env.get("DATABASE_URL") or None,
        redis_url=env.get("REDIS_URL") or None,
        log_format=log_format,
        log_level=log_level,
        host=env.get("HTTP_HOST") or "127.0.0.1",
        port=_int(env, "HTTP_PORT", 8000, 0, 65535),
        data_dir=Path(env.get("DATA_DIR") or ".data").resolve(),
        max_body_bytes=_int(env, "MAX_BODY_BYTES", 1_048_576, 1024, 100 * 1_048_576),
        db_pool_min=pool_min,
        db_pool_max=_int(env, "DB_POOL_MAX", 10, pool_min, 500),
        metrics_port=(_int(env, "METRICS_PORT", 0, 0, 65535) if env.get("METRICS_PORT") else None),
        webhook_allowed_targets=_targets(env),
        webhook_timeout_seconds=_float(env, "WEBHOOK_TIMEOUT_SECONDS", 5.0, 0.1, 10.0),
        webhook_max_failures=_int(env, "WEBHOOK_MAX_FAILURES", 10, 1, 1000),
        webhook_backoff_seconds=_float(env, "WEBHOOK_BACKOFF_SECONDS", 2.0, 0.01, 3600.0),
        webhook_backoff_max_seconds=_float(
            env, "WEBHOOK_BACKOFF_MAX_SECONDS", 3600.0, 0.01, 7 * 86400.0
        ),
        webhook_batch=_int(env, "WEBHOOK_BATCH", 100, 1, 1000),
        seal_every_events=_int(env, "SEAL_EVERY_EVENTS", 1000, 1, 50_000),
        seal_every_seconds=_int(env, "SEAL_EVERY_SECONDS", 60, 1, 86_400),
        live_connections_per_user=_int(env, "LIVE_CONNECTIONS_PER_USER", 20, 1, 100_000),
        commands_per_minute=_int(env, "COMMANDS_PER_MINUTE", 1200, 0, 1_000_000),
        http_workers=_int(env, "HTTP_WORKERS", 0, 0, 256),
        due_before_inclusive=_bool(env, "DUE_BEFORE_INCLUSIVE", False),
    )
