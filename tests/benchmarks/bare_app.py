"""The baseline of `bench_http.py`: a bare litestar app that does one asyncpg INSERT a request.

Served the way the ledger is (uvicorn, uvloop, httptools, the same number of processes), on the
same database, so that what the ledger costs beyond one INSERT is what the benchmark measures.

    BARE_DATABASE_URL=postgresql://... uvicorn tests.benchmarks.bare_app:app --workers 2
"""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import asyncpg
import msgspec
from litestar import Litestar, post

TABLE = "bare_progress"
_pools: dict[str, asyncpg.Pool[Any]] = {}


class ProgressBody(msgspec.Struct):
    note: str
    percent: int | None = None


@post("/assignments/{assignment_id:uuid}/progress", status_code=200)
async def progress(assignment_id: uuid.UUID, data: ProgressBody) -> dict[str, Any]:
    row_id = uuid.uuid4()
    await _pools["db"].execute(
        f"INSERT INTO {TABLE} (id, assignment_id, note, percent) VALUES ($1, $2, $3, $4)",
        row_id,
        assignment_id,
        data.note,
        data.percent,
    )
    return {"id": str(row_id)}


@asynccontextmanager
async def lifespan(_: Litestar) -> AsyncIterator[None]:
    _pools["db"] = await asyncpg.create_pool(os.environ["BARE_DATABASE_URL"], min_size=2)
    try:
        yield
    finally:
        await _pools.pop("db").close()


CREATE = (
    f"CREATE TABLE IF NOT EXISTS {TABLE} (id uuid PRIMARY KEY, assignment_id uuid NOT NULL, "
    "note text NOT NULL, percent int, recorded_at timestamptz NOT NULL DEFAULT now())"
)

app = Litestar([progress], lifespan=[lifespan])
