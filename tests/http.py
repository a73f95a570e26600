"""An HTTP client that runs the app in the test's own event loop.

litestar's test clients hand requests to a portal thread with a loop of its own, where an
asyncpg pool made in the test's loop cannot be used; httpx's ASGI transport stays in this loop.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
from litestar import Litestar


@asynccontextmanager
async def api_client(app: Litestar) -> AsyncIterator[httpx.AsyncClient]:
    async with (
        app.lifespan(),
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://testserver"
        ) as client,
    ):
        yield client


async def ok(response: httpx.Response, status: int = 200) -> dict[str, Any]:
    """The JSON body of an answer with `status` (the body shown when it is another)."""
    assert response.status_code == status, response.text
    body: dict[str, Any] = response.json()
    return body
