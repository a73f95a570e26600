"""Old shapes are never rewritten: they are read through upcasters into the current one."""

from __future__ import annotations

from typing import Any

import asyncpg

from events.catalog import Catalog, Event
from events.envelope import NewEvent, StreamWrite
from events.store import EventStore
from tests.support import METADATA, new_stream

v1 = Catalog()


@v1.register(name="ReportFiled", schema_version=1)
class ReportFiledV1(Event):
    summary: str
    done: int
    total: int


v2 = Catalog()


@v2.register(name="ReportFiled", schema_version=2)
class ReportFiled(Event):
    summary: str
    metrics: dict[str, int]


@v2.upcaster("ReportFiled", from_version=1)
def _metrics_from_counts(data: dict[str, Any]) -> dict[str, Any]:
    return {
        "summary": data["summary"],
        "metrics": {"tasks_done": data["done"], "tasks_total": data["total"]},
    }


async def test_an_event_stored_at_version_1_is_read_as_version_2(
    pool: asyncpg.Pool[Any],
) -> None:
    stream = new_stream("assignment")
    old_code = EventStore(pool, catalog=v1)
    await old_code.append(
        [
            StreamWrite(
                stream, 0, [NewEvent(ReportFiledV1(summary="hoàn thành", done=60, total=85))]
            )
        ],
        METADATA,
    )
    new_code = EventStore(pool, catalog=v2)
    [event] = await new_code.read_stream(stream)
    assert event.schema_version == 1  # stored as it was written
    assert event.data == ReportFiled(
        summary="hoàn thành", metrics={"tasks_done": 60, "tasks_total": 85}
    )
    page = await new_code.read_all(streams=[stream], decode=True)
    assert page.events[0].data == event.data
    await old_code.close()
    await new_code.close()
