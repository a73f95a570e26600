"""The store's contract tests run on each append path: a module that imports the fixtures
`each_append_path` and `store_on_each_path` from here runs each of its tests once per path
("auto" is the store's own choice); they take the names `append_path` and `store`."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import asyncpg
import pytest

from events.store import APPEND_PATHS, AppendPath, EventStore
from tests.support import test_catalog


@pytest.fixture(name="append_path", params=APPEND_PATHS)
def each_append_path(request: pytest.FixtureRequest) -> AppendPath:
    path: AppendPath = request.param
    return path


@pytest.fixture(name="store")
async def store_on_each_path(
    pool: asyncpg.Pool[Any], append_path: AppendPath
) -> AsyncIterator[EventStore]:
    created = EventStore(pool, catalog=test_catalog, append_path=append_path)
    yield created
    # A forced path carried the appends it can carry; the others took the function.
    if append_path != "auto":
        assert set(created.paths_taken) <= {append_path, "function"}, created.paths_taken
    await created.close()


def forced_path_used(store: EventStore) -> bool:
    """Whether the path the store is forced to carried (or tried) an append; True for "auto"."""
    return store.append_path == "auto" or store.paths_taken[store.append_path] > 0
